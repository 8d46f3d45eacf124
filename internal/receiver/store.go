package receiver

import (
	"context"
	"fmt"
	"maps"
	"sync"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
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
// Spans are spooled as the batches arrived (protobuf, on disk), to be read
// back for the judge: what a run judges is not bounded by memory, only by
// maxSpanBytes of disk. OTLP log records and metrics are flattened into
// checks types, within caps. Nothing here aliases receiver buffers.
type store struct {
	maxLogs, maxMetrics int
	maxSpanBytes        int64

	mu        sync.Mutex
	batches   *spool.Blobs
	spanBytes int64
	spans     int
	logs      []checks.LogRecord
	metrics   []checks.OTLPMetric
	dropped   struct{ spans, logs, metrics int }
	// services counts the spans of each service.name ("" for none), and
	// service is the first one a span carried.
	services    map[string]int
	service     string
	serverSeen  map[string]bool // trace ids that have a SERVER span
	servers     int             // SERVER spans seen in total, spooled or dropped
	lastArrival time.Time
	closed      bool
	// changed is closed and replaced on every arrival (and on close): a
	// broadcast that lets WaitForSpans sleep without polling.
	changed chan struct{}
}

func newStore(maxSpanBytes int64, maxLogs, maxMetrics int) *store {
	return &store{
		maxSpanBytes: maxSpanBytes, maxLogs: maxLogs, maxMetrics: maxMetrics,
		batches:    spool.New("obslint-spans-"),
		services:   map[string]int{},
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
	if err != nil || s.spanBytes+int64(len(blob)) > s.maxSpanBytes {
		s.dropped.spans += n
	} else {
		s.batches.Add(blob)
		s.spanBytes += int64(len(blob))
		s.spans += n
		for name, k := range names {
			if _, ok := s.services[name]; ok || len(s.services) < maxServices {
				s.services[name] += k
			}
		}
	}
	s.lastArrival = time.Now()
	s.broadcast()
}

func hexID(id pcommon.TraceID) string {
	if id.IsEmpty() {
		return ""
	}
	return id.String()
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

// snapshotSpans returns the spans spooled so far.
func (s *store) snapshotSpans() *Spans {
	s.mu.Lock()
	defer s.mu.Unlock()
	return &Spans{blobs: s.batches, batches: s.batches.Len(), count: s.spans, services: maps.Clone(s.services)}
}

// firstService is the service.name of the first span that arrived.
func (s *store) firstService() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.service
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
	if s.dropped.spans > 0 {
		limit := fmt.Sprintf("%d bytes", s.maxSpanBytes)
		if s.maxSpanBytes >= 1<<20 {
			limit = fmt.Sprintf("%d MiB", s.maxSpanBytes>>20)
		}
		out = append(out, checks.Problem{Phase: "limit", Message: fmt.Sprintf("%d spans dropped: the spooled spans reached the limit of %s", s.dropped.spans, limit)})
	}
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
