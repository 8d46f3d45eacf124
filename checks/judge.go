package checks

import (
	"fmt"
	"sync"
)

// LogJudge is what a rule keeps while log lines flow past: it is fed every
// line once, in order, and keeps bounded state (counts, the first few
// examples, bounded indexes), never the lines themselves. The same model as
// the Prometheus scrape loop: one pass, every consumer fed per entry.
//
// Merge folds in the state of a judge that was fed the lines that came
// right after this one's, so that a stream cut into consecutive parts, each
// judged on its own core, gives exactly the findings of one pass. Finish
// reports through the pass like a Check, once every line was fed.
type LogJudge interface {
	// Line judges one line. The line is borrowed: what outlives the call
	// must be copied out of it.
	Line(l *LogLine)
	// Merge folds in later, a judge of the same rule fed the lines that
	// follow this judge's. later is not used afterwards.
	Merge(later LogJudge)
	// Finish reports the findings, or skips, like Rule.Check.
	Finish(p *Pass)
}

// Freshener is a LogJudge whose indexes of the rest of the evidence (spans,
// probes) are costly to build: Fresh returns a judge with no lines seen
// that shares them, for a fork. Others are made anew by Rule.Logs.
type Freshener interface {
	Fresh() LogJudge
}

// Judge runs a catalogue over evidence whose spans and log lines flow
// through it instead of being held: NewJudge, Span for each span (or
// ForkSpans, feed the forks consecutive parts and MergeSpans them in
// order), then Line for each line (or Fork, feed the forks consecutive
// parts of the stream on other cores, and Merge them back in order), then
// Result, which feeds the scrapes (or FeedScrapes parts of them to
// ForkScrapes feeds first, merged back with MergeScrapes). Every span comes before the first line:
// log judges look spans up in the index the spans left. Run is NewJudge,
// Spans over Evidence.Spans, Lines over Evidence.Logs, Result.
type Judge struct {
	ev    *Evidence
	rules []*Rule
	opt   Options
	// spans is the span index and the span rules' state.
	spans *SpanFeed
	// sealed ends the span phase: the index is complete, and the log
	// judges are made from the evidence and it (seal).
	sealed sync.Once
	closed bool
	// logs holds, for each rule with a LogJudge that is not disabled, its
	// state; nil elsewhere.
	logs []LogJudge
	// broken holds the internal error of a rule whose LogJudge panicked; it
	// is fed no more lines and is reported not_evaluated.
	broken []string
	shape  logShape
	lines  int
	// scrapes is the scrape rules' state; fed counts the scrapes of ev
	// fed to it or to a fork (FeedScrapes).
	scrapes *ScrapeFeed
	fed     int
	// at is the position in the whole stream of the first line this judge
	// is fed (Fork): LogLine.Seq counts from it.
	at int
}

// NewJudge prepares the rules for streams of spans and log lines about ev.
// Every other piece of evidence (probes, canaries, scrapes, expectations)
// must be in ev already.
func NewJudge(ev *Evidence, rules []*Rule, opt Options) *Judge {
	j := &Judge{ev: ev, rules: rules, opt: opt, logs: make([]LogJudge, len(rules)), broken: make([]string, len(rules))}
	j.spans = NewSpanFeed(ev, rules, opt, 0)
	j.scrapes = NewScrapeFeed(ev, rules, opt, false)
	return j
}

// Spans feeds spans to the span index and every span judge (see Span).
func (j *Judge) Spans(ss []Span) {
	for i := range ss {
		j.Span(&ss[i])
	}
}

// Span feeds one span, borrowed, setting its Seq. It must come before the
// first line (Line, Lines, Fork) and Result.
func (j *Judge) Span(s *Span) { j.otlp().Span(s) }

// Records feeds OTLP log records (see Record).
func (j *Judge) Records(rs []LogRecord) {
	for i := range rs {
		j.Record(&rs[i])
	}
}

// Record feeds one OTLP log record, borrowed. Like a span, it must come
// before the first line and Result.
func (j *Judge) Record(r *LogRecord) { j.otlp().Record(r) }

// otlp is the span feed while spans and records may still come.
func (j *Judge) otlp() *SpanFeed {
	if j.spans == nil || j.closed {
		panic("checks: a span or OTLP log record after the first line, or on a fork")
	}
	return j.spans
}

// ForkSpans returns a span feed of the same rules and evidence with fresh
// state, for the part of the span stream that starts at position at, to
// be merged back with MergeSpans.
func (j *Judge) ForkSpans(at int) *SpanFeed { return NewSpanFeed(j.ev, j.rules, j.opt, at) }

// MergeSpans folds in a feed of the spans right after those j was fed.
// The feed is only read.
func (j *Judge) MergeSpans(f *SpanFeed) { j.spans.Merge(f) }

// seal ends the span phase once: the evidence gets the complete span
// index, and the log judges are made from it.
func (j *Judge) seal() {
	j.sealed.Do(func() {
		j.closed = true
		j.ev.index = j.spans.index
		for i, r := range j.rules {
			if _, off := disabledReason(j.opt.Disabled, r.ID); off || r.Logs == nil {
				continue
			}
			if j.ev.missing(r.Needs) != "" {
				continue // Result reports it not_evaluated, with the reason
			}
			j.guard(i, func() { j.logs[i] = r.Logs(j.ev) })
		}
	})
}

// Fork returns a judge of the same rules and evidence with fresh state, to
// be fed the part of the stream that starts at its line at (counted from
// 0), and merged back with Merge. It ends the span phase.
func (j *Judge) Fork(at int) *Judge {
	j.seal()
	f := &Judge{ev: j.ev, rules: j.rules, opt: j.opt, at: at, logs: make([]LogJudge, len(j.rules)), broken: make([]string, len(j.rules))}
	f.sealed.Do(func() {})
	for i, lj := range j.logs {
		switch fr, ok := lj.(Freshener); {
		case lj == nil: // not fed here either
		case ok:
			f.guard(i, func() { f.logs[i] = fr.Fresh() })
		default:
			f.guard(i, func() { f.logs[i] = j.rules[i].Logs(j.ev) })
		}
	}
	return f
}

// Lines feeds lines to every log judge, in order (see Line).
func (j *Judge) Lines(ls []LogLine) {
	for i := range ls {
		j.Line(&ls[i])
	}
}

// Line feeds one line to every log judge, setting its Seq. The line is
// borrowed.
func (j *Judge) Line(l *LogLine) {
	j.seal()
	l.Seq = j.at + j.lines
	j.lines++
	j.shape.add(l.Fields)
	for i := 0; i < len(j.logs); {
		i = j.feed(i, l)
	}
}

// feed gives l to the judges from i on and returns where it stopped: the
// end, or past a judge that panicked, which is put out of the run. One
// deferred recover per line, not one per rule and line.
func (j *Judge) feed(i int, l *LogLine) (next int) {
	defer func() {
		if v := recover(); v != nil {
			j.breakRule(i, v)
			next = i + 1
		}
	}()
	for ; i < len(j.logs); i++ {
		if lj := j.logs[i]; lj != nil {
			lj.Line(l)
		}
	}
	return i
}

// Merge folds in a fork fed the lines right after the ones j was fed.
func (j *Judge) Merge(later *Judge) {
	j.seal()
	j.lines += later.lines
	j.shape.event += later.shape.event
	j.shape.message += later.shape.message
	mergeStates(j.logs, later.logs, j.broken, later.broken, j.guard, LogJudge.Merge)
}

// guard runs f for rule i, turning a panic into the rule's internal error:
// one rule's bug must not take the whole run down.
func (j *Judge) guard(i int, f func()) {
	defer func() {
		if v := recover(); v != nil {
			j.breakRule(i, v)
		}
	}()
	f()
}

// breakRule puts rule i out of the run after its judge panicked with v.
func (j *Judge) breakRule(i int, v any) {
	j.logs[i] = nil
	j.broken[i] = fmt.Sprintf("internal error in rule %s: %v (please report it)", j.rules[i].ID, v)
}

// logShape counts the message keys of winston and structlog, for the
// profile detection (DetectProfile).
type logShape struct{ event, message int }

func (s *logShape) add(fields map[string]any) {
	if fields == nil {
		return
	}
	if _, ok := fields["event"]; ok {
		s.event++
	}
	if _, ok := fields["message"]; ok {
		s.message++
	}
}

// ForkScrapes returns a scrape feed of the same rules and evidence with
// fresh state, for a later part of the series of scrapes (FeedScrapes), to
// be merged back in order with MergeScrapes.
func (j *Judge) ForkScrapes() *ScrapeFeed { return NewScrapeFeed(j.ev, j.rules, j.opt, true) }

// MergeScrapes folds in a feed of the scrapes right after those j's own
// feed was given.
func (j *Judge) MergeScrapes(f *ScrapeFeed) { j.scrapes.Merge(f) }

// FeedScrapes parses the scrapes of the evidence not fed yet, in order, up
// to scrape to (excluded), and feeds them to f: a fork of ForkScrapes, or
// j's own feed when f is nil. It records how each parsed and lets its
// families and any body it loaded go: a run holds one parsed scrape at a
// time. Result feeds the rest to j's own feed.
func (j *Judge) FeedScrapes(to int, f *ScrapeFeed) {
	if f == nil {
		f = j.scrapes
	}
	for ; j.fed < min(to, len(j.ev.Scrapes)); j.fed++ {
		s := &j.ev.Scrapes[j.fed]
		view := *s
		view.Index = j.fed
		body, err := s.ReadBody()
		if err != nil {
			j.ev.Problems = append(j.ev.Problems, Problem{Phase: "scrape", Message: fmt.Sprintf("scrape %d (%s): cannot read its body back: %v", j.fed+1, s.Phase, err)})
		}
		view.Body, view.Load = body, nil
		view.Parse()
		s.ParseErr, s.families = view.ParseErr, len(view.Families)
		f.Scrape(&view)
	}
}
