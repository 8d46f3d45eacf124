package conformance

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/obslint/obslint/checks"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor/processortest"
)

// BenchmarkConsumeTraces compares the processor's hot path with handing the
// batch straight to a no-op consumer: batches of 100 spans from 1 or 50
// services. The ratio of the two ns/op is the processor's overhead on top of
// the pipeline's own work (receiving and decoding is not in either).
func BenchmarkConsumeTraces(b *testing.B) {
	for _, services := range []int{1, 50} {
		batches := make([]ptrace.Traces, services)
		for i := range batches {
			batches[i] = spanBatch(fmt.Sprintf("svc-%d", i), 100, 8)
		}
		b.Run(fmt.Sprintf("nop/services=%d", services), func(b *testing.B) {
			next := consumertest.NewNop()
			benchConsume(b, next, batches)
		})
		b.Run(fmt.Sprintf("conformance/services=%d", services), func(b *testing.B) {
			cfg := NewDefaultConfig()
			cfg.Engine = b.Name()
			f := NewFactory()
			p, err := f.CreateTraces(context.Background(), processortest.NewNopSettings(f.Type()), cfg, consumertest.NewNop())
			require.NoError(b, err)
			require.NoError(b, p.Start(context.Background(), componenttest.NewNopHost()))
			defer func() { require.NoError(b, p.Shutdown(context.Background())) }()
			benchConsume(b, p, batches)
		})
		// What an otlp receiver does for every batch anyway: decode it.
		// Against this the processor's share is the overhead a pipeline sees.
		wire := make([][]byte, services)
		for i, td := range batches {
			var err error
			wire[i], err = (&ptrace.ProtoMarshaler{}).MarshalTraces(td)
			require.NoError(b, err)
		}
		b.Run(fmt.Sprintf("decode+nop/services=%d", services), func(b *testing.B) {
			benchDecode(b, consumertest.NewNop(), wire)
		})
		b.Run(fmt.Sprintf("decode+conformance/services=%d", services), func(b *testing.B) {
			cfg := NewDefaultConfig()
			cfg.Engine = b.Name()
			f := NewFactory()
			p, err := f.CreateTraces(context.Background(), processortest.NewNopSettings(f.Type()), cfg, consumertest.NewNop())
			require.NoError(b, err)
			require.NoError(b, p.Start(context.Background(), componenttest.NewNopHost()))
			defer func() { require.NoError(b, p.Shutdown(context.Background())) }()
			benchDecode(b, p, wire)
		})
	}
}

// BenchmarkJudgeEverySpan is what judging every span on the pipeline's
// path would cost, against decoding alone (what an otlp receiver does for
// every batch): flattening each span into checks.Span and feeding it to
// the span feed of the collector's rules (index, span judges, no window,
// no copy). The ratio of the two ns/span says why the engine judges a
// budget of copied spans per second rather than all of them.
func BenchmarkJudgeEverySpan(b *testing.B) {
	td := spanBatch("svc", 100, 8)
	wire, err := (&ptrace.ProtoMarshaler{}).MarshalTraces(td)
	require.NoError(b, err)
	b.Run("decode", func(b *testing.B) { benchDecode(b, consumertest.NewNop(), [][]byte{wire}) })
	b.Run("decode+flatten", func(b *testing.B) {
		c, err := consumer.NewTraces(func(_ context.Context, td ptrace.Traces) error {
			checks.SpansFromTraces(td)
			return nil
		})
		require.NoError(b, err)
		benchDecode(b, c, [][]byte{wire})
	})
	b.Run("decode+flatten+judge", func(b *testing.B) {
		ev := &checks.Evidence{Target: checks.Target{Service: "svc"}, Captured: checks.Captured{Traces: true}}
		feed := checks.NewSpanFeed(ev, collectorRules(), checks.Options{}, 0)
		c, err := consumer.NewTraces(func(_ context.Context, td ptrace.Traces) error {
			spans := checks.SpansFromTraces(td)
			for i := range spans {
				feed.Span(&spans[i])
			}
			return nil
		})
		require.NoError(b, err)
		benchDecode(b, c, [][]byte{wire})
	})
}

func benchDecode(b *testing.B, c consumer.Traces, wire [][]byte) {
	ctx := context.Background()
	b.ReportAllocs()
	var u ptrace.ProtoUnmarshaler
	i := 0
	for b.Loop() {
		td, err := u.UnmarshalTraces(wire[i%len(wire)])
		if err != nil {
			b.Fatal(err)
		}
		if err := c.ConsumeTraces(ctx, td); err != nil {
			b.Fatal(err)
		}
		i++
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*100), "ns/span")
}

func benchConsume(b *testing.B, c consumer.Traces, batches []ptrace.Traces) {
	ctx := context.Background()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if err := c.ConsumeTraces(ctx, batches[i%len(batches)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*100), "ns/span")
}

// BenchmarkEvaluateFullWindow judges one service whose window is full
// (max_spans_per_service spans and as many JSON log lines): the background
// cost of one service per evaluate_every.
func BenchmarkEvaluateFullWindow(b *testing.B) {
	e := testEngine(b, func(c *Config) { c.EvaluateEvery = c.Window })
	for i := 0; i < defaultMaxSpans/100; i++ {
		e.ConsumeTraces(spanBatch("svc", 100, 8))
	}
	var lines []checks.LogLine
	for i := 0; i < defaultMaxLogRecords; i++ {
		lines = append(lines, checks.LogLine{Source: "stdout", Raw: `{"level":"info","message":"handled","timestamp":"2026-11-25T19:10:21.002Z","trace_id":"4bf92f3577b34da6a3ce929d0e0e4736"}`})
	}
	e.ConsumeLogs(logsOf(lines, "svc"))
	require.Equal(b, defaultMaxSpans, e.Stats().Spans)
	// first: the spans were never judged (the evaluation after they
	// arrived); again: they were, and only the lines and the merge of the
	// buckets' span state are left (every later evaluation of the window).
	for _, again := range []bool{false, true} {
		b.Run(map[bool]string{false: "first", true: "again"}[again], func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				e.mu.Lock()
				s := e.services["svc"]
				s.version++
				if !again {
					for _, bk := range s.buckets {
						bk.feed, bk.fedSpans, bk.fedRecords = nil, 0, 0
					}
				}
				e.mu.Unlock()
				e.EvaluateNow()
			}
		})
	}
}
