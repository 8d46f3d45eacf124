package checks

import "fmt"

// SpanJudge is what a trace rule keeps while spans flow past: it is fed
// every span once, in order, and keeps bounded state (counts, the first
// finding per subject, compact trace graphs), never the spans themselves.
//
// Merge folds in the state of a judge of the same rule fed the spans that
// came right after this one's, so that parts of a stream judged apart give
// exactly the findings of one pass. Unlike LogJudge.Merge it only reads
// later and keeps no reference into it: a collector merges the parts of a
// window again at every evaluation. Finish reports like Rule.Check; the
// span index (Evidence.SpanIndex) is complete by then.
type SpanJudge interface {
	// Span judges one span. It is borrowed: what outlives the call must be
	// copied out of it.
	Span(s *Span)
	Merge(later SpanJudge)
	Finish(p *Pass)
}

// RecordReader is a SpanJudge of a rule that also reads OTLP log records
// (a canary in a record's body): the feed gives it every record, as it
// gives every span.
type RecordReader interface {
	Record(r *LogRecord)
}

// SpanFeed is the OTLP half of a judge: the span index and the state of
// every rule with a SpanJudge, fed the spans and the OTLP log records.
// Feeds of consecutive parts of a stream merge in order. A Judge has one
// (Judge.Span and Judge.Record feed it); ForkSpans makes another for a
// part judged apart.
type SpanFeed struct {
	rules  []*Rule
	index  *SpanIndex
	judges []SpanJudge
	broken []string
	// at is the position in the whole stream of the first span fed here.
	at int
}

// NewSpanFeed prepares the span rules for a stream of spans about ev (its
// probes, expectations and target), starting at position at.
func NewSpanFeed(ev *Evidence, rules []*Rule, opt Options, at int) *SpanFeed {
	f := &SpanFeed{rules: rules, index: newSpanIndex(ev), judges: make([]SpanJudge, len(rules)), broken: make([]string, len(rules)), at: at}
	for i, r := range rules {
		if _, off := disabledReason(opt.Disabled, r.ID); off || r.Spans == nil {
			continue
		}
		f.guard(i, func() { f.judges[i] = r.Spans(ev) })
	}
	return f
}

// Count is the number of spans fed (merged feeds included).
func (f *SpanFeed) Count() int { return f.index.n }

// Records is the number of OTLP log records fed (merged feeds included).
func (f *SpanFeed) Records() int { return f.index.records }

// Record feeds one OTLP log record, borrowed, to the index and the span
// judges that read records.
func (f *SpanFeed) Record(r *LogRecord) {
	f.index.addRecord(r)
	for i, sj := range f.judges {
		if rr, ok := sj.(RecordReader); ok {
			f.guard(i, func() { rr.Record(r) })
		}
	}
}

// Span feeds one span to the index and every span judge, setting its Seq.
// The span is borrowed.
func (f *SpanFeed) Span(s *Span) {
	s.Seq = f.at + f.index.n
	f.index.add(s)
	for i := 0; i < len(f.judges); {
		i = f.feed(i, s)
	}
}

// feed gives s to the judges from i on and returns where it stopped (see
// Judge.feed).
func (f *SpanFeed) feed(i int, s *Span) (next int) {
	defer func() {
		if v := recover(); v != nil {
			f.breakRule(i, v)
			next = i + 1
		}
	}()
	for ; i < len(f.judges); i++ {
		if sj := f.judges[i]; sj != nil {
			sj.Span(s)
		}
	}
	return i
}

// Merge folds in a feed of the spans that came right after f's; later is
// only read, so it may be merged again elsewhere.
func (f *SpanFeed) Merge(later *SpanFeed) {
	f.index.merge(later.index)
	mergeStates(f.judges, later.judges, f.broken, later.broken, f.guard, SpanJudge.Merge)
}

// mergeStates folds the rules' states of a later part into judges, rule by
// rule, each merge under guard: a rule broken in either part is broken in
// the whole, and a rule without state in either part has none to merge.
func mergeStates[J comparable](judges, later []J, broken, laterBroken []string, guard func(int, func()), merge func(J, J)) {
	var none J
	for i := range judges {
		if laterBroken[i] != "" && broken[i] == "" {
			broken[i], judges[i] = laterBroken[i], none
		}
		if judges[i] == none || later[i] == none {
			continue
		}
		guard(i, func() { merge(judges[i], later[i]) })
	}
}

func (f *SpanFeed) guard(i int, fn func()) {
	defer func() {
		if v := recover(); v != nil {
			f.breakRule(i, v)
		}
	}()
	fn()
}

func (f *SpanFeed) breakRule(i int, v any) {
	f.judges[i] = nil
	f.broken[i] = fmt.Sprintf("internal error in rule %s: %v (please report it)", f.rules[i].ID, v)
}
