package runner

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/obslint/obslint/checks"
	"github.com/obslint/obslint/checks/catalogue"
	"github.com/obslint/obslint/internal/config"
	"github.com/obslint/obslint/internal/launch"
	"github.com/obslint/obslint/internal/probe"
)

func TestReachable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	require.NoError(t, reachable(context.Background(), "http://"+l.Addr().String(), time.Second))

	port, err := launch.FreePort()
	require.NoError(t, err)
	err = reachable(context.Background(), "http://127.0.0.1:"+strconv.Itoa(port), time.Second)
	require.Error(t, err)
	assert.Equal(t, "connection refused on 127.0.0.1:"+strconv.Itoa(port), err.Error())
}

func TestAuditNothingListeningIsCaptureError(t *testing.T) {
	port, err := launch.FreePort()
	require.NoError(t, err)
	start := time.Now()
	_, err = Audit(context.Background(), AuditSettings{Config: config.Config{URL: "http://127.0.0.1:" + strconv.Itoa(port)}})
	require.ErrorIs(t, err, ErrCapture)
	assert.Contains(t, err.Error(), "nothing answers at http://127.0.0.1:"+strconv.Itoa(port))
	assert.Less(t, time.Since(start), 2*time.Second)
}

func TestAuditBadSources(t *testing.T) {
	_, err := Audit(context.Background(), AuditSettings{})
	assert.ErrorContains(t, err, "no URL to audit")
	_, err = Audit(context.Background(), AuditSettings{Config: config.Config{URL: "http://127.0.0.1:1"}, Logs: "/nonexistent/app.log"})
	assert.ErrorContains(t, err, "--logs /nonexistent/app.log")
	_, err = Audit(context.Background(), AuditSettings{Config: config.Config{URL: "http://127.0.0.1:1"}, Logs: "-"})
	assert.ErrorContains(t, err, "--logs -: no standard input")
}

func TestJudgeable(t *testing.T) {
	ev := &checks.Evidence{
		Probes:  []checks.Probe{{Method: "GET", Path: "/", Err: "connection reset by peer"}},
		Scrapes: []checks.Scrape{{Err: "refused"}},
	}
	err := judgeable(ev, "http://x")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "GET /: connection reset by peer")
	ev.Probes = append(ev.Probes, checks.Probe{Status: 200})
	assert.NoError(t, judgeable(ev, "http://x"), "one answer is enough to judge")
}

func TestKeepService(t *testing.T) {
	users := map[string]any{"service.name": "users"}
	orders := map[string]any{"service.name": "orders"}
	ev := &checks.Evidence{Target: checks.Target{Service: "users"}}
	f := &fetched{spans: []checks.Span{{Name: "a", Resource: users}, {Name: "b", Resource: orders}}}
	got := f.take(ev, 0, 0, 0, "users")
	assert.Equal(t, []checks.Span{{Name: "a", Resource: users}}, got.Kept(10))
	require.Len(t, ev.Problems, 1)
	assert.Equal(t, "--service users: 1 spans of other services were left out", ev.Problems[0].Message)
	assert.Empty(t, keepMetrics([]checks.OTLPMetric{{Name: "a", Resource: orders}}, "users"))

	ev = &checks.Evidence{}
	f.take(ev, 0, 0, 0, "")
	assert.Equal(t, "users", ev.Target.Service, "without --service, the first span names the service")
}

// A target that resets some connections is still judged on everything else,
// and audit sends it nothing but the declared probes and the scrapes.
func TestAuditTargetResettingSomeProbes(t *testing.T) {
	var mu sync.Mutex
	var got []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, r.Method+" "+r.URL.Path)
		mu.Unlock()
		switch r.URL.Path {
		case "/flaky":
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				_ = conn.(*net.TCPConn).SetLinger(0) // RST, not FIN
				_ = conn.Close()
			}
		case "/metrics":
			w.Header().Set("Content-Type", "text/plain; version=0.0.4")
			_, _ = io.WriteString(w, "# HELP up_total Requests.\n# TYPE up_total counter\nup_total 1\n")
		case "/ok":
			_, _ = io.WriteString(w, "ok")
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()

	cfg := config.Config{URL: srv.URL, Probes: []config.Probe{{Path: "/ok"}, {Path: "/flaky"}}}
	cfg.Timeouts.Spans.Duration = 200 * time.Millisecond
	c, err := Audit(context.Background(), AuditSettings{Config: cfg})
	require.NoError(t, err)
	ev := c.Evidence
	require.Len(t, ev.Probes, 3, "the two declared probes and the unknown path")
	assert.Equal(t, 200, ev.Probes[0].Status)
	assert.Equal(t, 0, ev.Probes[1].Status)
	assert.Regexp(t, "reset|EOF", ev.Probes[1].Err)
	assert.Equal(t, 404, ev.Probes[2].Status)
	require.NotEmpty(t, ev.Scrapes)
	ev.Scrapes[0].Parse()
	assert.True(t, ev.Scrapes[0].Parsed(), "the metrics are judged although a probe failed")

	mu.Lock()
	defer mu.Unlock()
	for _, r := range got {
		assert.Contains(t, []string{"GET /ok", "GET /flaky", "GET " + probe.NotFoundPath, "GET /metrics"}, r, "audit sent an undeclared request")
	}
}

// Jaeger down: a problem naming it, the trace rules' reason names it too, and
// the rest of the audit goes on.
func TestAuditJaegerDownJudgesTheRest(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/metrics" {
			_, _ = io.WriteString(w, "# HELP hits_total Hits.\n# TYPE hits_total counter\nhits_total 1\n")
			return
		}
		_, _ = io.WriteString(w, "ok")
	}))
	defer srv.Close()
	port, err := launch.FreePort()
	require.NoError(t, err)
	jaegerAddr := "127.0.0.1:" + strconv.Itoa(port)

	c, err := Audit(context.Background(), AuditSettings{Config: config.Config{URL: srv.URL}, Jaeger: jaegerAddr})
	require.NoError(t, err)
	ev := c.Evidence
	assert.False(t, ev.Captured.Traces)
	require.NotEmpty(t, ev.Problems)
	assert.Contains(t, ev.Problems[0].Message, "Jaeger at "+jaegerAddr+": ")
	ev.Scrapes[0].Parse()
	assert.True(t, ev.Scrapes[0].Parsed())

	res := checks.Run(ev, catalogue.All(), checks.Options{})
	for _, rr := range res.Rules {
		if rr.ID == "traces/received" {
			assert.Equal(t, "Jaeger at "+jaegerAddr+" could not be read (see problems)", rr.Reason)
		}
	}
}
