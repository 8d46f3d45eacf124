// Package probe sends the probe plan to the service under test: one request
// at a time, each with its own W3C traceparent and, optionally, canary
// secrets that must never show up in its telemetry.
package probe

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/obslint/obslint/checks"
)

// Defaults and bounds.
const (
	DefaultTimeout   = 10 * time.Second
	DefaultGap       = 50 * time.Millisecond
	DefaultUserAgent = "obslint"
	// TraceState is sent with every traced probe; traces/propagation checks
	// that the SERVER span kept it.
	TraceState = "obslint=1"
	// CanaryQueryParam is a realistic secret name: instrumentations record
	// url.query verbatim, so a leak there is a real finding (reference/
	// logs-traces.md, appendix item 3).
	CanaryQueryParam = "access_token"
	maxBodyBytes     = 1 << 20
)

// Spec is one planned request.
type Spec struct {
	Method string
	Path   string // with any query string
	// Route is the declared route template (e.g. /users/:id); "" if unknown.
	Route string
	// Status is the expected status; 0 accepts any.
	Status  int
	Headers map[string]string
	// Body is sent as the request body ("" sends none).
	Body string
}

// ParseSpec parses `GET /users/42 route=/users/:id status=200`: a method, a
// path starting with "/", then key=value options (route, status, and
// header=Name:Value, which may repeat).
func ParseSpec(s string) (Spec, error) {
	fail := func(format string, args ...any) (Spec, error) {
		return Spec{}, fmt.Errorf("probe %q: %s", s, fmt.Sprintf(format, args...))
	}
	f := strings.Fields(s)
	if len(f) > 0 && strings.HasPrefix(f[0], "/") {
		f = append([]string{http.MethodGet}, f...) // the method may be left out
	}
	if len(f) < 2 {
		return fail("want METHOD /path [route=/template] [status=N] [header=Name:Value]")
	}
	sp := Spec{Method: strings.ToUpper(f[0]), Path: f[1]}
	if !validMethod(sp.Method) {
		return fail("%q is not an HTTP method", f[0])
	}
	if !strings.HasPrefix(sp.Path, "/") {
		return fail("path %q must start with /", sp.Path)
	}
	if _, err := url.ParseRequestURI(sp.Path); err != nil {
		return fail("path %q: %v", sp.Path, err)
	}
	for _, opt := range f[2:] {
		k, v, ok := strings.Cut(opt, "=")
		if !ok || v == "" {
			return fail("option %q: want key=value", opt)
		}
		switch k {
		case "route":
			if !strings.HasPrefix(v, "/") {
				return fail("route %q must start with /", v)
			}
			sp.Route = v
		case "status":
			n, err := strconv.Atoi(v)
			if err != nil || n < 100 || n > 599 {
				return fail("status %q: want a number from 100 to 599", v)
			}
			sp.Status = n
		case "header":
			name, val, ok := strings.Cut(v, ":")
			if !ok || name == "" {
				return fail("header %q: want header=Name:Value", v)
			}
			if sp.Headers == nil {
				sp.Headers = map[string]string{}
			}
			sp.Headers[name] = val
		default:
			return fail("unknown option %q (known: route, status, header)", k)
		}
	}
	return sp, nil
}

func validMethod(m string) bool {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions:
		return true
	}
	return false
}

// NotFoundPath is the unknown path probed for a 404. It is fixed, not random,
// so that findings about it keep the same subject from run to run.
const NotFoundPath = "/obslint-not-found"

// DefaultPlan probes only what every service has: its root, its metrics
// endpoint, and one path that cannot exist, which must answer 404 with no
// route. It discovers nothing it cannot see.

func DefaultPlan(metricsPath string) []Spec {
	if metricsPath == "" {
		metricsPath = "/metrics"
	}
	return []Spec{
		{Method: http.MethodGet, Path: "/"},
		{Method: http.MethodGet, Path: metricsPath},
		{Method: http.MethodGet, Path: NotFoundPath, Status: http.StatusNotFound},
	}
}

// NewCanaries returns two fresh fake secrets: a bearer token for the
// Authorization header and a token for the access_token query parameter.
// They look like real tokens so redaction that matches on shape catches them.
func NewCanaries() []checks.Canary {
	return []checks.Canary{
		{Where: "Authorization header", Value: "ocnry_" + randomAlnum(32)},
		{Where: "query parameter " + CanaryQueryParam, Value: "ocnry_" + randomAlnum(32)},
	}
}

// Options configure Run.
type Options struct {
	BaseURL   string // e.g. http://127.0.0.1:3000
	Timeout   time.Duration
	UserAgent string
	// Gap is the pause between probes so log lines attribute cleanly to one
	// probe; 0 means DefaultGap, negative means none.
	Gap time.Duration
	// Progress is told before each probe (1-based); may be nil.
	Progress func(i, n int)
}

// Run sends the specs one after another. Failures (refused, reset,
// timeout) are recorded in Probe.Err and never stop the plan; only ctx does,
// and the probes not sent are then left out.
func Run(ctx context.Context, specs []Spec, canaries []checks.Canary, opt Options) []checks.Probe {
	if opt.Timeout <= 0 {
		opt.Timeout = DefaultTimeout
	}
	if opt.Gap == 0 {
		opt.Gap = DefaultGap
	}
	if opt.UserAgent == "" {
		opt.UserAgent = DefaultUserAgent
	}
	client := &http.Client{
		// Redirects are part of what is judged: the probe records the 3xx.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		// A Transport of our own: no HTTP_PROXY from the environment, and no
		// connections shared with other clients in the process.
		Transport: &http.Transport{},
	}
	defer client.CloseIdleConnections()
	var out []checks.Probe
	for i, sp := range specs {
		if ctx.Err() != nil {
			break
		}
		if i > 0 && opt.Gap > 0 && !sleep(ctx, opt.Gap) {
			break
		}
		if opt.Progress != nil {
			opt.Progress(i+1, len(specs))
		}
		out = append(out, send(ctx, client, sp, canaries, opt))
	}
	return out
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// send makes one request and records what happened.
func send(ctx context.Context, client *http.Client, sp Spec, canaries []checks.Canary, opt Options) checks.Probe {
	p := checks.Probe{
		Method: sp.Method, Path: sp.Path, Route: sp.Route, ExpectStatus: sp.Status,
		TraceID: NewTraceID(), ParentSpanID: NewSpanID(), TraceState: TraceState,
	}
	var bearer string
	if len(canaries) > 0 {
		p.Canaries = true
		bearer, p.Path = applyCanaries(sp.Path, canaries)
	}
	rctx, cancel := context.WithTimeout(ctx, opt.Timeout)
	defer cancel()
	p.Start = time.Now()

	var body io.Reader
	if sp.Body != "" {
		body = strings.NewReader(sp.Body)
	}
	req, err := http.NewRequestWithContext(rctx, sp.Method, strings.TrimRight(opt.BaseURL, "/")+p.Path, body)
	if err != nil {
		p.Err = err.Error()
		p.End = time.Now()
		return p
	}
	for k, v := range sp.Headers {
		req.Header.Set(k, v)
	}
	req.Header.Set("User-Agent", opt.UserAgent)
	req.Header.Set("traceparent", "00-"+p.TraceID+"-"+p.ParentSpanID+"-01")
	req.Header.Set("tracestate", p.TraceState)
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := client.Do(req)
	if err != nil {
		p.Err = describe(ctx, err, opt.Timeout)
		p.End = time.Now()
		return p
	}
	p.Status = resp.StatusCode
	// Read (capped) so the server finishes its response and its span ends.
	if _, err := io.Copy(io.Discard, io.LimitReader(resp.Body, maxBodyBytes)); err != nil {
		p.Err = "reading the response: " + describe(ctx, err, opt.Timeout)
	}
	_ = resp.Body.Close()
	p.End = time.Now()
	return p
}

// applyCanaries returns the bearer canary and the path with the query canary
// appended.
func applyCanaries(path string, canaries []checks.Canary) (bearer, withQuery string) {
	withQuery = path
	for _, c := range canaries {
		switch {
		case c.Where == "Authorization header":
			bearer = c.Value
		case strings.HasPrefix(c.Where, "query parameter "):
			name := strings.TrimPrefix(c.Where, "query parameter ")
			sep := "?"
			if strings.Contains(withQuery, "?") {
				sep = "&"
			}
			withQuery += sep + url.QueryEscape(name) + "=" + url.QueryEscape(c.Value)
		}
	}
	return bearer, withQuery
}

// describe shortens transport errors to what happened; the URL is already
// in the probe's subject. parent tells the run ending from the probe timeout.
func describe(parent context.Context, err error, timeout time.Duration) string {
	var uerr *url.Error
	if errors.As(err, &uerr) {
		err = uerr.Err
	}
	if parent.Err() != nil {
		return "probing stopped: " + parent.Err().Error()
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Sprintf("timeout: no complete response within %s", timeout)
	}
	return err.Error()
}

// NewTraceID returns a random W3C trace id: 32 lowercase hex, never all zero.
func NewTraceID() string { return nonZeroHex(16) }

// NewSpanID returns a random W3C span id: 16 lowercase hex, never all zero.
func NewSpanID() string { return nonZeroHex(8) }

func nonZeroHex(n int) string {
	for {
		b := make([]byte, n)
		_, _ = rand.Read(b) // crypto/rand.Read never fails (Go ≥ 1.24)
		for _, c := range b {
			if c != 0 {
				return hex.EncodeToString(b)
			}
		}
	}
}

const alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

func randomAlnum(n int) string {
	var sb strings.Builder
	for range n {
		sb.WriteByte(alnum[randIntn(len(alnum))])
	}
	return sb.String()
}

// randIntn is uniform: it rejects the bytes that would bias the modulo.
func randIntn(n int) int {
	limit := 256 - 256%n
	var b [1]byte
	for {
		_, _ = rand.Read(b[:])
		if int(b[0]) < limit {
			return int(b[0]) % n
		}
	}
}
