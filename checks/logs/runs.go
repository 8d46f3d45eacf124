package logs

import "github.com/obslint/obslint/checks"

// Bounds on a held run of text lines: past them the run is classified as it
// stands and a new one begins (a 10 GB plain-text file costs no memory).
const (
	maxRunLines = 10_000
	maxRunBytes = 8 << 20
)

// textRuns classifies, as lines flow past, the lines of each source that are
// not one JSON object, by the run of consecutive non-JSON lines they belong
// to (classifyRun): a stack trace or a pretty-printed object is only
// recognisable as a whole. A run is held until a line that ends it (a JSON
// object, a truncated line) arrives on its source, or the stream ends; emit
// then gets every non-blank line of it with its kind.
//
// A part of a stream judged on its own holds its first run of each source
// apart (head): it may continue the last run of the part before, and Merge
// joins the two.
type textRuns struct {
	emit func(l *checks.LogLine, kind string)
	by   map[string]*runState
}

type runState struct {
	ended   bool             // a line that ends a run was seen in this part
	head    []checks.LogLine // the run this part started in, when ended
	pending []checks.LogLine // the current run
	bytes   int
}

func newTextRuns(emit func(l *checks.LogLine, kind string)) textRuns {
	return textRuns{emit: emit, by: map[string]*runState{}}
}

// line feeds one line of any kind.
func (r *textRuns) line(l *checks.LogLine) {
	s := r.by[l.Source]
	if s == nil {
		s = &runState{}
		r.by[l.Source] = s
	}
	switch {
	case isText(*l) || isBlank(*l):
		// Blank lines before any text are held too while the part's first
		// run is open: they may sit inside a run begun in the part before.
		if isBlank(*l) && len(s.pending) == 0 && s.ended {
			return
		}
		s.pending = append(s.pending, keepLine(l))
		s.bytes += len(l.Raw)
		if len(s.pending) >= maxRunLines || s.bytes >= maxRunBytes {
			r.end(s)
		}
	default:
		r.end(s)
	}
}

// end closes the current run of a source.
func (r *textRuns) end(s *runState) {
	if !s.ended {
		s.head, s.ended = s.pending, true
	} else {
		r.classify(s.pending)
	}
	s.pending, s.bytes = nil, 0
}

// merge folds in the runs of the part that follows.
func (r *textRuns) merge(o *textRuns) {
	for src, os := range o.by {
		s := r.by[src]
		if s == nil {
			r.by[src] = os
			continue
		}
		if !os.ended {
			s.pending, s.bytes = append(s.pending, os.pending...), s.bytes+os.bytes
			continue
		}
		joined := append(s.pending, os.head...)
		if s.ended {
			r.classify(joined)
		} else {
			s.head, s.ended = joined, true
		}
		s.pending, s.bytes = os.pending, os.bytes
	}
}

// finish classifies every run still held.
func (r *textRuns) finish() {
	for _, s := range r.by {
		r.classify(s.head)
		r.classify(s.pending)
		s.head, s.pending = nil, nil
	}
}

// classify names each line of one run; blank lines before its first text
// line belong to no run.
func (r *textRuns) classify(run []checks.LogLine) {
	for len(run) > 0 && isBlank(run[0]) {
		run = run[1:]
	}
	if len(run) == 0 {
		return
	}
	kinds := make([]string, len(run))
	classifyRun(run, kinds)
	for i := range run {
		if kinds[i] != "" && !isBlank(run[i]) {
			r.emit(&run[i], kinds[i])
		}
	}
}
