package receiver

import (
	"context"
	"fmt"
	"maps"
	"sync"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/obslint/obslint/checks"
	"github.com/obslint/obslint/internal/spool"
)

// maxTrackedTraces bounds the trace ids with a SERVER span remembered for
// WaitForSpans; maxServices the service names whose spans are counted.
const (
	maxTrackedTraces = 200_000
	maxServices      = 1024
)

// store keeps what the receiver got and wakes waiters on every arrival.
// Spans and OTLP log records are spooled as the batches arrived
// (protobuf, on disk), to be read back for the judge: what a run judges
// is not bounded by memory, only by maxBytes of disk. OTLP metric names
// are kept, within a cap. Nothing here aliases receiver buffers.
type store struct {
	maxMetrics int
	maxBytes   int64

	mu sync.Mutex
	// spanBatches and logBatches hold the batches; bytes is what both take.
	spanBatches, logBatches *spool.Blobs
	bytes                   int64
	spans, records          int
	metrics                 []checks.OTLPMetric
	dropped                 struct{ spans, records, metrics int }
	// services counts the spans (and recordServices the records) of each
	// service.name ("" for none); service is the first one a span carried.
	services, recordServices map[string]int
	service                  string
	serverSeen               map[string]bool // trace ids that have a SERVER span
	servers                  int             // SERVER spans seen in total, spooled or dropped
	lastArrival              time.Time
	closed                   bool
	// changed is closed and replaced on every arrival (and on close): a
	// broadcast that lets WaitForSpans sleep without polling.
	changed chan struct{}
}

func newStore(maxBytes int64, maxMetrics int) *store {
	return &store{
		maxBytes: maxBytes, maxMetrics: maxMetrics,
		spanBatches: spool.New("obslint-spans-"), logBatches: spool.New("obslint-otlp-logs-"),
		services: map[string]int{}, recordServices: map[string]int{},
		serverSeen: map[string]bool{},
		changed:    make(chan struct{}),
	}
}

// broadcast wakes every waiter. Call with mu held.
func (s *store) broadcast() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// addTraces spools one batch. SERVER spans and service names are counted
// even past the spool's budget, so a waiter is not kept waiting for spans
// that did arrive.
func (s *store) addTraces(td ptrace.Traces) {
	n := td.SpanCount()
	if n == 0 {
		return
	}
	blob, err := (&ptrace.ProtoMarshaler{}).MarshalTraces(td)
	var servers []string
	names := map[string]int{}
	first := ""
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		rs := rss.At(i)
		name := ""
		if v, ok := rs.Resource().Attributes().Get("service.name"); ok {
			name = v.AsString()
		}
		if first == "" {
			first = name
		}
		sss := rs.ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			spans := sss.At(j).Spans()
			names[name] += spans.Len()
			for k := 0; k < spans.Len(); k++ {
				if sp := spans.At(k); sp.Kind() == ptrace.SpanKindServer {
					servers = append(servers, hexID(sp.TraceID()))
				}
			}
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.servers += len(servers)
	for _, id := range servers {
		if len(s.serverSeen) < maxTrackedTraces {
			s.serverSeen[id] = true
		}
	}
	if s.service == "" {
		s.service = first
	}
	if err != nil || s.bytes+int64(len(blob)) > s.maxBytes {
		s.dropped.spans += n
	} else {
		s.spanBatches.Add(blob)
		s.bytes += int64(len(blob))
		s.spans += n
		countServices(s.services, names)
	}
	s.lastArrival = time.Now()
	s.broadcast()
}

// countServices adds names' counts, up to maxServices names.
func countServices(into, names map[string]int) {
	for name, k := range names {
		if _, ok := into[name]; ok || len(into) < maxServices {
			into[name] += k
		}
	}
}

// addLogs spools one batch of OTLP log records.
func (s *store) addLogs(ld plog.Logs) {
	n := ld.LogRecordCount()
	if n == 0 {
		return
	}
	blob, err := (&plog.ProtoMarshaler{}).MarshalLogs(ld)
	names := map[string]int{}
	rls := ld.ResourceLogs()
	for i := 0; i < rls.Len(); i++ {
		rl := rls.At(i)
		name := ""
		if v, ok := rl.Resource().Attributes().Get("service.name"); ok && v.Type() == pcommon.ValueTypeStr {
			name = v.Str()
		}
		sls := rl.ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			names[name] += sls.At(j).LogRecords().Len()
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil || s.bytes+int64(len(blob)) > s.maxBytes {
		s.dropped.records += n
		return
	}
	s.logBatches.Add(blob)
	s.bytes += int64(len(blob))
	s.records += n
	countServices(s.recordServices, names)
}

func hexID(id pcommon.TraceID) string {
	if id.IsEmpty() {
		return ""
	}
	return id.String()
}

func (s *store) addMetrics(in []checks.OTLPMetric) {
	s.mu.Lock()
	defer s.mu.Unlock()
	room := max(s.maxMetrics-len(s.metrics), 0)
	if len(in) > room {
		s.dropped.metrics += len(in) - room
		in = in[:room]
	}
	s.metrics = append(s.metrics, in...)
}

func (s *store) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed {
		s.closed = true
		s.broadcast()
	}
}

// received returns what was spooled so far.
func (s *store) received() *Received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return &Received{
		spans: batches{s.spanBatches, s.spanBatches.Len()}, records: batches{s.logBatches, s.logBatches.Len()},
		spanCount: s.spans, recordCount: s.records,
		services: maps.Clone(s.services), recordServices: maps.Clone(s.recordServices),
	}
}

// firstService is the service.name of the first span that arrived.
func (s *store) firstService() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.service
}

func (s *store) snapshotMetrics() []checks.OTLPMetric {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]checks.OTLPMetric(nil), s.metrics...)
}

func (s *store) problems() []checks.Problem {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []checks.Problem
	limit := fmt.Sprintf("%d bytes", s.maxBytes)
	if s.maxBytes >= 1<<20 {
		limit = fmt.Sprintf("%d MiB", s.maxBytes>>20)
	}
	for _, d := range []struct {
		n    int
		what string
	}{{s.dropped.spans, "spans"}, {s.dropped.records, "OTLP log records"}} {
		if d.n > 0 {
			out = append(out, checks.Problem{Phase: "limit", Message: fmt.Sprintf("%d %s dropped: the spooled spans and records reached the limit of %s", d.n, d.what, limit)})
		}
	}
	if s.dropped.metrics > 0 {
		out = append(out, checks.Problem{Phase: "limit", Message: fmt.Sprintf("%d OTLP metrics dropped past the limit of %d", s.dropped.metrics, s.maxMetrics)})
	}
	return out
}

// waitState is what one evaluation of the wait condition needs.
type waitState struct {
	missing     []string
	servers     int
	lastArrival time.Time
	closed      bool
	changed     <-chan struct{}
}

func (s *store) state(traceIDs []string) waitState {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := waitState{servers: s.servers, lastArrival: s.lastArrival, closed: s.closed, changed: s.changed}
	for _, id := range traceIDs {
		if !s.serverSeen[id] {
			st.missing = append(st.missing, id)
		}
	}
	return st
}

// waitForSpans implements Receiver.WaitForSpans.
func (s *store) waitForSpans(ctx context.Context, traceIDs []string, minServer int, quiet time.Duration) []string {
	start := time.Now()
	for {
		st := s.state(traceIDs)
		if len(traceIDs) > 0 && len(st.missing) == 0 {
			return nil
		}
		if st.closed || ctx.Err() != nil {
			return st.missing
		}
		// The quiet period runs from the last arrival, but never from before
		// the wait began: spans for requests just sent may not be out yet.
		if quiet > 0 && st.servers >= minServer {
			from := st.lastArrival
			if from.Before(start) {
				from = start
			}
			left := quiet - time.Since(from)
			if left <= 0 {
				return st.missing
			}
			t := time.NewTimer(left)
			waitAny(ctx, st.changed, t.C)
			t.Stop()
			continue
		}
		waitAny(ctx, st.changed, nil)
	}
}

// waitAny blocks until ctx is done, changed is closed or quiet fires.
func waitAny(ctx context.Context, changed <-chan struct{}, quiet <-chan time.Time) {
	select {
	case <-ctx.Done():
	case <-changed:
	case <-quiet:
	}
}
