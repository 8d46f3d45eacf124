package metrics

import (
	"mime"
	"net/url"
	"path/filepath"
	"strings"

	"github.com/obslint/obslint/checks"
)

// Endpoint checks that every scrape was answered 200 with an exposition
// Content-Type.
var Endpoint = &checks.Rule{
	ID:       "metrics/endpoint",
	Severity: checks.Error,
	Summary:  "the metrics URL answers 200 with a Prometheus Content-Type",
	Doc: `Prometheus picks its parser from the response's Content-Type. Prometheus 3 refuses a
target that sends a blank Content-Type ("non-compliant scrape target sending blank
Content-Type and no fallback_scrape_protocol specified") or one it does not know, such as
` + "`text/html`" + ` ("received unsupported Content-Type"): the target goes down and every series
of the service disappears. A metrics route that answers anything but 200 is just as dead.

Accepted: ` + "`text/plain`" + ` with version 0.0.4, 1.0.0 or none, ` + "`application/openmetrics-text`" + `,
and the delimited protobuf format.

**Node (prom-client).** Express's ` + "`res.send(string)`" + ` defaults to ` + "`text/html`" + `:

    // bad
    app.get('/metrics', async (req, res) => res.send(await register.metrics()));
    // good
    app.get('/metrics', async (req, res) => {
      res.set('Content-Type', register.contentType);
      res.end(await register.metrics());
    });

**Python (prometheus_client).** A hand-written route returns FastAPI's JSON or HTML type:

    # bad
    @app.get("/metrics")
    def metrics():
        return generate_latest()
    # good
    from prometheus_client import make_asgi_app
    app.mount("/metrics", make_asgi_app())
    # or: Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

**Fix.** Serve the registry with its own content type, and make sure the route is not
behind authentication, a redirect or an error handler.`,
	Fix: checks.Fix{
		Node:   "set res.set('Content-Type', register.contentType) before sending register.metrics()",
		Python: "mount prometheus_client.make_asgi_app() or return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)",
	},
	Needs: []checks.Need{checks.NeedScrape},
	Check: checkEndpoint,
}

func checkEndpoint(p *checks.Pass) {
	for _, s := range p.Scrapes {
		subject := scrapeSubject(s, p.Target.MetricsURL)
		switch {
		case s.Err != "":
			p.Reportf(subject, "scrape failed: %s", s.Err)
		case s.Status != 200:
			p.Reportf(subject, "the metrics endpoint answered HTTP %d, want 200", s.Status)
		default:
			if msg := contentTypeProblem(s.ContentType); msg != "" {
				p.Reportf(subject, "%s", msg)
			}
		}
	}
}

// contentTypeProblem says what is wrong with a metrics response's
// Content-Type, "" when Prometheus accepts it.
func contentTypeProblem(ct string) string {
	if strings.TrimSpace(ct) == "" {
		return "blank Content-Type: Prometheus 3 refuses the target (\"non-compliant scrape target sending blank Content-Type\"); serve text/plain; version=0.0.4"
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return "malformed Content-Type " + quote(ct) + ": " + err.Error()
	}
	switch mt {
	case "text/plain":
		switch params["version"] {
		case "", "0.0.4", "1.0.0":
			return ""
		}
		return "Content-Type " + quote(ct) + " names an unknown text exposition version; use version=0.0.4"
	case "application/openmetrics-text", "application/vnd.google.protobuf":
		return ""
	}
	return "Content-Type " + quote(ct) + " is not a Prometheus exposition format: Prometheus 3 refuses the target (\"received unsupported Content-Type\"); serve text/plain; version=0.0.4"
}

func quote(s string) string { return "\"" + s + "\"" }

// scrapeSubject names a scrape stably across runs: the URL path, never the
// host and port, which change per run; the file name for a recorded file.
func scrapeSubject(s checks.Scrape, metricsURL string) string {
	raw := s.URL
	if raw == "" {
		raw = metricsURL
	}
	if raw == "" {
		return "/metrics"
	}
	if u, err := url.Parse(raw); err == nil && u.Scheme != "" && u.Host != "" {
		if u.Path == "" {
			return "/"
		}
		return u.Path
	}
	return filepath.Base(raw)
}
