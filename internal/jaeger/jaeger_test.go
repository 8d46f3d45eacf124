package jaeger_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/obslint/obslint/checks"
	"github.com/obslint/obslint/internal/jaeger"
	"github.com/obslint/obslint/internal/jaegertest"
	"github.com/obslint/obslint/internal/launch"
)

// One Jaeger for every test that needs one: starting it costs about a second.
var (
	shared     *jaegertest.Jaeger
	sharedErr  error
	sharedOnce sync.Once
)

func startJaeger(t *testing.T) *jaegertest.Jaeger {
	t.Helper()
	sharedOnce.Do(func() {
		shared, sharedErr = jaegertest.Launch(context.Background())
		if sharedErr == nil {
			t.Logf("Jaeger %s ready in %s", jaegertest.Version, shared.StartupTime)
		}
	})
	if sharedErr != nil {
		t.Fatalf("jaegertest: %v", sharedErr)
	}
	return shared
}

func TestMain(m *testing.M) {
	code := m.Run()
	if shared != nil {
		_ = shared.Stop()
	}
	os.Exit(code)
}

const service = "jaeger-client-test"

// sent is what a test handed the SDK, to compare with what came back.
type sent struct {
	traceID, injectedParent string
	spans                   []sentSpan
	ended                   time.Time
}

type sentSpan struct {
	name, kind string
	attrs      map[string]any
}

func newID(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

// tracer returns a tracer exporting synchronously over OTLP to Jaeger.
func tracer(t *testing.T, j *jaegertest.Jaeger, overGRPC bool) (trace.Tracer, func()) {
	t.Helper()
	ctx := context.Background()
	var exp sdktrace.SpanExporter
	var err error
	if overGRPC {
		exp, err = otlptracegrpc.New(ctx, otlptracegrpc.WithEndpoint(j.OTLPGRPC), otlptracegrpc.WithInsecure())
	} else {
		exp, err = otlptracehttp.New(ctx, otlptracehttp.WithEndpoint(j.OTLPHTTP), otlptracehttp.WithInsecure())
	}
	require.NoError(t, err)
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp), sdktrace.WithResource(resource.NewSchemaless(
		attribute.String("service.name", service), attribute.String("deployment.environment.name", "test"))))
	return tp.Tracer("obslint/jaegertest", trace.WithInstrumentationVersion("1.2.3")), func() {
		require.NoError(t, tp.Shutdown(ctx))
	}
}

// sendRequestTrace sends what an instrumented service sends for one probe:
// a SERVER span under the probe's injected parent, with a CLIENT and an
// INTERNAL child.
func sendRequestTrace(t *testing.T, j *jaegertest.Jaeger, overGRPC bool) sent {
	t.Helper()
	tr, shutdown := tracer(t, j, overGRPC)
	tid, pid := trace.TraceID(newID(16)), trace.SpanID(newID(8))
	ctx := trace.ContextWithRemoteSpanContext(context.Background(), trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: tid, SpanID: pid, TraceFlags: trace.FlagsSampled, Remote: true,
	}))
	s := sent{traceID: tid.String(), injectedParent: pid.String(), spans: []sentSpan{
		{name: "GET /users/:id", kind: "SERVER", attrs: map[string]any{
			"http.request.method": "GET", "http.route": "/users/:id", "http.response.status_code": int64(200)}},
		{name: "SELECT users", kind: "CLIENT", attrs: map[string]any{"db.system.name": "postgresql", "db.ok": true}},
		{name: "render", kind: "INTERNAL", attrs: map[string]any{"items": int64(3), "ratio": 0.5}},
	}}
	ctx, srv := tr.Start(ctx, s.spans[0].name, trace.WithSpanKind(trace.SpanKindServer), trace.WithAttributes(
		attribute.String("http.request.method", "GET"), attribute.String("http.route", "/users/:id"),
		attribute.Int("http.response.status_code", 200)))
	_, db := tr.Start(ctx, s.spans[1].name, trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(
		attribute.String("db.system.name", "postgresql"), attribute.Bool("db.ok", true)))
	db.End()
	_, render := tr.Start(ctx, s.spans[2].name, trace.WithAttributes(attribute.Int("items", 3), attribute.Float64("ratio", 0.5)))
	render.SetStatus(codes.Error, "template missing")
	render.End()
	srv.End()
	shutdown()
	s.ended = time.Now()
	return s
}

// assertSameTrace compares what came back with what was sent.
func assertSameTrace(t *testing.T, want sent, got []checks.Span) {
	t.Helper()
	require.Len(t, got, len(want.spans), "spans of trace %s: %+v", want.traceID, got)
	byName := map[string]checks.Span{}
	for _, s := range got {
		byName[s.Name] = s
	}
	server := byName[want.spans[0].name]
	assert.Equal(t, want.injectedParent, server.ParentSpanID)
	for _, w := range want.spans {
		g, ok := byName[w.name]
		require.True(t, ok, "span %q missing from %+v", w.name, got)
		assert.Equal(t, want.traceID, g.TraceID)
		assert.Equal(t, w.kind, g.Kind, w.name)
		assert.Equal(t, w.attrs, g.Attrs, w.name)
		assert.Equal(t, service, g.Resource["service.name"], w.name)
		assert.Equal(t, "test", g.Resource["deployment.environment.name"], w.name)
		assert.Equal(t, "obslint/jaegertest", g.Scope, w.name)
		if w.name != want.spans[0].name {
			assert.Equal(t, server.SpanID, g.ParentSpanID, w.name)
		}
		assert.False(t, g.End.Before(g.Start), w.name)
	}
	assert.Equal(t, "Error", byName["render"].StatusCode)
	assert.Equal(t, "template missing", byName["render"].StatusMessage)
}

func fetchOpts(timeout time.Duration) jaeger.FetchOptions {
	return jaeger.FetchOptions{Timeout: timeout, Poll: 50 * time.Millisecond, Quiet: 200 * time.Millisecond}
}

func TestFetchBothAPIs(t *testing.T) {
	j := startJaeger(t)
	overHTTP := sendRequestTrace(t, j, false)
	overGRPC := sendRequestTrace(t, j, true)

	tests := []struct {
		name, addr string
		api        jaeger.API
		source     string
	}{
		{"grpc forced by prefix", "grpc://" + j.QueryGRPC, jaeger.APIAuto, "Jaeger api_v2 gRPC " + j.QueryGRPC},
		{"http forced by prefix", "http://" + j.QueryHTTP, jaeger.APIAuto, "Jaeger api_v3 HTTP http://" + j.QueryHTTP},
		{"grpc forced by option", j.QueryGRPC, jaeger.APIGRPC, "Jaeger api_v2 gRPC " + j.QueryGRPC},
		{"http forced by option", j.QueryHTTP, jaeger.APIHTTP, "Jaeger api_v3 HTTP http://" + j.QueryHTTP},
		{"auto finds grpc", j.QueryGRPC, jaeger.APIAuto, "Jaeger api_v2 gRPC " + j.QueryGRPC},
		{"auto falls back to http", j.QueryHTTP, jaeger.APIAuto, "Jaeger api_v3 HTTP http://" + j.QueryHTTP},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := jaeger.New(tt.addr, jaeger.Options{API: tt.api, DialTimeout: 5 * time.Second})
			require.NoError(t, err)
			defer c.Close()
			start := time.Now()
			res := c.Fetch(context.Background(), []string{overHTTP.traceID, strings.ToUpper(overGRPC.traceID)}, fetchOpts(15*time.Second))
			t.Logf("fetched 2 traces in %s", time.Since(start))
			assert.Equal(t, tt.source, res.Source)
			assert.Empty(t, res.Missing)
			assert.Empty(t, res.Partial)
			assert.Empty(t, res.Problems)
			var a, b []checks.Span
			for _, s := range res.Spans {
				switch s.TraceID {
				case overHTTP.traceID:
					a = append(a, s)
				case overGRPC.traceID:
					b = append(b, s)
				default:
					t.Errorf("span of a trace not asked for: %+v", s)
				}
			}
			assertSameTrace(t, overHTTP, a)
			assertSameTrace(t, overGRPC, b)
		})
	}
}

func TestFetchMissingTrace(t *testing.T) {
	j := startJaeger(t)
	for _, addr := range []string{"grpc://" + j.QueryGRPC, "http://" + j.QueryHTTP} {
		t.Run(addr[:strings.Index(addr, ":")], func(t *testing.T) {
			c, err := jaeger.New(addr, jaeger.Options{})
			require.NoError(t, err)
			defer c.Close()
			never := hex.EncodeToString(newID(16))
			start := time.Now()
			res := c.Fetch(context.Background(), []string{never, "not-a-trace-id"}, fetchOpts(time.Second))
			took := time.Since(start)
			assert.Less(t, took, 3*time.Second)
			assert.Equal(t, []string{never, "not-a-trace-id"}, res.Missing)
			assert.Empty(t, res.Spans)
			assert.Empty(t, res.Partial)
			require.Len(t, res.Problems, 2, "%v", res.Problems)
			assert.Equal(t, "traces", res.Problems[0].Phase)
			assert.Equal(t, fmt.Sprintf("trace %s: not in Jaeger after 1s", never), res.Problems[0].Message)
			assert.Contains(t, res.Problems[1].Message, `trace id "not-a-trace-id" is not 32 hex characters`)
		})
	}
}

func TestFetchPartialTrace(t *testing.T) {
	j := startJaeger(t)
	tr, shutdown := tracer(t, j, false)
	tid, lost := trace.TraceID(newID(16)), trace.SpanID(newID(8))
	ctx := trace.ContextWithRemoteSpanContext(context.Background(), trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: tid, SpanID: lost, TraceFlags: trace.FlagsSampled, Remote: true,
	}))
	// A child whose SERVER parent never reached Jaeger.
	_, child := tr.Start(ctx, "SELECT users", trace.WithSpanKind(trace.SpanKindClient))
	child.End()
	shutdown()

	c, err := jaeger.New(j.QueryGRPC, jaeger.Options{})
	require.NoError(t, err)
	defer c.Close()
	res := c.Fetch(context.Background(), []string{tid.String()}, fetchOpts(2*time.Second))
	assert.Empty(t, res.Missing)
	assert.Equal(t, []string{tid.String()}, res.Partial)
	require.Len(t, res.Spans, 1)
	require.Len(t, res.Problems, 2, "%v", res.Problems)
	assert.Equal(t, fmt.Sprintf("trace %s came back with 1 spans and no SERVER span", tid), res.Problems[0].Message)
	assert.Equal(t, fmt.Sprintf("trace %s: span %q (%s)'s parent %s is not in the trace",
		tid, "SELECT users", res.Spans[0].SpanID, lost), res.Problems[1].Message)
}

func TestFetchManyAndSpanLimit(t *testing.T) {
	j := startJaeger(t)
	var ids []string
	want := map[string]sent{}
	for i := range 10 {
		s := sendRequestTrace(t, j, i%2 == 0)
		ids = append(ids, s.traceID)
		want[s.traceID] = s
	}
	c, err := jaeger.New(j.QueryHTTP, jaeger.Options{})
	require.NoError(t, err)
	defer c.Close()

	start := time.Now()
	res := c.Fetch(context.Background(), ids, fetchOpts(15*time.Second))
	t.Logf("fetched 10 traces (30 spans) in %s", time.Since(start))
	require.Empty(t, res.Problems)
	assert.Len(t, res.Spans, 30)
	byTrace := map[string][]checks.Span{}
	for _, s := range res.Spans {
		byTrace[s.TraceID] = append(byTrace[s.TraceID], s)
	}
	for id, s := range want {
		assertSameTrace(t, s, byTrace[id])
	}

	res = c.Fetch(context.Background(), ids[:2], jaeger.FetchOptions{Timeout: 15 * time.Second, Poll: 50 * time.Millisecond, MaxSpans: 4})
	assert.Len(t, res.Spans, 4)
	assert.Equal(t, []string{ids[1]}, res.Partial)
	require.Len(t, res.Problems, 1)
	assert.Equal(t, fmt.Sprintf("trace %s: kept 1 of its 3 spans (span limit 4 over all traces)", ids[1]), res.Problems[0].Message)
}

func TestFetchHonoursContext(t *testing.T) {
	j := startJaeger(t)
	c, err := jaeger.New(j.QueryGRPC, jaeger.Options{})
	require.NoError(t, err)
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	res := c.Fetch(ctx, []string{hex.EncodeToString(newID(16))}, fetchOpts(time.Minute))
	assert.Less(t, time.Since(start), 2*time.Second)
	require.Len(t, res.Missing, 1)
	require.Len(t, res.Problems, 1)
	assert.Contains(t, res.Problems[0].Message, "(the wait was cut short)")
}

// TestPollLatency measures how long after the SDK exported a trace Fetch
// has it complete (Jaeger's batch processor flushes every 50ms here).
func TestPollLatency(t *testing.T) {
	j := startJaeger(t)
	for _, addr := range []string{"grpc://" + j.QueryGRPC, "http://" + j.QueryHTTP} {
		c, err := jaeger.New(addr, jaeger.Options{})
		require.NoError(t, err)
		s := sendRequestTrace(t, j, false)
		res := c.Fetch(context.Background(), []string{s.traceID}, jaeger.FetchOptions{Timeout: 10 * time.Second, Poll: 20 * time.Millisecond, Quiet: time.Nanosecond})
		t.Logf("%s: complete %s after the SDK exported it (poll 20ms)", res.Source, time.Since(s.ended))
		require.Empty(t, res.Problems)
		c.Close()
	}
}

func TestNewJaegerDown(t *testing.T) {
	port, err := launch.FreePort()
	require.NoError(t, err)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	start := time.Now()
	_, err = jaeger.New(addr, jaeger.Options{DialTimeout: 20 * time.Second})
	took := time.Since(start)
	require.Error(t, err)
	assert.True(t, errors.Is(err, jaeger.ErrUnavailable))
	assert.Contains(t, err.Error(), addr)
	assert.Contains(t, err.Error(), "api_v2 gRPC")
	assert.Contains(t, err.Error(), "api_v3 HTTP")
	assert.Less(t, took, 5*time.Second, "refused connections should fail fast, not wait for DialTimeout")
	t.Logf("%s: %v", took, err)
}

func TestNewSilentPeer(t *testing.T) {
	// Accepts connections and never answers: New must give up at DialTimeout.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	var conns []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	defer func() {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	}()
	start := time.Now()
	_, err = jaeger.New(l.Addr().String(), jaeger.Options{DialTimeout: time.Second})
	took := time.Since(start)
	require.ErrorIs(t, err, jaeger.ErrUnavailable)
	assert.Less(t, took, 5*time.Second, "gives up at DialTimeout")
	t.Logf("%s: %v", took, err)
}

func TestNewNotJaeger(t *testing.T) {
	garbage := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprint(w, "<html>hello, I am a web shop</html>")
	}))
	defer garbage.Close()
	host := strings.TrimPrefix(garbage.URL, "http://")

	for _, addr := range []string{host, garbage.URL, "grpc://" + host} {
		t.Run(addr, func(t *testing.T) {
			start := time.Now()
			_, err := jaeger.New(addr, jaeger.Options{DialTimeout: 20 * time.Second})
			require.ErrorIs(t, err, jaeger.ErrUnavailable)
			assert.Contains(t, err.Error(), addr)
			if !strings.HasPrefix(addr, "grpc://") {
				assert.Contains(t, err.Error(), `not a Jaeger api_v3 answer (want {"services": [...]}, got "<html>hello, I am a web shop</html>")`)
			}
			assert.Less(t, time.Since(start), 5*time.Second, "a wrong answer fails at once, not at DialTimeout")
			t.Logf("%v", err)
		})
	}
}

// TestFetchBadTraceBody: a server that passes the services probe but then
// answers traces with junk yields problems, not a panic or a hang.
func TestFetchBadTraceBody(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/api/v3/services":
			fmt.Fprint(w, `{"services":["x"]}`)
		case strings.HasSuffix(r.URL.Path, "0"):
			w.WriteHeader(http.StatusInternalServerError)
			fmt.Fprint(w, `{"error":{"message":"storage down"}}`)
		default:
			fmt.Fprint(w, `{"result": {"resourceSpans": "nope"}}`)
		}
	}))
	defer srv.Close()
	c, err := jaeger.New(srv.URL, jaeger.Options{})
	require.NoError(t, err)
	defer c.Close()
	ids := []string{strings.Repeat("ab", 15) + "c0", strings.Repeat("ab", 16)}
	res := c.Fetch(context.Background(), ids, fetchOpts(500*time.Millisecond))
	assert.Equal(t, ids, res.Missing)
	var msgs []string
	for _, p := range res.Problems {
		msgs = append(msgs, p.Message)
	}
	joined := strings.Join(msgs, "\n")
	assert.Contains(t, joined, "HTTP 500")
	assert.Contains(t, joined, "storage down")
	assert.Contains(t, joined, "result is not OTLP JSON")
	assert.Contains(t, joined, "times)") // repeated errors are counted, not repeated
	t.Log(joined)
}

// With the injected parent given, exactly that parent may be absent.
func TestFetchInjectedParents(t *testing.T) {
	j := startJaeger(t)
	s := sendRequestTrace(t, j, false)
	c, err := jaeger.New(j.QueryGRPC, jaeger.Options{})
	require.NoError(t, err)
	defer c.Close()

	opt := fetchOpts(10 * time.Second)
	opt.InjectedParents = map[string]string{strings.ToUpper(s.traceID): strings.ToUpper(s.injectedParent)}
	res := c.Fetch(context.Background(), []string{s.traceID}, opt)
	assert.Empty(t, res.Problems)

	opt.InjectedParents = map[string]string{s.traceID: "00f067aa0ba902b7"}
	res = c.Fetch(context.Background(), []string{s.traceID}, opt)
	assert.Equal(t, []string{s.traceID}, res.Partial)
	require.Len(t, res.Problems, 1)
	assert.Contains(t, res.Problems[0].Message, `span "GET /users/:id" (`)
	assert.Contains(t, res.Problems[0].Message, fmt.Sprintf("'s parent %s is not in the trace", s.injectedParent))
}
