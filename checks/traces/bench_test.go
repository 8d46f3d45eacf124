package traces_test

import (
	"fmt"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/obslint/obslint/checks"
	"github.com/obslint/obslint/checks/catalogue"
)

// benchTraces is n requests of a Node service: a SERVER span with the
// stable HTTP attributes and two INTERNAL children each, as
// instrumentation-http and -express export them.
func benchTraces(n int) ptrace.Traces {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	res := rs.Resource().Attributes()
	res.PutStr("service.name", "users")
	res.PutStr("service.version", "1.4.2")
	res.PutStr("service.instance.id", "3f0c")
	res.PutStr("telemetry.sdk.name", "opentelemetry")
	res.PutStr("telemetry.sdk.language", "nodejs")
	res.PutStr("telemetry.sdk.version", "2.2.0")
	ss := rs.ScopeSpans().AppendEmpty()
	ss.Scope().SetName("@opentelemetry/instrumentation-http")
	t0 := time.Date(2026, 11, 25, 19, 10, 0, 0, time.UTC)
	for i := range n {
		trace := pcommon.TraceID{1, byte(i), byte(i >> 8), byte(i >> 16), 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9}
		server := pcommon.SpanID{2, byte(i), byte(i >> 8), byte(i >> 16), 7, 7, 7, 7}
		start := pcommon.NewTimestampFromTime(t0.Add(time.Duration(i) * time.Millisecond))
		end := pcommon.NewTimestampFromTime(t0.Add(time.Duration(i)*time.Millisecond + 800*time.Microsecond))
		for c := range 2 {
			sp := ss.Spans().AppendEmpty()
			sp.SetTraceID(trace)
			sp.SetSpanID(pcommon.SpanID{3, byte(i), byte(i >> 8), byte(i >> 16), byte(c), 7, 7, 7})
			sp.SetParentSpanID(server)
			sp.SetName(fmt.Sprintf("middleware - step%d", c))
			sp.SetKind(ptrace.SpanKindInternal)
			sp.SetStartTimestamp(start)
			sp.SetEndTimestamp(end)
			sp.Attributes().PutStr("express.type", "middleware")
		}
		sp := ss.Spans().AppendEmpty()
		sp.SetTraceID(trace)
		sp.SetSpanID(server)
		sp.SetName("GET /users/:id")
		sp.SetKind(ptrace.SpanKindServer)
		sp.SetStartTimestamp(start)
		sp.SetEndTimestamp(end)
		a := sp.Attributes()
		a.PutStr("http.request.method", "GET")
		a.PutStr("url.path", fmt.Sprintf("/users/%d", i))
		a.PutStr("url.scheme", "http")
		a.PutStr("http.route", "/users/:id")
		a.PutInt("http.response.status_code", int64(200+100*(i%20/19)*3))
		a.PutStr("client.address", "127.0.0.1")
		a.PutInt("network.peer.port", int64(40000+i%20000))
		a.PutStr("user_agent.original", "obslint")
	}
	return td
}

// BenchmarkFlattenSpans is what turning pdata into checks.Span costs: the
// step every span takes before any rule sees it.
func BenchmarkFlattenSpans(b *testing.B) {
	td := benchTraces(1000)
	n := td.SpanCount()
	b.ReportAllocs()
	for b.Loop() {
		checks.SpansFromTraces(td)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/span")
}

// BenchmarkSpanRules feeds 3,000 spans to the span feed of one rule at a
// time (the index alone first, then every rule together) and finishes it,
// so a slow span rule is visible: ns/span per rule.
func BenchmarkSpanRules(b *testing.B) {
	spans := checks.SpansFromTraces(benchTraces(1000))
	// One untimed probe that carried the canaries, so no-canary-leak scans
	// every span, as in a run.
	ev := &checks.Evidence{Captured: checks.Captured{Traces: true, Probes: true}, Target: checks.Target{Profile: checks.ProfileNode},
		Probes:   []checks.Probe{{Method: "GET", Path: "/users/1", Canaries: true}},
		Canaries: []checks.Canary{{Where: "Authorization header", Value: "ocnry_hdr_9f3b2c7d1e5a"}}}
	var rules []*checks.Rule
	for _, r := range catalogue.All() {
		if r.Spans != nil {
			rules = append(rules, r)
		}
	}
	bench := func(name string, rules []*checks.Rule) {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				e := *ev
				j := checks.NewJudge(&e, rules, checks.Options{})
				for i := range spans {
					s := spans[i]
					j.Span(&s)
				}
				j.Result()
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(spans)), "ns/span")
		})
	}
	bench("index", nil)
	bench("all", rules)
	for _, r := range rules {
		bench(r.ID, []*checks.Rule{r})
	}
}
