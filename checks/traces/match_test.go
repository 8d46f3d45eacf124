package traces

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/obslint/obslint/checks"
)

var t0 = time.Date(2026, 11, 25, 19, 10, 0, 0, time.UTC)

const (
	traceA  = "4bf92f3577b34da6a3ce929d0e0e4736"
	traceB  = "0af7651916cd43dd8448eb211c80319c"
	parentA = "00f067aa0ba902b7"
)

func probeA() checks.Probe {
	return checks.Probe{Method: "GET", Path: "/users/42?x=1", Route: "/users/:id", TraceID: traceA, ParentSpanID: parentA,
		Start: t0, End: t0.Add(50 * time.Millisecond), Status: 200}
}

func server(trace, id, parent, path string, start time.Time) checks.Span {
	return checks.Span{TraceID: trace, SpanID: id, ParentSpanID: parent, Name: "GET /users/:id", Kind: checks.KindServer,
		Start: start, End: start.Add(time.Millisecond),
		Attrs: map[string]any{"http.request.method": "GET", "url.path": path, "http.route": "/users/:id"}}
}

func TestProbeServerSpan(t *testing.T) {
	in := t0.Add(2 * time.Millisecond)
	client := checks.Span{TraceID: traceA, SpanID: "c000000000000001", ParentSpanID: "s000000000000001", Kind: checks.KindClient}
	tests := []struct {
		name    string
		probe   checks.Probe
		spans   []checks.Span
		wantID  string
		wantHow How
	}{
		{"continues the injected parent", probeA(),
			[]checks.Span{server(traceA, "s000000000000001", parentA, "/users/42", in)}, "s000000000000001", ByParent},
		{"the injected parent wins over a self-call", probeA(),
			[]checks.Span{client, server(traceA, "s000000000000002", client.SpanID, "/users/42", in), server(traceA, "s000000000000001", parentA, "/users/42", in)},
			"s000000000000001", ByParent},
		{"same trace, another remote parent", probeA(),
			[]checks.Span{server(traceA, "s000000000000001", "ffffffffffffffff", "/users/42", in)}, "s000000000000001", ByTrace},
		{"a self-call alone is not the probe's span", probeA(),
			[]checks.Span{client, server(traceA, "s000000000000002", client.SpanID, "/other", in), {TraceID: traceA, SpanID: client.ParentSpanID, Kind: checks.KindInternal}},
			"", ""},
		{"fresh trace found by time and path", probeA(),
			[]checks.Span{server(traceB, "s000000000000001", "", "/users/42", in)}, "s000000000000001", ByTime},
		{"fresh trace found by route when the path differs", probeA(),
			[]checks.Span{server(traceB, "s000000000000001", "", "", in)}, "s000000000000001", ByTime},
		{"fresh trace outside the window", probeA(),
			[]checks.Span{server(traceB, "s000000000000001", "", "/users/42", t0.Add(time.Second))}, "", ""},
		{"fresh trace of another path", probeA(),
			[]checks.Span{server(traceB, "s000000000000001", "", "/users/7", in)}, "s000000000000001", ByTime}, // same route template
		{"fresh trace of another method", probeA(),
			[]checks.Span{func() checks.Span {
				s := server(traceB, "s000000000000001", "", "/users/42", in)
				s.Attrs["http.request.method"] = "POST"
				return s
			}()}, "", ""},
		{"probe without timings is not matched by time", func() checks.Probe { p := probeA(); p.Start, p.End = time.Time{}, time.Time{}; return p }(),
			[]checks.Span{server(traceB, "s000000000000001", "", "/users/42", in)}, "", ""},
		{"untraced probe found by time", func() checks.Probe { p := probeA(); p.TraceID, p.ParentSpanID = "", ""; return p }(),
			[]checks.Span{server(traceB, "s000000000000001", "", "/users/42", in)}, "s000000000000001", ByTime},
		{"a CLIENT span is never a server span", probeA(),
			[]checks.Span{{TraceID: traceA, SpanID: "s000000000000001", ParentSpanID: parentA, Kind: checks.KindClient}}, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := judged(&checks.Evidence{Probes: []checks.Probe{tt.probe}, Spans: tt.spans})
			s, how, ok := ProbeServerSpan(ev, tt.probe)
			assert.Equal(t, tt.wantID != "", ok)
			assert.Equal(t, tt.wantID, s.SpanID)
			assert.Equal(t, tt.wantHow, how)
		})
	}
}

// A span of another probe's trace is that probe's, even if it fits this
// probe's window and path.
func TestProbeServerSpanIgnoresOtherProbesTraces(t *testing.T) {
	a := probeA()
	b := probeA()
	b.TraceID, b.ParentSpanID = traceB, "1111111111111111"
	ev := judged(&checks.Evidence{Probes: []checks.Probe{a, b}, Spans: []checks.Span{server(traceB, "s000000000000001", "", "/users/42", t0.Add(time.Millisecond))}})
	_, _, ok := ProbeServerSpan(ev, a)
	assert.False(t, ok)
	_, how, ok := ProbeServerSpan(ev, b)
	require.True(t, ok)
	assert.Equal(t, ByTrace, how)
}

func TestLostTraceState(t *testing.T) {
	tests := []struct {
		injected, got string
		want          []string
	}{
		{"obslint=1", "obslint=1", nil},
		{"obslint=1", "vendor=x, obslint=1", nil},
		{"obslint=1,b=2", "b=2 ,obslint=1", nil},
		{"obslint=1", "", []string{"obslint=1"}},
		{"obslint=1,b=2", "obslint=2", []string{"obslint=1", "b=2"}},
		{"", "x=1", nil},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, lostTraceState(tt.injected, tt.got), "%q vs %q", tt.injected, tt.got)
	}
}

// judged runs an empty catalogue over ev, so that its spans are indexed as
// the rules find them.
func judged(ev *checks.Evidence) *checks.Evidence {
	checks.Run(ev, nil, checks.Options{})
	return ev
}
