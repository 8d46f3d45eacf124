package checks

import (
	"fmt"
	"strings"
	"time"

	dto "github.com/prometheus/client_model/go"
)

// Profiles: the stacks obslint knows.
const (
	ProfileAuto   = "auto"
	ProfileNode   = "node"
	ProfilePython = "python"
)

// Evidence is everything a front door captured about one service. Every rule
// reads only this.
type Evidence struct {
	Target   Target
	Probes   []Probe
	Canaries []Canary
	Scrapes  []Scrape
	Logs     []LogLine
	// LogRecords are OTLP log records a front door holds: Run feeds them to
	// the judge (Judge.Record), before the spans. Rules never read them.
	LogRecords []LogRecord
	// Spans are spans a front door holds, flattened (see SpansFromTraces):
	// Run feeds them to the judge. A front door that streams spans feeds
	// Judge.Span instead. Rules never read Spans: they are SpanJudges, or
	// look spans up in the index the judge built (SpanIndex).
	Spans []Span
	// OTLPMetrics names the metrics received over OTLP (not scraped).
	OTLPMetrics []OTLPMetric
	// Captured says which sources were attached at all, so a rule can tell
	// "nothing arrived" from "nobody listened".
	Captured Captured
	// Problems are capture problems and limits hit: they are reported, and
	// they explain why evidence is missing.
	Problems []Problem
	// Expect holds what the user declared the service must expose.
	Expect Expectations
	// index is what the judge kept of the spans (set once every span was fed).
	index *SpanIndex
	// Stopped is when obslint asked the service to stop (zero offline, or
	// when it was never asked). Lines that arrive after it were held back
	// until exit: see logs/flushed.
	Stopped time.Time
}

// Target identifies the service under test.
type Target struct {
	Service       string   `json:"service,omitempty"`
	Profile       string   `json:"profile"`
	ProfileReason string   `json:"profile_reason,omitempty"`
	URL           string   `json:"url,omitempty"`
	MetricsURL    string   `json:"metrics_url,omitempty"`
	Command       []string `json:"command,omitempty"`
	// Shared is true when the target serves other traffic besides obslint's
	// probes (audit): rules then judge the probes' share of the telemetry and
	// do not blame the service for requests, lines or spans that belong to
	// no probe or that started before obslint was listening.
	Shared bool `json:"shared,omitempty"`
}

// Captured records which evidence sources were attached.
type Captured struct {
	Probes  bool `json:"probes"`
	Metrics bool `json:"metrics"`
	Logs    bool `json:"logs"`
	Traces  bool `json:"traces"`
	// LogSource and TraceSource say where they came from, e.g. "stdout/stderr
	// of node server.js", "file app.log", "embedded OTLP receiver".
	LogSource   string `json:"log_source,omitempty"`
	TraceSource string `json:"trace_source,omitempty"`
}

// Expectations are declared by the user (obslint.yaml or flags).
type Expectations struct {
	// DurationMetric names the HTTP server duration histogram when it is not
	// one of the conventional names.
	DurationMetric string `json:"duration_metric,omitempty"`
	// RequiredMetrics must exist in the last scrape.
	RequiredMetrics []string `json:"required_metrics,omitempty"`
	// Routes are route templates that must each have a SERVER span.
	Routes []string `json:"routes,omitempty"`
	// LogFields must be present on every JSON log line; a dotted name
	// ("http.method") may also be a nested object path.
	LogFields []string `json:"log_fields,omitempty"`
}

// Problem is a capture problem or a limit that was hit.
type Problem struct {
	Phase   string `json:"phase"` // launch, ready, probe, scrape, logs, traces, limit
	Message string `json:"message"`
}

// Probe is one request obslint sent to the service.
type Probe struct {
	Method string `json:"method"`
	Path   string `json:"path"` // as sent, with the query string
	// Route is the declared route template (e.g. /users/:id), empty if unknown.
	Route string `json:"route,omitempty"`
	// ExpectStatus is the declared status, 0 when any status is fine.
	ExpectStatus int `json:"expect_status,omitempty"`
	// TraceID and ParentSpanID are the injected W3C traceparent ids (lowercase
	// hex), empty when the probe carried no traceparent.
	TraceID      string `json:"trace_id,omitempty"`
	ParentSpanID string `json:"parent_span_id,omitempty"`
	TraceState   string `json:"tracestate,omitempty"`
	// Canaries says whether the canary secrets were sent with this probe.
	Canaries bool      `json:"canaries,omitempty"`
	Start    time.Time `json:"start"`
	End      time.Time `json:"end"`
	Status   int       `json:"status,omitempty"` // 0 when no response
	Err      string    `json:"error,omitempty"`
}

// Traced reports whether the probe carried a traceparent.
func (p Probe) Traced() bool { return p.TraceID != "" }

// Subject names the probe in findings: "GET /users/42". The query string is
// left out: it carries canaries and changes every run.
func (p Probe) Subject() string {
	path, _, _ := strings.Cut(p.Path, "?")
	return p.Method + " " + path
}

// Canary is a fake secret sent with the probes; it must appear nowhere.
type Canary struct {
	// Where says how it was sent, e.g. "Authorization header", "query parameter access_token".
	Where string `json:"where"`
	Value string `json:"value"`
}

// Scrape is one fetch of the metrics endpoint.
type Scrape struct {
	URL         string        `json:"url"`
	Phase       string        `json:"phase"` // before, after, ...
	Time        time.Time     `json:"time"`
	Duration    time.Duration `json:"duration"`
	Status      int           `json:"status"`
	ContentType string        `json:"content_type"`
	Size        int           `json:"size"`
	// Truncated is true when the body hit the size cap.
	Truncated bool `json:"truncated,omitempty"`
	// Err is a transport error (refused, timeout); the scrape has no body.
	Err string `json:"error,omitempty"`
	// Body is the raw exposition (capped). A front door that keeps bodies
	// elsewhere while the capture runs (on disk) leaves it nil and sets Load.
	Body []byte                 `json:"-"`
	Load func() ([]byte, error) `json:"-"`
	// NotParsed marks a body that is not an exposition (an error page):
	// the judge does not parse it.
	NotParsed bool `json:"-"`
	// Families is the parsed exposition. The judge parses each scrape once
	// and lets the families go once its rules were fed (Judge.Result), so
	// Families is only set while a ScrapeJudge reads the scrape, or when
	// the front door parsed it itself. ParseErr is the first parse error.
	Families []*dto.MetricFamily `json:"-"`
	ParseErr string              `json:"parse_error,omitempty"`
	// Index is the scrape's position in Evidence.Scrapes (set by the judge).
	Index int `json:"-"`
	// families counts the families the judge parsed, once they are gone.
	families int
}

// Parsed reports whether the scrape answered and yielded families.
func (s Scrape) Parsed() bool { return s.Err == "" && (len(s.Families) > 0 || s.families > 0) }

// ReadBody returns the raw exposition, from Body or Load.
func (s *Scrape) ReadBody() ([]byte, error) {
	if s.Body != nil || s.Load == nil {
		return s.Body, nil
	}
	return s.Load()
}

// Parse fills Families and ParseErr from Body, as the judge does for every
// scrape it is fed, for a caller that reads the families itself (a tool, a
// test). A scrape already parsed, or not parseable, is left alone.
func (s *Scrape) Parse() {
	if s.Families != nil || !s.parseable() {
		return
	}
	body, err := s.ReadBody()
	if err != nil {
		s.ParseErr = "cannot read the body back: " + err.Error()
		return
	}
	if len(body) == 0 {
		return
	}
	fams, err := ParseExposition(body, s.ContentType)
	s.Families = fams
	if err != nil {
		s.ParseErr = err.Error()
	}
}

// parseable says whether the judge parses the body: it answered, and is
// not marked as an error page.
func (s *Scrape) parseable() bool { return s.Err == "" && !s.NotParsed }

// Family returns the family with this name, or nil.
func (s Scrape) Family(name string) *dto.MetricFamily {
	for _, f := range s.Families {
		if f.GetName() == name {
			return f
		}
	}
	return nil
}

// ParsedScrapes returns the scrapes that parsed, in order.
func (e *Evidence) ParsedScrapes() []Scrape {
	var out []Scrape
	for _, s := range e.Scrapes {
		if s.Parsed() {
			out = append(out, s)
		}
	}
	return out
}

// LastScrape returns the last parsed scrape, if any.
func (e *Evidence) LastScrape() (Scrape, bool) {
	p := e.ParsedScrapes()
	if len(p) == 0 {
		return Scrape{}, false
	}
	return p[len(p)-1], true
}

// LogLine is one line the service wrote.
type LogLine struct {
	Source string    `json:"source"` // stdout, stderr, or a file path
	N      int       `json:"line"`   // 1-based line number within Source
	Time   time.Time `json:"time"`   // when obslint read it (zero for offline files)
	Raw    string    `json:"raw"`    // capped at the line limit
	// Truncated is true when the line was longer than the limit.
	Truncated bool `json:"truncated,omitempty"`
	// InvalidUTF8 is true when the service wrote bytes that are not UTF-8;
	// Raw holds them as U+FFFD (see CleanUTF8).
	InvalidUTF8 bool `json:"invalid_utf8,omitempty"`
	// Fields is the parsed JSON object; nil when the line is not one.
	Fields   map[string]any `json:"-"`
	ParseErr string         `json:"parse_error,omitempty"`
	// KeysKnown says SecretKey was set when the line was parsed: whether a
	// key of Fields, at any depth, names a secret (SecretKeyRE), so that
	// a rule need not walk the fields to know.
	KeysKnown bool `json:"-"`
	SecretKey bool `json:"-"`
	// Seq is the line's position in the stream the judge was fed, across
	// all sources (set by Judge.Line): what "first" means when parts of a
	// stream judged apart are merged.
	Seq int `json:"-"`
}

// Subject names the line in findings: "stdout:12".
func (l LogLine) Subject() string { return fmt.Sprintf("%s:%d", l.Source, l.N) }

// LogRecord is one OTLP log record.
type LogRecord struct {
	Time         time.Time      `json:"time"`
	TraceID      string         `json:"trace_id,omitempty"`
	SpanID       string         `json:"span_id,omitempty"`
	SeverityText string         `json:"severity_text,omitempty"`
	SeverityNum  int            `json:"severity_number,omitempty"`
	Body         string         `json:"body"`
	Attrs        map[string]any `json:"attributes,omitempty"`
	Resource     map[string]any `json:"resource,omitempty"`
	Scope        string         `json:"scope,omitempty"`
}

// OTLPMetric is one metric stream received over OTLP.
type OTLPMetric struct {
	Name     string         `json:"name"`
	Type     string         `json:"type"` // Gauge, Sum, Histogram, ExponentialHistogram, Summary
	Unit     string         `json:"unit,omitempty"`
	Resource map[string]any `json:"resource,omitempty"`
	Scope    string         `json:"scope,omitempty"`
}
