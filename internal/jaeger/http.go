package jaeger

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/obslint/obslint/checks"
)

// newHTTP checks that base serves the api_v3 HTTP gateway.
func newHTTP(ctx context.Context, base string, timeout time.Duration) (*Client, error) {
	c := &Client{
		api:    APIHTTP,
		source: "Jaeger api_v3 HTTP " + base,
		base:   base,
		http: &http.Client{
			// Never follow a redirect off the address the user gave.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
			Transport:     &http.Transport{ResponseHeaderTimeout: max(timeout, requestTimeout), MaxIdleConnsPerHost: fetchConcurrency},
		},
	}
	body, code, err := c.get(ctx, "/api/v3/services", 1<<20)
	if err != nil {
		c.Close()
		return nil, err
	}
	if code != http.StatusOK {
		c.Close()
		return nil, fmt.Errorf("GET %s/api/v3/services: HTTP %d %s", base, code, snippet(body))
	}
	// An empty Jaeger answers {}: proto3 JSON leaves out empty lists.
	var services struct {
		Services []string `json:"services"`
	}
	if err := json.Unmarshal(body, &services); err != nil || !isObject(body) {
		c.Close()
		return nil, fmt.Errorf("GET %s/api/v3/services: not a Jaeger api_v3 answer (want {\"services\": [...]}, got %s)", base, snippet(body))
	}
	return c, nil
}

// get does one GET and reads at most limit bytes of the body.
func (c *Client) get(ctx context.Context, path string, limit int64) ([]byte, int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path, nil)
	if err != nil {
		return nil, 0, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, 0, fmt.Errorf("GET %s%s: no answer in time", c.base, path)
		}
		return nil, 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, resp.StatusCode, fmt.Errorf("GET %s%s: reading body: %w", c.base, path, err)
	}
	if int64(len(body)) > limit {
		return nil, resp.StatusCode, fmt.Errorf("GET %s%s: response larger than %d bytes", c.base, path, limit)
	}
	return body, resp.StatusCode, nil
}

func (c *Client) getTraceHTTP(ctx context.Context, id [16]byte, limit int) ([]checks.Span, bool, error) {
	path := "/api/v3/traces/" + hex.EncodeToString(id[:]) + "?raw_traces=true"
	body, code, err := c.get(ctx, path, maxBodyBytes)
	if err != nil {
		return nil, false, err
	}
	switch code {
	case http.StatusOK:
	case http.StatusNotFound: // api_v3's "no such trace (yet)"
		return nil, false, nil
	default:
		return nil, false, fmt.Errorf("HTTP %d %s", code, snippet(body))
	}
	var env struct {
		Result json.RawMessage `json:"result"`
	}
	if err := json.Unmarshal(body, &env); err != nil || len(env.Result) == 0 || string(env.Result) == "null" {
		return nil, false, fmt.Errorf("not a Jaeger api_v3 trace (want {\"result\": <OTLP JSON>}, got %s)", snippet(body))
	}
	td, err := (&ptrace.JSONUnmarshaler{}).UnmarshalTraces(env.Result)
	if err != nil {
		return nil, false, fmt.Errorf("result is not OTLP JSON: %w", err)
	}
	if n := td.SpanCount(); n > limit {
		return nil, true, fmt.Errorf("trace has %d spans, more than the span limit %d", n, limit)
	}
	if td.SpanCount() == 0 {
		return nil, false, nil
	}
	return checks.SpansFromTraces(td), true, nil
}

func isObject(b []byte) bool {
	var m map[string]json.RawMessage
	return json.Unmarshal(b, &m) == nil && m != nil
}

// snippet quotes the start of a body for an error message.
func snippet(b []byte) string {
	const n = 120
	s := strings.ToValidUTF8(strings.TrimSpace(string(b)), "?")
	if len(s) > n {
		s = s[:n] + "…"
	}
	if s == "" {
		return "(empty body)"
	}
	return fmt.Sprintf("%q", s)
}
