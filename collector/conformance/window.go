package conformance

import (
	"container/list"
	"fmt"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/obslint/obslint/checks"
)

// Caps that are not configurable: they bound what a window keeps besides
// spans and log records.
const (
	maxOTLPMetricsPerBucket = 512
	maxLogSources           = 64
)

// service is the window of one service: a ring of buckets, one per
// evaluate_every, the newest last. The window is all of them.
type service struct {
	name  string
	elem  *list.Element
	first time.Time

	buckets   []*bucket
	spanCap   int // per bucket
	recordCap int // per bucket
	// maxSpans and maxRecords are the configured caps, for problems.
	maxSpans, maxRecords int
	bytes                int64

	lineN map[string]int // last line number per log source

	// memDropped counts buckets freed for memory_limit_mib.
	memDropped int
	// version changes whenever the window does, so an evaluation can reuse
	// the last result of a window that did not change.
	version uint64

	// fed counts the spans the evaluations fed to the buckets' span feeds
	// (bucket.feed), so that each bucket's spans take their place after the
	// previous bucket's. Only evaluations (Engine.evalMu) touch it.
	fed int
}

// bucket holds what arrived during one evaluate_every.
type bucket struct {
	start time.Time
	// Spans and SDK log records are kept as protobuf (one blob per batch,
	// only what fit, attributes capped): bytes the garbage collector need
	// not scan, so a full window costs the pipeline nothing. They become
	// checks types when a window is judged.
	spans    [][]byte
	nSpans   int
	records  [][]byte
	nRecords int
	lines    []rawLine
	// firstScrape and lastScrape are the first and last metric snapshots
	// from a Prometheus scrape in the bucket.
	firstScrape, lastScrape *snapshot
	otlp                    []checks.OTLPMetric
	otlpSeen                map[string]struct{}

	// feed is the span rules' state over the blobs of spans and records
	// judged so far (fedSpans, fedRecords of them): each span is judged
	// once, when the first evaluation after its arrival feeds it, and the
	// window's verdict merges the buckets' feeds, which merging only reads.
	// Only evaluations (Engine.evalMu) touch these.
	feed                 *checks.SpanFeed
	fedSpans, fedRecords int

	reservedSpans, reservedRecords int
	// touched says something arrived (kept or dropped).
	touched                      bool
	traces, logLines             bool
	droppedSpans, droppedRecords int
	droppedAttrs                 int
	failedScrapes                int
	bytes                        int64
	dead                         bool
}

// snapshot is one scrape as the prometheus receiver delivered it, copied.
type snapshot struct {
	time  time.Time
	md    pmetric.Metrics
	job   string
	bytes int64
}

func newBucket(now time.Time) *bucket { return &bucket{start: now} }

// rotate opens a new bucket and drops those beyond n; it returns the bytes freed.
func (s *service) rotate(n int, now time.Time) int64 {
	var freed int64
	s.buckets = append(s.buckets, newBucket(now))
	for len(s.buckets) > n {
		old := s.buckets[0]
		if old.touched {
			s.version++
		}
		old.dead = true
		freed += old.bytes
		s.buckets[0] = nil
		s.buckets = s.buckets[1:]
	}
	s.bytes -= freed
	return freed
}

// dropOldest frees the oldest bucket that holds anything, for the memory
// limit; it returns the bytes and the items freed.
func (s *service) dropOldest() (freed int64, items int) {
	for i, b := range s.buckets {
		if b.bytes == 0 {
			continue
		}
		freed, items = b.bytes, b.nSpans+len(b.lines)+b.nRecords
		b.dead = true
		fresh := newBucket(b.start)
		fresh.droppedSpans, fresh.droppedRecords = b.droppedSpans+b.nSpans, b.droppedRecords+b.nRecords+len(b.lines)
		s.buckets[i] = fresh
		s.bytes -= freed
		s.memDropped++
		s.version++
		return freed, items
	}
	return 0, 0
}

func (s *service) kill() {
	for _, b := range s.buckets {
		b.dead = true
	}
}

func (s *service) current() *bucket { return s.buckets[len(s.buckets)-1] }

// touch marks the current bucket as changed and returns it (engine lock held).
func (s *service) touch() *bucket {
	b := s.current()
	b.touched = true
	s.version++
	return b
}

// idle reports whether nothing arrived in the whole window.
func (s *service) idle() bool {
	for _, b := range s.buckets {
		if b.touched || b.reservedSpans > 0 || b.reservedRecords > 0 {
			return false
		}
	}
	return true
}

// serviceView is what an evaluation reads of a window, taken under the
// engine's lock: slices of immutable items, so judging needs no lock. The
// buckets and the service are there for the span feeds they cache, which
// only evaluations touch (Engine.evalMu).
type serviceView struct {
	version uint64
	name    string
	start   time.Time
	// parts are the window's buckets, oldest first, with the span and
	// record blobs they held when the view was taken.
	parts []part
	lines [][]rawLine
	// scrapes are the first and last snapshot of each bucket, oldest first.
	scrapes  []*snapshot
	otlp     [][]checks.OTLPMetric
	traces   bool
	logLines bool
	problems []checks.Problem
	svc      *service
}

// part is one bucket as a view saw it.
type part struct {
	b              *bucket
	spans, records [][]byte
}

func (s *service) view() serviceView {
	v := serviceView{name: s.name, start: s.first, version: s.version, svc: s}
	var droppedSpans, droppedRecords, droppedAttrs, failedScrapes int
	for _, b := range s.buckets {
		v.parts = append(v.parts, part{b: b, spans: b.spans, records: b.records})
		v.lines = append(v.lines, b.lines)
		v.otlp = append(v.otlp, b.otlp)
		v.traces = v.traces || b.traces
		v.logLines = v.logLines || b.logLines
		if b.firstScrape != nil {
			v.scrapes = append(v.scrapes, b.firstScrape)
		}
		if b.lastScrape != nil {
			v.scrapes = append(v.scrapes, b.lastScrape)
		}
		droppedSpans += b.droppedSpans
		droppedRecords += b.droppedRecords
		droppedAttrs += b.droppedAttrs
		failedScrapes += b.failedScrapes
	}
	if len(s.buckets) > 0 {
		v.start = s.buckets[0].start
	}
	if droppedSpans > 0 {
		v.problems = append(v.problems, checks.Problem{Phase: "limit", Message: fmt.Sprintf(
			"%d spans in this window were not kept (max_spans_per_service=%d, max_copy_per_second or memory_limit_mib): rules judged a sample", droppedSpans, s.maxSpans)})
	}
	if droppedRecords > 0 {
		v.problems = append(v.problems, checks.Problem{Phase: "limit", Message: fmt.Sprintf(
			"%d log records in this window were not kept (max_log_records_per_service=%d, max_copy_per_second or memory_limit_mib): rules judged a sample", droppedRecords, s.maxRecords)})
	}
	if droppedAttrs > 0 {
		v.problems = append(v.problems, checks.Problem{Phase: "limit", Message: fmt.Sprintf(
			"%d attributes beyond max_attributes were not kept: rules did not see them", droppedAttrs)})
	}
	if failedScrapes > 0 {
		v.problems = append(v.problems, checks.Problem{Phase: "scrape", Message: fmt.Sprintf(
			"the prometheus receiver reported up=0 for %d scrapes in this window: the endpoint did not answer, or with an error or a body it could not parse (see the collector's log)", failedScrapes)})
	}
	if s.memDropped > 0 {
		v.problems = append(v.problems, checks.Problem{Phase: "limit", Message: fmt.Sprintf(
			"memory_limit_mib: %d older parts of this service's window were evicted since %s", s.memDropped, s.first.UTC().Format(time.RFC3339))})
	}
	return v
}

// evidence assembles the window into the one Evidence model, but for its
// spans and records, which judgeOTLP streams.
func (v serviceView) evidence() *checks.Evidence {
	ev := &checks.Evidence{Target: checks.Target{Service: v.name}}
	ev.OTLPMetrics = flatten(v.otlp)
	ev.Captured = checks.Captured{Probes: false, Traces: v.traces, Logs: v.logLines}
	if v.traces {
		ev.Captured.TraceSource = "collector pipeline (conformance component)"
	}
	if v.logLines {
		ev.Captured.LogSource = "log records with a raw line as body (e.g. the filelog receiver)"
	}
	for i, sn := range v.scrapes {
		phase := fmt.Sprintf("window-%d", i+1)
		switch i {
		case 0:
			phase = "before"
		case len(v.scrapes) - 1:
			phase = "after"
		}
		ev.Scrapes = append(ev.Scrapes, scrapeOf(sn, phase))
	}
	if len(v.scrapes) > 0 {
		ev.Captured.Metrics = true
		ev.Target.MetricsURL = "prometheus receiver: " + v.scrapes[0].job
	}
	ev.Problems = append(ev.Problems, v.problems...)
	return ev
}

// judgeOTLP brings each bucket's span feed up to the blobs the view saw,
// feeding it only the blobs no evaluation fed before, and merges the feeds
// into j in order: a span is judged once, however many evaluations its
// window sees (evaluation only, Engine.evalMu held).
// judged counts the spans fed.
func (v serviceView) judgeOTLP(j *checks.Judge, ev *checks.Evidence, rules []*checks.Rule, opt checks.Options, judged *atomic.Int64) (int, error) {
	var tu ptrace.ProtoUnmarshaler
	var lu plog.ProtoUnmarshaler
	n := 0
	for _, p := range v.parts {
		b := p.b
		if b.feed == nil {
			b.feed = checks.NewSpanFeed(ev, rules, opt, v.svc.fed)
		}
		for _, blob := range p.records[b.fedRecords:] {
			if ld, err := lu.UnmarshalLogs(blob); err == nil {
				for _, r := range checks.LogRecordsFromLogs(ld) {
					b.feed.Record(&r)
				}
			}
		}
		b.fedRecords = len(p.records)
		for _, blob := range p.spans[b.fedSpans:] {
			if td, err := tu.UnmarshalTraces(blob); err == nil {
				spans := checks.SpansFromTraces(td)
				for i := range spans {
					b.feed.Span(&spans[i])
				}
				v.svc.fed += len(spans)
				judged.Add(int64(len(spans)))
			}
		}
		b.fedSpans = len(p.spans)
		j.MergeSpans(b.feed)
		n += b.feed.Count()
	}
	return n, nil
}

// judgeLines feeds the window's log lines to j, each parsed as it is judged.
func (v serviceView) judgeLines(j *checks.Judge) (int, error) {
	n := 0
	for _, part := range v.lines {
		for _, r := range part {
			l := r.parse()
			j.Line(&l)
			n++
		}
	}
	return n, nil
}

// rawLine is a log line as it arrived; it is parsed when judged.
type rawLine struct {
	source             string
	n                  int
	raw                string
	time               time.Time
	truncated, invalid bool
}

func (r rawLine) parse() checks.LogLine {
	return checks.CapturedLogLine(r.source, r.n, r.raw, r.truncated, r.invalid, r.time)
}

func flatten[T any](parts [][]T) []T {
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	out := make([]T, 0, n)
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func newService(name string, now time.Time, cfg Config, nBuckets int) *service {
	return &service{
		name:       name,
		first:      now,
		buckets:    []*bucket{newBucket(now)},
		spanCap:    max(1, (cfg.MaxSpansPerService+nBuckets-1)/nBuckets),
		recordCap:  max(1, (cfg.MaxLogRecordsPerService+nBuckets-1)/nBuckets),
		maxSpans:   cfg.MaxSpansPerService,
		maxRecords: cfg.MaxLogRecordsPerService,
	}
}
