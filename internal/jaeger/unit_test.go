package jaeger

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/encoding"
	grpcproto "google.golang.org/grpc/encoding/proto"

	"github.com/obslint/obslint/checks"
)

func TestParseAddr(t *testing.T) {
	tests := []struct {
		addr     string
		want     API
		api      API
		hostport string
		scheme   string
		err      string
	}{
		{addr: "127.0.0.1:16685", api: APIAuto, hostport: "127.0.0.1:16685", scheme: "http"},
		{addr: "127.0.0.1:16685", want: APIGRPC, api: APIGRPC, hostport: "127.0.0.1:16685", scheme: "http"},
		{addr: "grpc://jaeger:16685", api: APIGRPC, hostport: "jaeger:16685", scheme: "http"},
		{addr: "http://jaeger:16686/", api: APIHTTP, hostport: "jaeger:16686", scheme: "http"},
		{addr: "HTTPS://jaeger:443", api: APIHTTP, hostport: "jaeger:443", scheme: "https"},
		{addr: ":16686", want: APIHTTP, api: APIHTTP, hostport: "127.0.0.1:16686", scheme: "http"},
		{addr: "grpc://jaeger:16685", want: APIHTTP, err: "asks for the grpc API but http was chosen"},
		{addr: "ftp://jaeger:21", err: `unknown scheme "ftp"`},
		{addr: "jaeger", err: "want host:port"},
		{addr: "", err: "want host:port"},
		{addr: "jaeger:1", want: "thrift", err: `unknown API "thrift"`},
	}
	for _, tt := range tests {
		t.Run(tt.addr+"/"+string(tt.want), func(t *testing.T) {
			api, hostport, scheme, err := parseAddr(tt.addr, tt.want)
			if tt.err != "" {
				require.ErrorContains(t, err, tt.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.api, api)
			assert.Equal(t, tt.hostport, hostport)
			assert.Equal(t, tt.scheme, scheme)
		})
	}
}

func TestParseIDs(t *testing.T) {
	got := parseIDs([]string{
		"4BF92F3577B34DA6A3CE929D0E0E4736",
		"4bf92f3577b34da6a3ce929d0e0e4736", // duplicate once lowercased
		"xyz",
		strings.Repeat("0", 32),
		"4bf92f3577b34da6a3ce929d0e0e47",
	})
	require.Len(t, got, 4)
	assert.Equal(t, "4bf92f3577b34da6a3ce929d0e0e4736", got[0].id)
	assert.False(t, got[0].invalid)
	assert.Equal(t, byte(0x4b), got[0].raw[0])
	for _, tr := range got[1:] {
		assert.True(t, tr.invalid, tr.id)
	}
}

func span(id, parent, kind string) checks.Span {
	return checks.Span{TraceID: "t", SpanID: id, ParentSpanID: parent, Kind: kind, Name: "op-" + id, Start: time.Unix(0, 0)}
}

func TestShapeProblems(t *testing.T) {
	tests := []struct {
		name     string
		spans    []checks.Span
		injected string
		want     []string
	}{
		{
			name:  "server span under the injected parent, child under it",
			spans: []checks.Span{span("a", "p", "SERVER"), span("b", "a", "INTERNAL")},
		},
		{
			name:     "the given injected parent is the one allowed",
			spans:    []checks.Span{span("a", "p", "SERVER"), span("b", "q", "INTERNAL")},
			injected: "q",
			want:     []string{`span "op-a" (a)'s parent p is not in the trace`},
		},
		{
			name:  "child whose parent never arrived",
			spans: []checks.Span{span("a", "p", "SERVER"), span("b", "gone", "INTERNAL")},
			want:  []string{`span "op-b" (b)'s parent gone is not in the trace`},
		},
		{
			name:  "no server span",
			spans: []checks.Span{span("b", "gone", "INTERNAL"), span("c", "b", "CLIENT")},
			want: []string{
				"came back with 2 spans and no SERVER span",
				`span "op-b" (b)'s parent gone is not in the trace`,
			},
		},
		{
			name:  "root server span without a parent",
			spans: []checks.Span{span("a", "", "SERVER")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			probs := shapeProblems(&trace{id: "4bf9", spans: tt.spans}, tt.injected)
			require.Len(t, probs, len(tt.want), "%v", probs)
			for i, w := range tt.want {
				assert.Contains(t, probs[i].Message, "trace 4bf9")
				assert.Contains(t, probs[i].Message, w)
				assert.Equal(t, "traces", probs[i].Phase)
			}
		})
	}
}

func TestShapeProblemsBounded(t *testing.T) {
	spans := []checks.Span{span("a", "p", "SERVER")}
	for i := range 20 {
		spans = append(spans, span(string(rune('b'+i)), "gone", "INTERNAL"))
	}
	probs := shapeProblems(&trace{id: "4bf9", spans: spans}, "")
	require.Len(t, probs, maxOrphanProblems+1)
	assert.Contains(t, probs[maxOrphanProblems].Message, "15 more spans")
}

func TestCapSpans(t *testing.T) {
	a := &trace{id: "a", spans: []checks.Span{span("1", "", "SERVER"), span("2", "1", "CLIENT")}}
	b := &trace{id: "b", spans: []checks.Span{span("3", "", "SERVER"), span("4", "3", "CLIENT"), span("5", "3", "CLIENT")}}
	capSpans([]*trace{a, b}, 3)
	assert.Len(t, a.spans, 2)
	assert.Empty(t, a.limitNote)
	assert.Len(t, b.spans, 1)
	assert.True(t, b.done)
	assert.Equal(t, "kept 1 of its 3 spans (span limit 3 over all traces)", b.limitNote)
}

func TestFetchNothing(t *testing.T) {
	c := &Client{source: "Jaeger api_v2 gRPC 127.0.0.1:1"}
	start := time.Now()
	res := c.Fetch(t.Context(), nil, FetchOptions{})
	assert.Less(t, time.Since(start), time.Second, "nothing to fetch must not wait for the timeout")
	assert.Equal(t, Result{Source: "Jaeger api_v2 gRPC 127.0.0.1:1"}, res)
}

// The gogo codec is per connection: the process-wide "proto" codec, which
// the embedded OTLP gRPC server uses, must stay the standard one.
func TestGogoCodecNotGlobal(t *testing.T) {
	c, err := New("grpc://127.0.0.1:1", Options{DialTimeout: 200 * time.Millisecond})
	require.Error(t, err)
	assert.Nil(t, c)
	_, isGogo := encoding.GetCodecV2(grpcproto.Name).(gogoCodec)
	assert.False(t, isGogo)
}
