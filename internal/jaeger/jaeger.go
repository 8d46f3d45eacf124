// Package jaeger pulls the traces obslint injected back out of a Jaeger
// query service (api_v2 gRPC GetTrace, or api_v3 HTTP), as checks.Span.
//
// CONTRACT (fixed; the audit front door is written against it):
//
//	c, err := jaeger.New(addr, jaeger.Options{API: jaeger.APIAuto})
//	res := c.Fetch(ctx, traceIDs, jaeger.FetchOptions{...})
//	c.Close()
package jaeger

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/jaegertracing/jaeger-idl/proto-gen/api_v2"
	"google.golang.org/grpc"

	"github.com/obslint/obslint/checks"
)

// API selects the Jaeger query API.
type API string

const (
	APIAuto API = ""     // probe: api_v2 gRPC first, then api_v3 HTTP
	APIGRPC API = "grpc" // api_v2 QueryService.GetTrace (port 16685), gogo codec
	APIHTTP API = "http" // api_v3 HTTP GET /api/v3/traces/{id} (port 16686), OTLP JSON
)

// Defaults for Options and FetchOptions fields left zero.
const (
	DefaultDialTimeout = 5 * time.Second
	DefaultTimeout     = 10 * time.Second
	DefaultPoll        = 250 * time.Millisecond
	DefaultQuiet       = 500 * time.Millisecond
	DefaultMaxSpans    = 10000
)

// Fixed bounds.
const (
	// fetchConcurrency bounds the GetTrace calls in flight during one poll.
	fetchConcurrency = 4
	// requestTimeout bounds one GetTrace call (further cut by the Fetch
	// deadline), so one stuck call cannot eat a whole Fetch.
	requestTimeout = 5 * time.Second
	// maxBodyBytes bounds one api_v3 HTTP response.
	maxBodyBytes = 64 << 20
)

// Options configures a client.
type Options struct {
	API API
	// DialTimeout bounds connecting and the API probe.
	DialTimeout time.Duration
}

// FetchOptions bounds one Fetch.
type FetchOptions struct {
	// Timeout is the most Fetch waits for traces to be complete.
	Timeout time.Duration
	// Poll is the interval between polls (default 250ms).
	Poll time.Duration
	// Quiet: a trace counts complete once it has a SERVER span and its span
	// count has not changed for this long (default 500ms).
	Quiet time.Duration
	// MaxSpans caps the spans kept in total.
	MaxSpans int
	// InjectedParents optionally maps a trace id to the parent span id the
	// probe injected with it: the one parent allowed to be absent from that
	// trace. For a trace id not in the map, the absent parent of its first
	// SERVER span is taken to be the injected one.
	InjectedParents map[string]string
}

// Result is what came back.
type Result struct {
	Spans []checks.Span
	// Missing are ids Jaeger never returned before the timeout.
	Missing []string
	// Partial are ids whose trace came back without a SERVER span or with
	// spans whose parent is absent (other than the probe's injected parent).
	Partial []string
	// Problems explain every missing/partial trace and every transport
	// error, phase "traces".
	Problems []checks.Problem
	// Source describes where the traces came from, e.g.
	// "Jaeger api_v2 gRPC 127.0.0.1:16685".
	Source string
}

// Client talks to one Jaeger query service.
type Client struct {
	api    API
	source string
	// api_v2 gRPC
	conn  *grpc.ClientConn
	query api_v2.QueryServiceClient
	// api_v3 HTTP
	base string // scheme://host:port, no trailing slash
	http *http.Client
}

// ErrUnavailable is returned by New when nothing answers at addr.
var ErrUnavailable = errors.New("jaeger query service unavailable")

// New connects to addr: "grpc://host:port", "http://host:port" or
// "host:port" (API chosen by opt.API, or by probing when APIAuto).
func New(addr string, opt Options) (*Client, error) {
	api, hostport, scheme, err := parseAddr(addr, opt.API)
	if err != nil {
		return nil, err
	}
	timeout := opt.DialTimeout
	if timeout <= 0 {
		timeout = DefaultDialTimeout
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()

	var tried []string
	if api == APIAuto || api == APIGRPC {
		pctx := ctx
		if api == APIAuto {
			// Leave half the budget for the HTTP probe: a port that accepts
			// connections and never answers must not starve it.
			var pcancel context.CancelFunc
			pctx, pcancel = context.WithTimeout(ctx, timeout/2)
			defer pcancel()
		}
		c, err := newGRPC(pctx, hostport)
		if err == nil {
			return c, nil
		}
		tried = append(tried, fmt.Sprintf("api_v2 gRPC: %v", err))
	}
	if api == APIAuto || api == APIHTTP {
		c, err := newHTTP(ctx, scheme+"://"+hostport, timeout)
		if err == nil {
			return c, nil
		}
		tried = append(tried, fmt.Sprintf("api_v3 HTTP: %v", err))
	}
	return nil, fmt.Errorf("%w at %s (tried %s)", ErrUnavailable, addr, strings.Join(tried, "; "))
}

// parseAddr splits an address into the API it forces, host:port and the
// HTTP scheme to use for api_v3.
func parseAddr(addr string, want API) (api API, hostport, scheme string, err error) {
	switch want {
	case APIAuto, APIGRPC, APIHTTP:
	default:
		return "", "", "", fmt.Errorf("jaeger: unknown API %q (want grpc, http or empty for auto)", want)
	}
	api, hostport, scheme = want, strings.TrimSpace(addr), "http"
	if i := strings.Index(hostport, "://"); i >= 0 {
		var forced API
		switch prefix := strings.ToLower(hostport[:i]); prefix {
		case "grpc":
			forced = APIGRPC
		case "http", "https":
			forced, scheme = APIHTTP, prefix
		default:
			return "", "", "", fmt.Errorf("jaeger address %q: unknown scheme %q (want grpc://, http:// or https://)", addr, prefix)
		}
		if want != APIAuto && want != forced {
			return "", "", "", fmt.Errorf("jaeger address %q asks for the %s API but %s was chosen", addr, forced, want)
		}
		api, hostport = forced, strings.TrimSuffix(hostport[i+3:], "/")
	}
	host, port, err := net.SplitHostPort(hostport)
	if err != nil || port == "" {
		return "", "", "", fmt.Errorf("jaeger address %q: want host:port, grpc://host:port or http://host:port", addr)
	}
	if host == "" {
		hostport = net.JoinHostPort("127.0.0.1", port)
	}
	return api, hostport, scheme, nil
}

// Close releases the connection.
func (c *Client) Close() error {
	if c == nil {
		return nil
	}
	if c.http != nil {
		c.http.CloseIdleConnections()
	}
	if c.conn != nil {
		return c.conn.Close()
	}
	return nil
}

// Source says which API and address the client talks to.
func (c *Client) Source() string { return c.source }

// getTrace fetches one trace; found is false while Jaeger does not know the
// id yet. At most limit spans are read (more is an error).
func (c *Client) getTrace(ctx context.Context, id [16]byte, limit int) (spans []checks.Span, found bool, err error) {
	if c.api == APIGRPC {
		return c.getTraceGRPC(ctx, id, limit)
	}
	return c.getTraceHTTP(ctx, id, limit)
}
