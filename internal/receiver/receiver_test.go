package receiver

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/obslint/obslint/checks"
)

func startTestReceiver(t *testing.T, opt Options) *Receiver {
	t.Helper()
	r, err := Start(t.Context(), opt)
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		assert.NoError(t, r.Shutdown(ctx))
	})
	return r
}

// sendServerSpan exports one SERVER span in the given trace through exp and
// flushes it (WithSyncer exports on End).
func sendServerSpan(t *testing.T, exp sdktrace.SpanExporter, name string, traceID trace.TraceID) {
	t.Helper()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp),
		sdktrace.WithResource(resource.NewSchemaless(attribute.String("service.name", "svc-under-test"))))
	parent := trace.NewSpanContext(trace.SpanContextConfig{
		TraceID: traceID, SpanID: trace.SpanID{1, 2, 3, 4, 5, 6, 7, 8},
		TraceFlags: trace.FlagsSampled, Remote: true,
	})
	ctx := trace.ContextWithRemoteSpanContext(context.Background(), parent)
	_, span := tp.Tracer("obslint-test").Start(ctx, name, trace.WithSpanKind(trace.SpanKindServer))
	span.End()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(t, tp.Shutdown(ctx))
}

// freshClient keeps each exporter off otlptracehttp's package-level
// transport: its pooled keep-alive connections to a previous test's receiver
// on the same port would fail the first POST with EOF.
func freshClient() otlptracehttp.Option {
	return otlptracehttp.WithHTTPClient(&http.Client{Transport: &http.Transport{}, Timeout: 5 * time.Second})
}

// oneSpanBytes is what one span sent by sendServerSpan takes in the spool.
func oneSpanBytes(t *testing.T) int64 {
	r := startTestReceiver(t, Options{})
	sendServerSpan(t, httpExporter(t, r), "GET /", traceID(0))
	return r.store.bytes
}

func traceID(b byte) trace.TraceID {
	return trace.TraceID{0xab, b, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, b}
}

func TestReceiverTransports(t *testing.T) {
	tests := []struct {
		name string
		exp  func(ctx context.Context, r *Receiver) (sdktrace.SpanExporter, error)
	}{
		{"http/protobuf", func(ctx context.Context, r *Receiver) (sdktrace.SpanExporter, error) {
			return otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(r.HTTPEndpoint()+"/v1/traces"), freshClient())
		}},
		{"http/json", func(ctx context.Context, r *Receiver) (sdktrace.SpanExporter, error) {
			return otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(r.HTTPEndpoint()+"/v1/traces"), freshClient(),
				otlptracehttp.WithEncoding(otlptracehttp.EncodingJSON))
		}},
		{"http/protobuf gzip", func(ctx context.Context, r *Receiver) (sdktrace.SpanExporter, error) {
			return otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(r.HTTPEndpoint()+"/v1/traces"), freshClient(),
				otlptracehttp.WithCompression(otlptracehttp.GzipCompression))
		}},
		{"grpc", func(ctx context.Context, r *Receiver) (sdktrace.SpanExporter, error) {
			return otlptracegrpc.New(ctx, otlptracegrpc.WithEndpoint(r.GRPCEndpoint()), otlptracegrpc.WithInsecure())
		}},
		{"grpc gzip", func(ctx context.Context, r *Receiver) (sdktrace.SpanExporter, error) {
			return otlptracegrpc.New(ctx, otlptracegrpc.WithEndpoint(r.GRPCEndpoint()), otlptracegrpc.WithInsecure(),
				otlptracegrpc.WithCompressor("gzip"))
		}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := startTestReceiver(t, Options{})
			exp, err := tt.exp(t.Context(), r)
			require.NoError(t, err)
			id := traceID(byte(i))
			sendServerSpan(t, exp, "GET /"+tt.name, id)

			spans := r.Received().All()
			require.Len(t, spans, 1)
			s := spans[0]
			assert.Equal(t, "GET /"+tt.name, s.Name)
			assert.Equal(t, id.String(), s.TraceID)
			assert.Equal(t, "0102030405060708", s.ParentSpanID)
			assert.Equal(t, checks.KindServer, s.Kind)
			assert.Equal(t, "svc-under-test", s.ResourceAttr("service.name"))
			assert.Equal(t, "obslint-test", s.Scope)
			assert.Empty(t, r.Problems())
		})
	}
}

func TestReceiverEndpointsAreLoopbackAndDistinct(t *testing.T) {
	// Two receivers at once: the second cannot have the conventional ports,
	// so it must fall back to free ones rather than fail.
	a := startTestReceiver(t, Options{})
	b := startTestReceiver(t, Options{})
	for _, r := range []*Receiver{a, b} {
		host, _, err := net.SplitHostPort(r.GRPCEndpoint())
		require.NoError(t, err)
		assert.Equal(t, "127.0.0.1", host)
		assert.True(t, strings.HasPrefix(r.HTTPEndpoint(), "http://127.0.0.1:"), r.HTTPEndpoint())
		assert.NotZero(t, r.GRPCPort())
		assert.NotZero(t, r.HTTPPort())
	}
	assert.NotEqual(t, a.GRPCEndpoint(), b.GRPCEndpoint())
	assert.NotEqual(t, a.HTTPEndpoint(), b.HTTPEndpoint())
}

func TestReceiverExplicitAddressInUse(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	_, err = Start(t.Context(), Options{GRPCAddr: l.Addr().String(), HTTPAddr: freeAddr(t)})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "address already in use")
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().String()
}

func httpExporter(t *testing.T, r *Receiver) sdktrace.SpanExporter {
	t.Helper()
	exp, err := otlptracehttp.New(t.Context(), otlptracehttp.WithEndpointURL(r.HTTPEndpoint()+"/v1/traces"), freshClient())
	require.NoError(t, err)
	return exp
}

func TestWaitForSpansReturnsWhenAllIDsArrive(t *testing.T) {
	r := startTestReceiver(t, Options{})
	ids := []trace.TraceID{traceID(1), traceID(2)}
	go func() {
		time.Sleep(100 * time.Millisecond)
		for _, id := range ids {
			sendServerSpan(t, httpExporter(t, r), "GET /", id)
		}
	}()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	start := time.Now()
	missing := r.WaitForSpans(ctx, []string{ids[0].String(), ids[1].String()}, 0, 0)
	assert.Empty(t, missing)
	assert.Less(t, time.Since(start), 5*time.Second, "must return on arrival, not at the deadline")
}

func TestWaitForSpansTimeoutReturnsMissing(t *testing.T) {
	r := startTestReceiver(t, Options{})
	sendServerSpan(t, httpExporter(t, r), "GET /", traceID(1))
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	missing := r.WaitForSpans(ctx, []string{traceID(1).String(), traceID(2).String()}, 0, 0)
	assert.Equal(t, []string{traceID(2).String()}, missing)
	assert.GreaterOrEqual(t, time.Since(start), 250*time.Millisecond)
	assert.Less(t, time.Since(start), 3*time.Second)
}

func TestWaitForSpansQuiet(t *testing.T) {
	tests := []struct {
		name      string
		minServer int
		wantQuick bool // ends on quiet, well before the 1.5s deadline
	}{
		{"enough server spans, then quiet", 1, true},
		{"too few server spans: waits for ctx", 2, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := startTestReceiver(t, Options{})
			sendServerSpan(t, httpExporter(t, r), "GET /", traceID(1))
			ctx, cancel := context.WithTimeout(t.Context(), 1500*time.Millisecond)
			defer cancel()
			start := time.Now()
			missing := r.WaitForSpans(ctx, []string{traceID(9).String()}, tt.minServer, 200*time.Millisecond)
			took := time.Since(start)
			assert.Equal(t, []string{traceID(9).String()}, missing)
			assert.GreaterOrEqual(t, took, 200*time.Millisecond, "quiet counts from the call, not the last arrival")
			if tt.wantQuick {
				assert.Less(t, took, time.Second)
			} else {
				assert.GreaterOrEqual(t, took, 1400*time.Millisecond)
			}
		})
	}
}

func TestWaitForSpansQuietRestartsOnArrival(t *testing.T) {
	r := startTestReceiver(t, Options{})
	go func() {
		for i := range 4 {
			time.Sleep(150 * time.Millisecond)
			sendServerSpan(t, httpExporter(t, r), "GET /", traceID(byte(10+i)))
		}
	}()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	start := time.Now()
	r.WaitForSpans(ctx, []string{traceID(99).String()}, 1, 400*time.Millisecond)
	// Spans arrive every 150ms for 600ms; a 400ms quiet can only start after the last.
	assert.GreaterOrEqual(t, time.Since(start), 900*time.Millisecond)
	assert.Len(t, r.Received().All(), 4)
}

func TestShutdownWakesWaiter(t *testing.T) {
	r, err := Start(t.Context(), Options{})
	require.NoError(t, err)
	done := make(chan []string)
	go func() { done <- r.WaitForSpans(context.Background(), []string{"x"}, 0, 0) }()
	time.Sleep(50 * time.Millisecond)
	require.NoError(t, r.Shutdown(t.Context()))
	require.NoError(t, r.Shutdown(t.Context()), "idempotent")
	select {
	case missing := <-done:
		assert.Equal(t, []string{"x"}, missing)
	case <-time.After(5 * time.Second):
		t.Fatal("waiter not woken by Shutdown")
	}
}

func post(t *testing.T, url, contentType string, body []byte) (int, string) {
	t.Helper()
	resp, err := http.Post(url, contentType, bytes.NewReader(body))
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	return resp.StatusCode, string(b)
}

func TestReceiverRejectsGarbage(t *testing.T) {
	r := startTestReceiver(t, Options{MaxRequestBytes: 4096})
	tests := []struct {
		name, path, contentType string
		body                    []byte
	}{
		{"protobuf garbage", "/v1/traces", "application/x-protobuf", []byte("\xff\xff\xff\xffnot a protobuf")},
		{"json garbage", "/v1/traces", "application/json", []byte(`{"resourceSpans": [{"scopeSpans": "nope"`)},
		{"unknown content type", "/v1/traces", "text/plain", []byte("hello")},
		{"logs garbage", "/v1/logs", "application/x-protobuf", []byte("\xff\xff\xff")},
		{"too large", "/v1/traces", "application/x-protobuf", bytes.Repeat([]byte{0}, 64<<10)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := post(t, r.HTTPEndpoint()+tt.path, tt.contentType, tt.body)
			assert.GreaterOrEqual(t, status, 400, body)
			assert.Less(t, status, 500, body)
		})
	}
	assert.Empty(t, r.Received().All())
	assert.Empty(t, r.Received().AllRecords())
	// Still serving after the garbage.
	sendServerSpan(t, httpExporter(t, r), "GET /", traceID(1))
	assert.Len(t, r.Received().All(), 1)
}

func TestReceiverCapsDropAndReport(t *testing.T) {
	r := startTestReceiver(t, Options{MaxSpoolBytes: 3 * oneSpanBytes(t), MaxMetrics: 1})
	for i := range 5 {
		sendServerSpan(t, httpExporter(t, r), "GET /", traceID(byte(i)))
	}
	assert.Len(t, r.Received().All(), 3)

	ld := plog.NewLogs()
	lrs := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	for _, body := range []string{"a", "b", "c", "d"} {
		lrs.AppendEmpty().Body().SetStr(body)
	}
	lb, err := plogotlp.NewExportRequestFromLogs(ld).MarshalProto()
	require.NoError(t, err)
	status, _ := post(t, r.HTTPEndpoint()+"/v1/logs", "application/x-protobuf", lb)
	require.Equal(t, http.StatusOK, status)

	md := pmetric.NewMetrics()
	ms := md.ResourceMetrics().AppendEmpty().ScopeMetrics().AppendEmpty().Metrics()
	for _, name := range []string{"m1", "m2", "m3"} {
		ms.AppendEmpty().SetName(name)
		ms.At(ms.Len() - 1).SetEmptyGauge().DataPoints().AppendEmpty().SetIntValue(1)
	}
	mb, err := pmetricotlp.NewExportRequestFromMetrics(md).MarshalJSON()
	require.NoError(t, err)
	status, _ = post(t, r.HTTPEndpoint()+"/v1/metrics", "application/json", mb)
	require.Equal(t, http.StatusOK, status)

	assert.Empty(t, r.Received().AllRecords(), "the spool is full: records go too")
	metrics := r.Metrics()
	require.Len(t, metrics, 1)
	assert.Equal(t, checks.OTLPMetric{Name: "m1", Type: "Gauge", Resource: map[string]any{}}, metrics[0])

	limit := fmt.Sprintf("the spooled spans and records reached the limit of %d bytes", 3*oneSpanBytes(t))
	assert.Equal(t, []checks.Problem{
		{Phase: "limit", Message: "2 spans dropped: " + limit},
		{Phase: "limit", Message: "4 OTLP log records dropped: " + limit},
		{Phase: "limit", Message: "2 OTLP metrics dropped past the limit of 1"},
	}, r.Problems())

	// Server spans past the cap still count for waiting: trace 4 was dropped
	// from the store but did arrive.
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()
	assert.Empty(t, r.WaitForSpans(ctx, []string{traceID(4).String()}, 0, 0))
}

func TestReceiverGRPCMessageCap(t *testing.T) {
	r := startTestReceiver(t, Options{MaxRequestBytes: 1}) // rounds up to 1 MiB for gRPC
	exp, err := otlptracegrpc.New(t.Context(), otlptracegrpc.WithEndpoint(r.GRPCEndpoint()), otlptracegrpc.WithInsecure(),
		otlptracegrpc.WithRetry(otlptracegrpc.RetryConfig{Enabled: false}))
	require.NoError(t, err)
	defer func() { _ = exp.Shutdown(context.Background()) }()
	stub := func(attr string) []sdktrace.ReadOnlySpan {
		tp := sdktrace.NewTracerProvider()
		_, span := tp.Tracer("t").Start(context.Background(), "big", trace.WithAttributes(attribute.String("blob", attr)))
		span.End()
		return []sdktrace.ReadOnlySpan{span.(sdktrace.ReadOnlySpan)}
	}
	err = exp.ExportSpans(t.Context(), stub(strings.Repeat("x", 2<<20)))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "ResourceExhausted")
	assert.Empty(t, r.Received().All())
	require.NoError(t, exp.ExportSpans(t.Context(), stub("small")))
	assert.Len(t, r.Received().All(), 1)
}

// TestSpansAreSpooledAndReadBack: every span is spooled and read back in
// arrival order; Only keeps one service's, Kept the first few.
func TestSpansAreSpooledAndReadBack(t *testing.T) {
	r := startTestReceiver(t, Options{})
	for i := range 20 {
		sendServerSpan(t, httpExporter(t, r), fmt.Sprintf("GET /%d", i), traceID(byte(i)))
	}
	spans := r.Received()
	require.Equal(t, 20, spans.Count())
	all := spans.All()
	require.Len(t, all, 20)
	for i, s := range all {
		assert.Equal(t, fmt.Sprintf("GET /%d", i), s.Name)
	}
	assert.Len(t, spans.Kept(5), 5)
	assert.Equal(t, "svc-under-test", r.Service())
	assert.Equal(t, 20, spans.Only("svc-under-test").Count())
	other := spans.Only("orders")
	assert.Equal(t, 0, other.Count())
	assert.Equal(t, 20, other.Others())
	assert.Empty(t, other.All())

	ld := plog.NewLogs()
	for _, svc := range []string{"orders", "users"} {
		rl := ld.ResourceLogs().AppendEmpty()
		rl.Resource().Attributes().PutStr("service.name", svc)
		rl.ScopeLogs().AppendEmpty().LogRecords().AppendEmpty().Body().SetStr("hello from " + svc)
	}
	lb, err := plogotlp.NewExportRequestFromLogs(ld).MarshalProto()
	require.NoError(t, err)
	status, _ := post(t, r.HTTPEndpoint()+"/v1/logs", "application/x-protobuf", lb)
	require.Equal(t, http.StatusOK, status)
	got := r.Received()
	assert.Equal(t, 2, got.Records())
	recs := got.Only("users").AllRecords()
	require.Len(t, recs, 1)
	assert.Equal(t, "hello from users", recs[0].Body)
	j := checks.NewJudge(&checks.Evidence{}, nil, checks.Options{})
	n, err := got.Judge(j)
	require.NoError(t, err)
	assert.Equal(t, 20, n)
	judged := j.Result().Judged
	assert.Equal(t, 20, judged.Spans)
	assert.Equal(t, 2, judged.LogRecords)
}
