// Package scrape fetches a metrics endpoint the way a Prometheus server
// would, and turns the answer into a checks.Scrape.
package scrape

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/obslint/obslint/checks"
)

// Accept asks for the classic text format only. Why not OpenMetrics, as
// Prometheus 3 prefers (reference/prometheus.md §0, §2.4, §4.4):
//   - prometheus_client ignores q-values and takes the first clause it can
//     serve, skipping text/plain;version=0.0.4; any openmetrics clause, even
//     at q=0.1, would make every Python service answer OpenMetrics;
//   - the OpenMetrics parser rejects Python's Info and Enum types and is
//     ~600× slower than the text parser;
//   - the naming rules are written against what the text format exposes.
//
// prom-client does no negotiation at all: an OpenMetrics registry answers
// OpenMetrics whatever we ask, and checks.ParseExposition decodes it by its
// Content-Type. */* keeps servers that only know another type answering, so
// the metrics/endpoint rule can report their Content-Type.
const Accept = "text/plain;version=0.0.4;q=1.0,*/*;q=0.1"

// Defaults for Options fields left zero.
const (
	DefaultTimeout  = 10 * time.Second
	DefaultMaxBytes = 32 << 20 // as limits.Default.MaxScrapeBytes
)

// Options bound one fetch.
type Options struct {
	Timeout  time.Duration // whole request, headers and body
	MaxBytes int64         // body cap, after gzip decoding
	// Bodies, when set, takes each body once it is read (see Bodies), so
	// that a series of scrapes does not hold its bodies in memory.
	Bodies *Bodies
}

// client does not set Accept-Encoding itself, so Go's transport asks for gzip
// and decodes it: the cap then applies to the decoded exposition, which is
// what a decompression bomb would inflate.
// Its own Transport also means no HTTP_PROXY from the environment.
//
// Every scrape dials a new connection, as a Prometheus server's scrapes
// mostly do: behind gunicorn or Node's cluster, one keep-alive connection
// always reaches the same worker, which hides workers that each serve their
// own registry (fixtures/services/python-multiworker/README.md).
var client = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}

// Fetch scrapes url once. It never fails: transport problems (refused,
// timeout, body read error) are in Scrape.Err with the URL and what happened.
func Fetch(ctx context.Context, url, phase string, opt Options) checks.Scrape {
	if opt.Timeout <= 0 {
		opt.Timeout = DefaultTimeout
	}
	if opt.MaxBytes <= 0 {
		opt.MaxBytes = DefaultMaxBytes
	}
	ctx, cancel := context.WithTimeout(ctx, opt.Timeout)
	defer cancel()
	start := time.Now()
	failed := func(what string, err error) checks.Scrape {
		return checks.Scrape{URL: url, Phase: phase, Time: start, Duration: time.Since(start),
			Err: fmt.Sprintf("GET %s: %s: %v", url, what, err)}
	}

	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return failed("bad request", err)
	}
	req.Header.Set("Accept", Accept)
	req.Header.Set("User-Agent", "obslint")
	resp, err := client.Do(req)
	if err != nil {
		return failed("no response", err)
	}
	defer resp.Body.Close()

	body, err := io.ReadAll(io.LimitReader(resp.Body, opt.MaxBytes+1))
	if err != nil {
		s := failed("reading the body", err)
		s.Status, s.ContentType = resp.StatusCode, resp.Header.Get("Content-Type")
		return s
	}
	truncated := int64(len(body)) > opt.MaxBytes
	if truncated {
		body = body[:opt.MaxBytes]
	}
	s := checks.NewScrape(url, phase, resp.StatusCode, resp.Header.Get("Content-Type"), body, truncated)
	s.Time, s.Duration = start, time.Since(start)
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		// An error page is not an exposition: parsing it would add a
		// misleading parse error to the status finding. Body stays.
		s.NotParsed = true
	}
	if opt.Bodies != nil {
		opt.Bodies.Keep(&s)
	}
	return s
}

// Series bounds a run of scrapes of one endpoint.
type Series struct {
	N   int           // scrapes at most
	Gap time.Duration // pause before each scrape after the first
}

// FetchSeries scrapes url up to s.N times, s.Gap apart. The scrapes are named
// phase, phase-2, phase-3 …. It stops early at the first scrape that got no
// 2xx answer (a dead or failing endpoint would only repeat it, one timeout
// each), or when ctx ends.
func FetchSeries(ctx context.Context, url, phase string, s Series, opt Options) []checks.Scrape {
	var out []checks.Scrape
	for i := range max(s.N, 1) {
		name := phase
		if i > 0 {
			name = phase + "-" + strconv.Itoa(i+1)
			if !sleep(ctx, s.Gap) {
				break
			}
		}
		sc := Fetch(ctx, url, name, opt)
		out = append(out, sc)
		if sc.Err != "" || sc.Status < 200 || sc.Status > 299 {
			break
		}
	}
	return out
}

// sleep waits d, or less when ctx ends first; it reports whether ctx is
// still live.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
