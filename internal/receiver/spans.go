package receiver

import (
	"fmt"

	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/obslint/obslint/checks"
)

// Spans are the spans a receiver had spooled when they were asked for, in
// arrival order: read back one batch at a time, so judging them holds one
// batch, not all of them.
type Spans struct {
	blobs interface {
		Get(i int) ([]byte, error)
	}
	batches, count int
	services       map[string]int
	// only keeps the spans of one service (Only).
	only string
}

// Only returns the spans of one service.name.
func (s *Spans) Only(service string) *Spans {
	o := *s
	o.only = service
	o.count = s.services[service]
	return &o
}

// Count is the number of spans.
func (s *Spans) Count() int { return s.count }

// Others is how many spooled spans Only left out.
func (s *Spans) Others() int {
	if s.only == "" {
		return 0
	}
	n := 0
	for _, k := range s.services {
		n += k
	}
	return n - s.count
}

// Each calls fn with every span, borrowed, in arrival order, until fn
// returns false; it stops at the first batch that cannot be read back.
func (s *Spans) Each(fn func(*checks.Span) bool) error {
	var u ptrace.ProtoUnmarshaler
	for i := range s.batches {
		blob, err := s.blobs.Get(i)
		if err != nil {
			return fmt.Errorf("spans: %w", err)
		}
		td, err := u.UnmarshalTraces(blob)
		if err != nil {
			return fmt.Errorf("spans: batch %d does not decode: %w", i+1, err)
		}
		spans := checks.SpansFromTraces(td)
		for k := range spans {
			if s.only != "" && spans[k].ResourceAttr("service.name") != s.only {
				continue
			}
			if !fn(&spans[k]) {
				return nil
			}
		}
	}
	return nil
}

// Judge feeds every span to the judge and says how many.
func (s *Spans) Judge(j *checks.Judge) (int, error) {
	n := 0
	err := s.Each(func(sp *checks.Span) bool {
		n++
		j.Span(sp)
		return true
	})
	return n, err
}

// Kept returns the first max spans: what an evidence bundle saves.
func (s *Spans) Kept(max int) []checks.Span {
	var out []checks.Span
	if max <= 0 {
		return nil
	}
	_ = s.Each(func(sp *checks.Span) bool {
		out = append(out, *sp)
		return len(out) < max
	})
	return out
}

// All returns every span (for a caller that holds them anyway: tests).
func (s *Spans) All() []checks.Span { return s.Kept(s.count) }
