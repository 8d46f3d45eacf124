package collector

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/obslint/obslint/checks"
)

// minTrackedTraces is how many trace ids with a SERVER span are remembered
// for WaitForSpans at least, even when MaxSpans is lower.
const minTrackedTraces = 10_000

// store keeps what the receiver got, within caps, and wakes waiters on every
// arrival. pdata is flattened into checks types before the consumer returns,
// so nothing here aliases receiver buffers.
type store struct {
	maxSpans, maxLogs, maxMetrics int

	mu          sync.Mutex
	spans       []checks.Span
	logs        []checks.LogRecord
	metrics     []checks.OTLPMetric
	dropped     struct{ spans, logs, metrics int }
	serverSeen  map[string]bool // trace ids that have a SERVER span, kept or dropped
	servers     int             // SERVER spans seen in total, kept or dropped
	lastArrival time.Time
	closed      bool
	// changed is closed and replaced on every arrival (and on close): a
	// broadcast that lets WaitForSpans sleep without polling.
	changed chan struct{}
}

func newStore(maxSpans, maxLogs, maxMetrics int) *store {
	return &store{
		maxSpans: maxSpans, maxLogs: maxLogs, maxMetrics: maxMetrics,
		serverSeen: map[string]bool{},
		changed:    make(chan struct{}),
	}
}

// broadcast wakes every waiter. Call with mu held.
func (s *store) broadcast() {
	close(s.changed)
	s.changed = make(chan struct{})
}

func (s *store) addSpans(in []checks.Span) {
	if len(in) == 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, sp := range in {
		// Count SERVER spans even past the cap, so a waiter is not kept
		// waiting for spans that did arrive; the set itself is bounded too.
		if sp.Kind == checks.KindServer {
			s.servers++
			if len(s.serverSeen) < max(s.maxSpans, minTrackedTraces) {
				s.serverSeen[sp.TraceID] = true
			}
		}
		if len(s.spans) >= s.maxSpans {
			s.dropped.spans++
			continue
		}
		s.spans = append(s.spans, sp)
	}
	s.lastArrival = time.Now()
	s.broadcast()
}

func (s *store) addLogs(in []checks.LogRecord) {
	s.mu.Lock()
	defer s.mu.Unlock()
	room := max(s.maxLogs-len(s.logs), 0)
	if len(in) > room {
		s.dropped.logs += len(in) - room
		in = in[:room]
	}
	s.logs = append(s.logs, in...)
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

func (s *store) snapshotSpans() []checks.Span {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]checks.Span(nil), s.spans...)
}

func (s *store) snapshotLogs() []checks.LogRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]checks.LogRecord(nil), s.logs...)
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
	add := func(n int, what string, limit int) {
		if n > 0 {
			out = append(out, checks.Problem{Phase: "limit", Message: fmt.Sprintf("%d %s dropped past the limit of %d", n, what, limit)})
		}
	}
	add(s.dropped.spans, "spans", s.maxSpans)
	add(s.dropped.logs, "OTLP log records", s.maxLogs)
	add(s.dropped.metrics, "OTLP metrics", s.maxMetrics)
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
