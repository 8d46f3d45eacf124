package traces

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/obslint/obslint/checks"
)

// run judges evidence with one rule and returns its status and subjects.
func run(t *testing.T, r *checks.Rule, ev *checks.Evidence) (checks.Status, []string) {
	t.Helper()
	res := checks.Run(ev, []*checks.Rule{r}, checks.Options{})
	require.Len(t, res.Rules, 1)
	var subjects []string
	for _, f := range res.Findings {
		subjects = append(subjects, f.Subject)
	}
	return res.Rules[0].Status, subjects
}

func kinds(ps []problem) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.kind)
	}
	return out
}

func httpSpan(attrs map[string]any) checks.Span {
	return checks.Span{Name: "GET /users/:id", Kind: checks.KindServer, Attrs: attrs}
}

func TestSemconvProblems(t *testing.T) {
	stable := map[string]any{"http.request.method": "GET", "url.path": "/users/42", "url.scheme": "http",
		"http.response.status_code": int64(200), "http.route": "/users/:id"}
	with := func(extra map[string]any, drop ...string) map[string]any {
		m := map[string]any{}
		for k, v := range stable {
			m[k] = v
		}
		for k, v := range extra {
			m[k] = v
		}
		for _, k := range drop {
			delete(m, k)
		}
		return m
	}
	legacy := map[string]any{"http.method": "GET", "http.target": "/users/42", "http.status_code": int64(200), "http.route": "/users/{id}"}
	routed := checks.Probe{Route: "/users/:id"}
	tests := []struct {
		name  string
		attrs map[string]any
		probe checks.Probe
		want  []string
	}{
		{"stable", stable, routed, nil},
		{"legacy only", legacy, routed, []string{"legacy"}},
		{"dup mode", with(map[string]any{"http.method": "GET", "net.peer.ip": "127.0.0.1"}), routed, []string{"dup"}},
		{"missing scheme", with(nil, "url.scheme"), routed, []string{"missing"}},
		{"status code as string", with(map[string]any{"http.response.status_code": "200"}), routed, []string{"type"}},
		{"status code as double", with(map[string]any{"http.response.status_code": 200.0}), routed, []string{"type"}},
		{"no route although the probe has one", with(nil, "http.route"), routed, []string{"route"}},
		{"no route and no template: fine", with(nil, "http.route"), checks.Probe{}, nil},
		{"dup with a missing stable name", with(map[string]any{"http.flavor": "1.1"}, "url.path"), routed, []string{"dup", "missing"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, kinds(semconvProblems(httpSpan(tt.attrs), tt.probe)))
		})
	}
}

func TestSpanNameProblem(t *testing.T) {
	probes := []checks.Probe{{Method: "GET", Path: "/users/42?access_token=x", Route: "/users/{user_id}"}, {Method: "GET", Path: "/boom", Route: "/boom"}}
	tests := []struct {
		name  string
		attrs map[string]any
		want  bool
	}{
		{"GET /users/{user_id}", map[string]any{"http.request.method": "GET", "http.route": "/users/{user_id}"}, false},
		{"GET", map[string]any{"http.request.method": "GET", "url.path": "/nope"}, false},
		{"GET /boom", map[string]any{"http.request.method": "GET", "http.route": "/boom"}, false},
		{"HTTP", map[string]any{"http.request.method": "_OTHER"}, false},
		{"HTTP /users/{user_id}", map[string]any{"http.request.method": "_OTHER", "http.route": "/users/{user_id}"}, false},
		{"GET /users/42", map[string]any{"http.request.method": "GET", "url.path": "/users/42"}, true},                 // the raw path
		{"GET /users/42/orders", map[string]any{"http.request.method": "GET", "http.route": "/users/42/orders"}, true}, // a probe's concrete path
		{"GET /users/420", map[string]any{"http.request.method": "GET", "http.route": "/users/420"}, false},            // not the probe's path
		{"GET /users/:id", map[string]any{"http.request.method": "GET", "http.route": "/users/{user_id}"}, true},       // disagrees with the route
		{"GET /health", map[string]any{"http.request.method": "GET", "url.path": "/health"}, true},                     // no route: just GET
		{"HTTP GET", map[string]any{"http.method": "GET", "http.target": "/"}, true},                                   // pre-v1.18
		{"handle_request", map[string]any{"http.request.method": "GET"}, true},                                         // not an HTTP name
		{"POST /users/{user_id}", map[string]any{"http.request.method": "POST", "http.route": "/users/{user_id}"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := checks.Span{Name: tt.name, Kind: checks.KindServer, Attrs: tt.attrs}
			msg := spanNameProblem(s, probes)
			assert.Equal(t, tt.want, msg != "", msg)
		})
	}
}

func TestStatusMatrix(t *testing.T) {
	span := func(name string, code any, status string, extra map[string]any) checks.Span {
		a := map[string]any{"http.request.method": "GET", "http.response.status_code": code}
		for k, v := range extra {
			a[k] = v
		}
		return checks.Span{TraceID: traceA, SpanID: "1000000000000001", Name: name, Kind: checks.KindServer, StatusCode: status,
			Scope: "@opentelemetry/instrumentation-http", Attrs: a}
	}
	tests := []struct {
		name string
		span checks.Span
		want []string
	}{
		{"200 unset", span("GET /a", int64(200), checks.StatusUnset, nil), nil},
		{"302 unset", span("GET /a", int64(302), checks.StatusUnset, nil), nil},
		{"404 unset", span("GET", int64(404), checks.StatusUnset, nil), nil},
		{"404 error", span("GET", int64(404), checks.StatusError, nil), []string{"span GET"}},
		{"500 error with error.type", span("GET /b", int64(500), checks.StatusError, map[string]any{"error.type": "500"}), nil},
		{"500 error without error.type", span("GET /b", int64(500), checks.StatusError, nil), []string{"span GET /b"}},
		{"503 unset without error.type", span("GET /b", int64(503), checks.StatusUnset, nil), []string{"span GET /b"}},
		{"500 Ok", span("GET /b", int64(500), checks.StatusOk, map[string]any{"error.type": "500"}), []string{"span GET /b"}},
		{"404 Ok", span("GET", int64(404), checks.StatusOk, nil), []string{"span GET"}},
		{"legacy 500", checks.Span{TraceID: traceA, SpanID: "1000000000000001", Name: "GET /b", Kind: checks.KindServer, StatusCode: checks.StatusError,
			Attrs: map[string]any{"http.method": "GET", "http.status_code": int64(500)}}, []string{"span GET /b"}},
		{"200 Ok by instrumentation", span("GET /a", int64(200), checks.StatusOk, nil), []string{"span GET /a"}},
		{"Ok by the application", checks.Span{TraceID: traceA, SpanID: "1000000000000002", Name: "charge", Kind: checks.KindInternal, StatusCode: checks.StatusOk, Scope: "payments"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := &checks.Evidence{Captured: checks.Captured{Traces: true}, Spans: []checks.Span{tt.span}}
			st, subjects := run(t, Status, ev)
			assert.Equal(t, tt.want, subjects)
			assert.Equal(t, tt.want != nil, st == checks.StatusFail)
		})
	}
}

// One finding per span, whatever is wrong with it, and the Ok wording does
// not blame the instrumentation for what the application may have set.
func TestStatusOneFindingPerSpan(t *testing.T) {
	span := checks.Span{TraceID: traceA, SpanID: "1000000000000001", Name: "GET /boom", Kind: checks.KindServer, StatusCode: checks.StatusOk,
		Scope: "@opentelemetry/instrumentation-http", Attrs: map[string]any{"http.request.method": "GET", "http.response.status_code": int64(500)}}
	res := checks.Run(&checks.Evidence{Captured: checks.Captured{Traces: true}, Spans: []checks.Span{span}}, []*checks.Rule{Status}, checks.Options{})
	require.Len(t, res.Findings, 1)
	msg := res.Findings[0].Message
	assert.Contains(t, msg, "status Ok for a 500 response, want Error")
	assert.Contains(t, msg, "no error.type on a 500 response")
	assert.NotContains(t, msg, "set by instrumentation")

	span.Attrs["http.response.status_code"] = int64(200)
	res = checks.Run(&checks.Evidence{Captured: checks.Captured{Traces: true}, Spans: []checks.Span{span}}, []*checks.Rule{Status}, checks.Options{})
	require.Len(t, res.Findings, 1)
	assert.Contains(t, res.Findings[0].Message, "status Ok on a span created by instrumentation @opentelemetry/instrumentation-http: Ok is reserved for the application to assert; instrumentation leaves it Unset — if your code sets it")
}

func TestReceivedWithoutProbes(t *testing.T) {
	st, subjects := run(t, Received, &checks.Evidence{Captured: checks.Captured{Traces: true}})
	assert.Equal(t, checks.StatusFail, st)
	assert.Equal(t, []string{"traces"}, subjects)

	st, _ = run(t, Received, &checks.Evidence{Captured: checks.Captured{Traces: true}, Spans: []checks.Span{{TraceID: traceA, SpanID: "1000000000000001"}}})
	assert.Equal(t, checks.StatusPass, st)

	st, _ = run(t, Received, &checks.Evidence{})
	assert.Equal(t, checks.StatusNotEvaluated, st, "no trace source attached is not a pass")
}

func TestSubtreeSurvivesCycles(t *testing.T) {
	trace := []checks.Span{
		{SpanID: "a", ParentSpanID: "c"},
		{SpanID: "b", ParentSpanID: "a"},
		{SpanID: "c", ParentSpanID: "b"},
		{SpanID: "d", ParentSpanID: "x"},
	}
	done := make(chan []node)
	go func() { done <- subtree(nodes(trace...), nodes(trace[0])[0].id) }()
	select {
	case got := <-done:
		assert.Len(t, got, 3)
	case <-time.After(2 * time.Second):
		t.Fatal("subtree does not terminate on a parent cycle")
	}
	assert.Nil(t, subtree(nodes(trace...), 12345))
}

func TestThrownError(t *testing.T) {
	tests := []struct {
		name  string
		spans []checks.Span
		want  bool
	}{
		{"status message", []checks.Span{{StatusCode: checks.StatusError, StatusMessage: "boom"}}, true},
		{"exception error.type", []checks.Span{{StatusCode: checks.StatusError, Attrs: map[string]any{"error.type": "ValueError"}}}, true},
		{"status code error.type", []checks.Span{{StatusCode: checks.StatusError, Attrs: map[string]any{"error.type": "500"}}}, false},
		{"_OTHER error.type", []checks.Span{{StatusCode: checks.StatusError, Attrs: map[string]any{"error.type": "_OTHER"}}}, false},
		{"message on an unset span", []checks.Span{{StatusCode: checks.StatusUnset, StatusMessage: "note"}}, false},
	}
	for _, tt := range tests {
		_, got := thrownError(nodes(tt.spans...))
		assert.Equal(t, tt.want, got, tt.name)
	}
}

func TestOrphan(t *testing.T) {
	id := func(s string) spanID { v, _ := idOf(s); return v }
	local := map[spanID]bool{id("a"): true}
	injected := map[spanID]bool{id("p"): true}
	tests := []struct {
		name string
		span checks.Span
		want bool
	}{
		{"root", checks.Span{Kind: checks.KindInternal}, false},
		{"local parent", checks.Span{Kind: checks.KindInternal, ParentSpanID: "a"}, false},
		{"injected parent", checks.Span{Kind: checks.KindInternal, ParentSpanID: "p"}, false},
		{"lost parent", checks.Span{Kind: checks.KindInternal, ParentSpanID: "z"}, true},
		{"lost parent of a client span", checks.Span{Kind: checks.KindClient, ParentSpanID: "z"}, true},
		{"server span with a remote parent", checks.Span{Kind: checks.KindServer, ParentSpanID: "z"}, false},
		{"consumer span with a remote parent", checks.Span{Kind: checks.KindConsumer, ParentSpanID: "z"}, false},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, orphan(newNode(&tt.span), local, injected), tt.name)
	}
}

func nodes(spans ...checks.Span) []node {
	out := make([]node, len(spans))
	for i := range spans {
		out[i] = newNode(&spans[i])
	}
	return out
}

// TestStructureBoundNeverBlamesACutTrace: past its bound the structure
// rule stops graphing spans; a trace cut by the bound is not judged for
// orphans or exceptions (its parent or exception event may be in the part
// not graphed), and the rule says how many spans it could not graph.
func TestStructureBoundNeverBlamesACutTrace(t *testing.T) {
	t0 := time.Date(2026, 11, 25, 19, 10, 0, 0, time.UTC)
	child := checks.Span{TraceID: traceA, SpanID: "c000000000000001", ParentSpanID: "a000000000000001", Name: "db", Kind: checks.KindInternal, Start: t0, End: t0,
		StatusCode: checks.StatusError, StatusMessage: "boom"}
	parent := checks.Span{TraceID: traceA, SpanID: "a000000000000001", Name: "GET /x", Kind: checks.KindServer, Start: t0, End: t0, StatusCode: checks.StatusError}
	lost := checks.Span{TraceID: traceB, SpanID: "d000000000000001", ParentSpanID: "e000000000000001", Name: "lost", Kind: checks.KindInternal, Start: t0, End: t0}
	judge := func(max int, spans ...checks.Span) []checks.Finding {
		rule := *Structure
		rule.Spans = func(ev *checks.Evidence) checks.SpanJudge {
			j := newStructureJudge(ev).(*structureJudge)
			j.maxNodes = max
			return j
		}
		ev := &checks.Evidence{Captured: checks.Captured{Traces: true}, Spans: spans}
		return checks.Run(ev, []*checks.Rule{&rule}, checks.Options{}).Findings
	}
	subjects := func(fs []checks.Finding) []string {
		var out []string
		for _, f := range fs {
			out = append(out, f.Subject)
		}
		return out
	}
	// Unbounded: the lost parent is an orphan, and the failed server span
	// whose child threw has no exception event.
	all := judge(100, lost, child, parent)
	assert.ElementsMatch(t, []string{"span lost", "span GET /x"}, subjects(all))
	for _, f := range all {
		if f.Subject == "span lost" {
			assert.Contains(t, f.Message, "parent e000000000000001 is not a span of trace "+traceB)
		}
	}
	odd := lost
	odd.ParentSpanID = "not-hex"
	assert.Contains(t, judge(100, odd)[0].Message, "parent not-hex is not a span")
	// The bound cuts trace A after its child: A is not judged; B is.
	got := judge(2, lost, child, parent)
	assert.ElementsMatch(t, []string{"span lost", "spans"}, subjects(got))
}
