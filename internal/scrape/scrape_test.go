package scrape

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const exposition = `# HELP http_requests_total Requests.
# TYPE http_requests_total counter
http_requests_total{code="200"} 3
# HELP up_gauge A gauge.
# TYPE up_gauge gauge
up_gauge 1
`

func gzipped(t *testing.T, s string) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	_, err := zw.Write([]byte(s))
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	return b.Bytes()
}

func TestFetch(t *testing.T) {
	tests := []struct {
		name        string
		handler     http.HandlerFunc
		wantStatus  int
		wantCT      string
		wantFams    []string
		wantParseOK bool
	}{
		{
			name: "ok",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
				_, _ = io.WriteString(w, exposition)
			},
			wantStatus: 200, wantCT: "text/plain; version=0.0.4; charset=utf-8",
			wantFams: []string{"http_requests_total", "up_gauge"}, wantParseOK: true,
		},
		{
			name: "gzip",
			handler: func(w http.ResponseWriter, r *http.Request) {
				if !strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
					http.Error(w, "no gzip asked", http.StatusBadRequest)
					return
				}
				w.Header().Set("Content-Type", "text/plain; version=0.0.4")
				w.Header().Set("Content-Encoding", "gzip")
				_, _ = w.Write(gzipped(t, exposition))
			},
			wantStatus: 200, wantCT: "text/plain; version=0.0.4",
			wantFams: []string{"http_requests_total", "up_gauge"}, wantParseOK: true,
		},
		{
			name: "wrong content type still parsed, header kept for the rule",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/html")
				_, _ = io.WriteString(w, exposition)
			},
			wantStatus: 200, wantCT: "text/html",
			wantFams: []string{"http_requests_total", "up_gauge"}, wantParseOK: true,
		},
		{
			name: "openmetrics by content type",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/openmetrics-text; version=1.0.0; charset=utf-8")
				_, _ = io.WriteString(w, "# TYPE jobs counter\njobs_total 1\n# EOF\n")
			},
			wantStatus: 200, wantCT: "application/openmetrics-text; version=1.0.0; charset=utf-8",
			wantFams: []string{"jobs_total"}, wantParseOK: true,
		},
		{
			name: "500 is not parsed",
			handler: func(w http.ResponseWriter, r *http.Request) {
				http.Error(w, "Internal Server Error", http.StatusInternalServerError)
			},
			wantStatus: 500, wantCT: "text/plain; charset=utf-8",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(tt.handler)
			defer srv.Close()
			before := time.Now()
			s := Fetch(t.Context(), srv.URL+"/metrics", "before", Options{Timeout: 5 * time.Second, MaxBytes: 1 << 20})
			assert.Empty(t, s.Err)
			assert.Equal(t, srv.URL+"/metrics", s.URL)
			assert.Equal(t, "before", s.Phase)
			assert.Equal(t, tt.wantStatus, s.Status)
			assert.Equal(t, tt.wantCT, s.ContentType)
			assert.False(t, s.Time.Before(before))
			assert.Positive(t, s.Duration)
			assert.Equal(t, len(s.Body), s.Size)
			assert.False(t, s.Truncated)
			s.Parse() // as the judge will
			assert.Equal(t, tt.wantParseOK, s.Parsed())
			assert.Empty(t, s.ParseErr)
			var names []string
			for _, f := range s.Families {
				names = append(names, f.GetName())
			}
			assert.Equal(t, tt.wantFams, names)
		})
	}
}

func TestFetchSendsTextAccept(t *testing.T) {
	var got string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got = r.Header.Get("Accept") }))
	defer srv.Close()
	Fetch(t.Context(), srv.URL, "x", Options{})
	assert.Equal(t, Accept, got)
	assert.NotContains(t, got, "openmetrics", "prometheus_client would answer OpenMetrics whatever the q-value")
}

func TestFetchTransportErrors(t *testing.T) {
	hang := make(chan struct{})
	defer close(hang)
	hanging := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-hang:
		case <-r.Context().Done():
		}
	}))
	defer hanging.Close()
	hangBody := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, "# TYPE a counter\n")
		w.(http.Flusher).Flush()
		select {
		case <-hang:
		case <-r.Context().Done():
		}
	}))
	defer hangBody.Close()
	refused := httptest.NewServer(http.NotFoundHandler())
	refusedURL := refused.URL
	refused.Close()

	tests := []struct {
		name, url, wantErr string
		wantStatus         int
	}{
		{"refused", refusedURL, "connection refused", 0},
		{"hangs before headers", hanging.URL, "no response", 0},
		{"hangs in the body", hangBody.URL, "reading the body", 200},
		{"bad url", "http://[::1", "bad request", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			s := Fetch(t.Context(), tt.url, "after", Options{Timeout: 300 * time.Millisecond})
			assert.Less(t, time.Since(start), 3*time.Second, "timeout not respected")
			assert.Contains(t, s.Err, tt.wantErr)
			assert.Contains(t, s.Err, tt.url)
			assert.Equal(t, tt.wantStatus, s.Status)
			assert.False(t, s.Parsed())
			assert.Equal(t, "after", s.Phase)
		})
	}
}

func TestFetchCapsHugeBody(t *testing.T) {
	const served = 64 << 20
	line := strings.Repeat("a", 1023) + "\n"
	tests := []struct {
		name string
		gzip bool
	}{{"plain", false}, {"gzip bomb: cap applies after decoding", true}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/plain; version=0.0.4")
				var out io.Writer = w
				if tt.gzip {
					w.Header().Set("Content-Encoding", "gzip")
					zw := gzip.NewWriter(w)
					defer zw.Close()
					out = zw
				}
				for i := 0; i < served/len(line); i++ {
					if _, err := io.WriteString(out, line); err != nil {
						return // the client stopped reading
					}
				}
			}))
			defer srv.Close()
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			s := Fetch(t.Context(), srv.URL, "before", Options{Timeout: 10 * time.Second, MaxBytes: 1 << 20})
			runtime.ReadMemStats(&after)
			assert.Empty(t, s.Err)
			assert.True(t, s.Truncated)
			assert.Equal(t, 1<<20, s.Size)
			assert.Len(t, s.Body, 1<<20)
			assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(served/4), "body must not be read whole")
		})
	}
}

func TestFetchRespectsParentContext(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	s := Fetch(ctx, srv.URL, "x", Options{Timeout: time.Minute})
	assert.NotEmpty(t, s.Err)
	assert.Less(t, time.Since(start), 3*time.Second)
}

// Each scrape must arrive on its own connection: behind gunicorn or Node's
// cluster a reused connection always reaches the same worker.
func TestFetchNewConnectionPerScrape(t *testing.T) {
	var mu sync.Mutex
	conns := map[string]int{} // remote addr → requests seen on it
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		conns[r.RemoteAddr]++
		mu.Unlock()
		_, _ = io.WriteString(w, exposition)
	}))
	defer srv.Close()
	for range 4 {
		s := Fetch(t.Context(), srv.URL, "x", Options{})
		require.Empty(t, s.Err)
	}
	mu.Lock()
	defer mu.Unlock()
	assert.Len(t, conns, 4, "requests per connection: %v", conns)
}

func TestFetchSeries(t *testing.T) {
	var n atomic.Int32
	ok := func(w http.ResponseWriter, r *http.Request) { n.Add(1); _, _ = io.WriteString(w, exposition) }
	tests := []struct {
		name       string
		handler    http.HandlerFunc
		series     Series
		wantPhases []string
	}{
		{"all scrapes, named", ok, Series{N: 4, Gap: time.Millisecond},
			[]string{"after", "after-2", "after-3", "after-4"}},
		{"N zero still scrapes once", ok, Series{}, []string{"after"}},
		{"stops at the first failing answer", func(w http.ResponseWriter, r *http.Request) {
			if n.Add(1) == 2 {
				http.Error(w, "boom", http.StatusInternalServerError)
				return
			}
			_, _ = io.WriteString(w, exposition)
		}, Series{N: 5}, []string{"after", "after-2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n.Store(0)
			srv := httptest.NewServer(tt.handler)
			defer srv.Close()
			got := FetchSeries(t.Context(), srv.URL, "after", tt.series, Options{Timeout: 5 * time.Second})
			var phases []string
			for _, s := range got {
				phases = append(phases, s.Phase)
			}
			assert.Equal(t, tt.wantPhases, phases)
			assert.Equal(t, int32(len(tt.wantPhases)), n.Load(), "requests sent")
		})
	}
}

func TestFetchSeriesStopsOnRefusedAndOnContext(t *testing.T) {
	refused := httptest.NewServer(http.NotFoundHandler())
	url := refused.URL
	refused.Close()
	got := FetchSeries(t.Context(), url, "after", Series{N: 50, Gap: time.Second}, Options{Timeout: time.Second})
	require.Len(t, got, 1, "a refused scrape is not repeated")
	assert.NotEmpty(t, got[0].Err)

	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, exposition) }))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 150*time.Millisecond)
	defer cancel()
	start := time.Now()
	got = FetchSeries(ctx, srv.URL, "after", Series{N: 50, Gap: 100 * time.Millisecond}, Options{})
	assert.Less(t, time.Since(start), 2*time.Second, "the gap must end with the context")
	assert.Less(t, len(got), 5)
}
