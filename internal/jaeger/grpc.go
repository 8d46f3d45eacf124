package jaeger

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"

	gogoproto "github.com/gogo/protobuf/proto"
	model "github.com/jaegertracing/jaeger-idl/model/v1"
	"github.com/jaegertracing/jaeger-idl/proto-gen/api_v2"
	jaegertranslator "github.com/open-telemetry/opentelemetry-collector-contrib/pkg/translator/jaeger"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/encoding"
	grpcproto "google.golang.org/grpc/encoding/proto"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/status"

	"github.com/obslint/obslint/checks"
)

// gogoCodec marshals jaeger-idl's gogo-generated messages with gogo and
// everything else with the standard codec. It is set per connection
// (grpc.ForceCodecV2), never registered globally: the same process runs the
// collector's OTLP gRPC server, whose "proto" codec must stay untouched.
// Without it GetTrace panics: "invalid Go type model.TraceID for field
// jaeger.api_v2.GetTraceRequest.trace_id".
type gogoCodec struct{ fallback encoding.CodecV2 }

func (gogoCodec) Name() string { return grpcproto.Name }

func isJaegerIDL(v any) bool {
	t := reflect.TypeOf(v)
	if t == nil {
		return false
	}
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return strings.HasPrefix(t.PkgPath(), "github.com/jaegertracing/jaeger-idl/")
}

func (c gogoCodec) Marshal(v any) (mem.BufferSlice, error) {
	if m, ok := v.(gogoproto.Message); ok && isJaegerIDL(v) {
		b, err := gogoproto.Marshal(m)
		if err != nil {
			return nil, err
		}
		return mem.BufferSlice{mem.SliceBuffer(b)}, nil
	}
	return c.fallback.Marshal(v)
}

func (c gogoCodec) Unmarshal(data mem.BufferSlice, v any) error {
	if m, ok := v.(gogoproto.Message); ok && isJaegerIDL(v) {
		return gogoproto.Unmarshal(data.Materialize(), m)
	}
	return c.fallback.Unmarshal(data, v)
}

// newGRPC connects to the api_v2 QueryService and checks it answers.
func newGRPC(ctx context.Context, hostport string) (*Client, error) {
	conn, err := grpc.NewClient(hostport,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(
			grpc.ForceCodecV2(gogoCodec{fallback: encoding.GetCodecV2(grpcproto.Name)}),
			grpc.MaxCallRecvMsgSize(maxBodyBytes),
		))
	if err != nil {
		return nil, err
	}
	qc := api_v2.NewQueryServiceClient(conn)
	if _, err := qc.GetServices(ctx, &api_v2.GetServicesRequest{}); err != nil {
		conn.Close()
		return nil, fmt.Errorf("GetServices on %s: %w", hostport, grpcErr(err))
	}
	return &Client{
		api:    APIGRPC,
		source: "Jaeger api_v2 gRPC " + hostport,
		conn:   conn,
		query:  qc,
	}, nil
}

// grpcErr shortens the usual transport failures to what a user can act on.
func grpcErr(err error) error {
	st, ok := status.FromError(err)
	if !ok {
		return err
	}
	switch st.Code() {
	case codes.Unimplemented:
		return fmt.Errorf("answers gRPC but is not a Jaeger query service (%s)", st.Message())
	case codes.DeadlineExceeded:
		return errors.New("no answer in time")
	}
	return fmt.Errorf("%s: %s", st.Code(), st.Message())
}

func (c *Client) getTraceGRPC(ctx context.Context, id [16]byte, limit int) ([]checks.Span, bool, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // ends the stream when we stop reading early
	stream, err := c.query.GetTrace(ctx, &api_v2.GetTraceRequest{
		TraceID:   model.NewTraceID(binary.BigEndian.Uint64(id[:8]), binary.BigEndian.Uint64(id[8:])),
		RawTraces: true, // as stored: no clock-skew or other adjustments
	})
	if err != nil {
		return nil, false, fmt.Errorf("GetTrace: %w", grpcErr(err))
	}
	var spans []*model.Span
	for {
		chunk, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if status.Code(err) == codes.NotFound {
			return nil, false, nil
		}
		if err != nil {
			return nil, false, fmt.Errorf("GetTrace: %w", grpcErr(err))
		}
		for i := range chunk.Spans {
			spans = append(spans, &chunk.Spans[i])
		}
		if len(spans) > limit {
			return nil, true, fmt.Errorf("trace has more than %d spans (the span limit)", limit)
		}
	}
	if len(spans) == 0 {
		return nil, false, nil
	}
	td, err := jaegertranslator.ProtoToTraces([]*model.Batch{{Spans: spans}})
	if err != nil {
		return nil, true, fmt.Errorf("translate api_v2 spans: %w", err)
	}
	return checks.SpansFromTraces(td), true, nil
}
