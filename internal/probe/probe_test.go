package probe

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/obslint/obslint/checks"
)

func TestParseSpec(t *testing.T) {
	tests := []struct {
		in      string
		want    Spec
		wantErr string
	}{
		{in: "GET /users/42 route=/users/:id status=200",
			want: Spec{Method: "GET", Path: "/users/42", Route: "/users/:id", Status: 200}},
		{in: "  post   /orders?x=1  ", want: Spec{Method: "POST", Path: "/orders?x=1"}},
		{in: "GET / header=X-Tenant:acme header=Accept:application/json",
			want: Spec{Method: "GET", Path: "/", Headers: map[string]string{"X-Tenant": "acme", "Accept": "application/json"}}},
		{in: "/health", want: Spec{Method: "GET", Path: "/health"}},
		{in: "", wantErr: "want METHOD /path"},
		{in: "GET", wantErr: "want METHOD /path"},
		{in: "FETCH /x", wantErr: `"FETCH" is not an HTTP method`},
		{in: "GET users", wantErr: `path "users" must start with /`},
		{in: "GET /x status=abc", wantErr: `status "abc"`},
		{in: "GET /x status=99", wantErr: `status "99"`},
		{in: "GET /x route=users", wantErr: `route "users" must start with /`},
		{in: "GET /x flavour=mint", wantErr: `unknown option "flavour"`},
		{in: "GET /x status", wantErr: `option "status": want key=value`},
		{in: "GET /x header=NoColon", wantErr: `header "NoColon"`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseSpec(tt.in)
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				assert.Contains(t, err.Error(), `"`+tt.in+`"`, "the error names the input")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

var traceparentRE = regexp.MustCompile(`^00-([0-9a-f]{32})-([0-9a-f]{16})-01$`)

// recorder is a test server that records each request.
type recorder struct {
	mu   sync.Mutex
	reqs []*http.Request
}

func (rec *recorder) handle(w http.ResponseWriter, r *http.Request) {
	rec.mu.Lock()
	rec.reqs = append(rec.reqs, r)
	rec.mu.Unlock()
	switch r.URL.Path {
	case "/redirect":
		http.Redirect(w, r, "/elsewhere", http.StatusFound)
	case "/missing":
		http.NotFound(w, r)
	default:
		_, _ = w.Write([]byte("ok"))
	}
}

func (rec *recorder) requests() []*http.Request {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return append([]*http.Request(nil), rec.reqs...)
}

func TestRunHeadersAndTraceparent(t *testing.T) {
	rec := &recorder{}
	srv := httptest.NewServer(http.HandlerFunc(rec.handle))
	defer srv.Close()
	specs := []Spec{
		{Method: "GET", Path: "/users/42", Route: "/users/:id", Status: 200, Headers: map[string]string{"X-Tenant": "acme"}},
		{Method: "GET", Path: "/missing", Status: 404},
		{Method: "GET", Path: "/redirect"},
		{Method: "DELETE", Path: "/"},
	}
	var progress [][2]int
	probes := Run(t.Context(), specs, nil, Options{BaseURL: srv.URL + "/", UserAgent: "obslint/test", Gap: -1,
		Progress: func(i, n int) { progress = append(progress, [2]int{i, n}) }})
	require.Len(t, probes, len(specs))
	assert.Equal(t, [][2]int{{1, 4}, {2, 4}, {3, 4}, {4, 4}}, progress)

	reqs := rec.requests()
	require.Len(t, reqs, len(specs), "the redirect is not followed")
	seen := map[string]bool{}
	for i, p := range probes {
		r := reqs[i]
		assert.Equal(t, specs[i].Method, p.Method)
		assert.Equal(t, specs[i].Path, p.Path)
		assert.Equal(t, specs[i].Route, p.Route)
		assert.Equal(t, specs[i].Status, p.ExpectStatus)
		assert.Empty(t, p.Err)
		assert.False(t, p.Canaries)
		assert.False(t, p.End.Before(p.Start))

		assert.Equal(t, specs[i].Method, r.Method)
		assert.Equal(t, specs[i].Path, r.URL.RequestURI())
		m := traceparentRE.FindStringSubmatch(r.Header.Get("traceparent"))
		require.NotNil(t, m, "traceparent %q", r.Header.Get("traceparent"))
		assert.Equal(t, p.TraceID, m[1])
		assert.Equal(t, p.ParentSpanID, m[2])
		assert.NotEqual(t, "00000000000000000000000000000000", m[1])
		assert.Equal(t, "obslint=1", r.Header.Get("tracestate"))
		assert.Equal(t, "obslint=1", p.TraceState)
		assert.Equal(t, "obslint/test", r.Header.Get("User-Agent"))
		assert.Empty(t, r.Header.Get("Authorization"))
		assert.False(t, seen[p.TraceID], "trace ids must be unique")
		seen[p.TraceID] = true
	}
	assert.Equal(t, "acme", reqs[0].Header.Get("X-Tenant"))
	assert.Equal(t, []int{200, 404, 302, 200}, []int{probes[0].Status, probes[1].Status, probes[2].Status, probes[3].Status})
}

func TestRunCanaries(t *testing.T) {
	rec := &recorder{}
	srv := httptest.NewServer(http.HandlerFunc(rec.handle))
	defer srv.Close()
	canaries := NewCanaries()
	probes := Run(t.Context(), []Spec{{Method: "GET", Path: "/a"}, {Method: "GET", Path: "/b?page=2"}}, canaries, Options{BaseURL: srv.URL, Gap: -1})
	require.Len(t, probes, 2)
	reqs := rec.requests()
	require.Len(t, reqs, 2)
	bearer, token := canaries[0].Value, canaries[1].Value
	for i, r := range reqs {
		assert.Equal(t, "Bearer "+bearer, r.Header.Get("Authorization"))
		assert.Equal(t, token, r.URL.Query().Get("access_token"))
		assert.True(t, probes[i].Canaries)
		assert.Equal(t, r.URL.RequestURI(), probes[i].Path, "Path is what was sent")
	}
	assert.Equal(t, "/a?access_token="+token, probes[0].Path)
	assert.Equal(t, "/b?page=2&access_token="+token, probes[1].Path)
	assert.Equal(t, "2", reqs[1].URL.Query().Get("page"))
}

func TestNewCanaries(t *testing.T) {
	a, b := NewCanaries(), NewCanaries()
	require.Len(t, a, 2)
	assert.Equal(t, "Authorization header", a[0].Where)
	assert.Equal(t, "query parameter access_token", a[1].Where)
	tokenRE := regexp.MustCompile(`^ocnry_[A-Za-z0-9]{32}$`)
	for _, c := range append(a, b...) {
		assert.Regexp(t, tokenRE, c.Value)
	}
	assert.NotEqual(t, a[0].Value, a[1].Value)
	assert.NotEqual(t, a[0].Value, b[0].Value)
}

func TestDefaultPlan(t *testing.T) {
	plan := DefaultPlan("/prom")
	require.Len(t, plan, 3)
	assert.Equal(t, Spec{Method: "GET", Path: "/"}, plan[0])
	assert.Equal(t, Spec{Method: "GET", Path: "/prom"}, plan[1])
	assert.Equal(t, NotFoundPath, plan[2].Path)
	assert.Equal(t, 404, plan[2].Status)
	assert.Empty(t, plan[2].Route)
	assert.Equal(t, "/metrics", DefaultPlan("")[1].Path)
}

func TestRunRecordsFailuresAndContinues(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/reset":
			// Close with SO_LINGER 0: the client sees a TCP reset.
			conn, _, err := w.(http.Hijacker).Hijack()
			if err != nil {
				return
			}
			_ = conn.(*net.TCPConn).SetLinger(0)
			_ = conn.Close()
		case "/slow":
			select {
			case <-r.Context().Done():
			case <-time.After(10 * time.Second):
			}
		default:
			_, _ = w.Write([]byte("ok"))
		}
	}))
	defer srv.Close()
	specs := []Spec{{Method: "GET", Path: "/reset"}, {Method: "GET", Path: "/slow"}, {Method: "GET", Path: "/fine"}}
	start := time.Now()
	probes := Run(t.Context(), specs, nil, Options{BaseURL: srv.URL, Timeout: 300 * time.Millisecond, Gap: -1})
	assert.Less(t, time.Since(start), 5*time.Second)
	require.Len(t, probes, 3, "failures never abort the plan")

	assert.Contains(t, probes[0].Err, "connection reset")
	assert.Zero(t, probes[0].Status)
	assert.Equal(t, "timeout: no complete response within 300ms", probes[1].Err)
	assert.Zero(t, probes[1].Status)
	assert.GreaterOrEqual(t, probes[1].End.Sub(probes[1].Start), 250*time.Millisecond)
	assert.Empty(t, probes[2].Err)
	assert.Equal(t, 200, probes[2].Status)
}

func TestRunRefusedAndGap(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	probes := Run(t.Context(), []Spec{{Method: "GET", Path: "/"}, {Method: "GET", Path: "/"}}, nil, Options{BaseURL: url, Gap: 150 * time.Millisecond})
	require.Len(t, probes, 2)
	for _, p := range probes {
		assert.Contains(t, p.Err, "refused")
	}
	assert.GreaterOrEqual(t, probes[1].Start.Sub(probes[0].End), 150*time.Millisecond, "the gap separates probes")
}

func TestRunStopsWhenContextEnds(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	specs := []Spec{{Method: "GET", Path: "/1"}, {Method: "GET", Path: "/2"}, {Method: "GET", Path: "/3"}}
	start := time.Now()
	probes := Run(ctx, specs, nil, Options{BaseURL: srv.URL, Timeout: time.Minute})
	assert.Less(t, time.Since(start), 3*time.Second)
	require.Len(t, probes, 1)
	assert.Equal(t, "probing stopped: context deadline exceeded", probes[0].Err)
}

func TestIDs(t *testing.T) {
	for range 100 {
		assert.Regexp(t, `^[0-9a-f]{32}$`, NewTraceID())
		assert.Regexp(t, `^[0-9a-f]{16}$`, NewSpanID())
	}
	p := checks.Probe{TraceID: NewTraceID()}
	assert.True(t, p.Traced())
}

func TestRunSendsBody(t *testing.T) {
	got := make(chan string, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- r.Method + " " + string(b)
	}))
	defer srv.Close()
	probes := Run(context.Background(), []Spec{{Method: "POST", Path: "/orders", Body: `{"item":1}`}}, nil, Options{BaseURL: srv.URL, Gap: -1})
	require.Len(t, probes, 1)
	assert.Equal(t, 200, probes[0].Status)
	assert.Equal(t, `POST {"item":1}`, <-got)
}
