package bundle

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/obslint/obslint/checks"
)

// bundleReadme is written into every bundle so whoever receives one knows
// what it is and what it may hold.
const bundleReadme = `This directory is an obslint evidence bundle: what one obslint run or audit
captured from a service (metrics scrapes, log lines, OTLP traces, the probe
requests it sent). Replay the verdict offline with:

    obslint lint --evidence DIR

It holds what the service emitted, which may include secrets the service
leaked into its telemetry. The canary values in probes.json are obslint's own
fake secrets and safe to share; check the rest before attaching it anywhere.
`

// WriteDir saves the evidence in the directory format LoadDir reads, so that
// `obslint lint --evidence DIR` gives the same verdict. DIR is created if
// needed; files of an earlier bundle in it are replaced, and a directory
// holding other files is refused rather than mixed with.
func WriteDir(dir string, ev *checks.Evidence) error {
	if err := prepareDir(dir); err != nil {
		return err
	}
	write := func(name string, data []byte) error {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			return fmt.Errorf("evidence bundle: %w", err)
		}
		return nil
	}
	var errs []error
	errs = append(errs, write("README.txt", []byte(bundleReadme)))

	var entries []scrapeOverride
	for i := range ev.Scrapes {
		s := &ev.Scrapes[i]
		o := scrapeOverride{Phase: s.Phase, Status: s.Status, ContentType: s.ContentType, Error: s.Err,
			URL: s.URL, Time: s.Time, Duration: s.Duration, Truncated: s.Truncated}
		if s.Err == "" {
			o.File = fmt.Sprintf("metrics-%d%s", i+1, extensionFor(s.ContentType))
			// Non-2xx answers are not parsed by the scraper: say so, or the
			// replay would parse an error page.
			o.NotParsed = s.NotParsed
			body, err := s.ReadBody()
			errs = append(errs, err, write(o.File, body))
		}
		entries = append(entries, o)
	}
	if len(ev.Scrapes) > 0 {
		errs = append(errs, writeJSON(dir, "scrapes.json", entries))
	}

	if ev.Captured.Logs {
		var b strings.Builder
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		for _, l := range ev.Logs {
			errs = append(errs, enc.Encode(capturedLine{Time: l.Time, Source: l.Source, Raw: l.Raw, InvalidUTF8: l.InvalidUTF8, Line: l.N, Truncated: l.Truncated}))
		}
		errs = append(errs, write("logs.capture.jsonl", []byte(b.String())))
	}
	if ev.Captured.Traces {
		body, err := TracesJSON(ev.Spans)
		errs = append(errs, err, write("traces.json", body))
	}
	if ev.Captured.Probes {
		errs = append(errs, writeJSON(dir, "probes.json", probesFile{Probes: orEmpty(ev.Probes), Canaries: orEmpty(ev.Canaries)}))
	}
	errs = append(errs, writeJSON(dir, "evidence.json", evidenceFile{
		Target: &ev.Target, Expect: &ev.Expect, Captured: &ev.Captured, Problems: ev.Problems, Stopped: ev.Stopped,
		LogRecords: ev.LogRecords, OTLPMetrics: ev.OTLPMetrics,
	}))
	return errors.Join(errs...)
}

func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// bundleFile reports whether name is one WriteDir writes.
func bundleFile(name string) bool {
	switch name {
	case "README.txt", "scrapes.json", "logs.capture.jsonl", "traces.json", "probes.json", "evidence.json":
		return true
	}
	return strings.HasPrefix(name, "metrics-") && (strings.HasSuffix(name, ".prom") || strings.HasSuffix(name, ".om"))
}

func prepareDir(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("evidence bundle: %w", err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("evidence bundle: %w", err)
	}
	for _, e := range entries {
		if !bundleFile(e.Name()) || e.IsDir() {
			return fmt.Errorf("evidence bundle: %s holds %s, which is not part of a bundle: give an empty or new directory", dir, e.Name())
		}
	}
	for _, e := range entries {
		if err := os.Remove(filepath.Join(dir, e.Name())); err != nil {
			return fmt.Errorf("evidence bundle: %w", err)
		}
	}
	return nil
}

func writeJSON(dir, name string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("evidence bundle: %s: %w", name, err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("evidence bundle: %w", err)
	}
	return nil
}

func extensionFor(contentType string) string {
	if strings.HasPrefix(strings.ToLower(strings.TrimSpace(contentType)), "application/openmetrics-text") {
		return ".om"
	}
	return ".prom"
}

// TracesJSON writes spans as one OTLP JSON export request on one line, each
// span under its own resource and scope so nothing is merged.
func TracesJSON(spans []checks.Span) ([]byte, error) {
	td := ptrace.NewTraces()
	for _, s := range spans {
		rs := td.ResourceSpans().AppendEmpty()
		if err := rs.Resource().Attributes().FromRaw(s.Resource); err != nil {
			return nil, fmt.Errorf("span %s resource: %w", s.SpanID, err)
		}
		ss := rs.ScopeSpans().AppendEmpty()
		ss.Scope().SetName(s.Scope)
		sp := ss.Spans().AppendEmpty()
		var tid [16]byte
		var sid, pid [8]byte
		decodeID(tid[:], s.TraceID)
		decodeID(sid[:], s.SpanID)
		decodeID(pid[:], s.ParentSpanID)
		sp.SetTraceID(tid)
		sp.SetSpanID(sid)
		sp.SetParentSpanID(pid)
		sp.TraceState().FromRaw(s.TraceState)
		sp.SetName(s.Name)
		sp.SetKind(spanKind(s.Kind))
		sp.SetStartTimestamp(timestamp(s.Start))
		sp.SetEndTimestamp(timestamp(s.End))
		sp.Status().SetCode(statusCode(s.StatusCode))
		sp.Status().SetMessage(s.StatusMessage)
		if err := sp.Attributes().FromRaw(s.Attrs); err != nil {
			return nil, fmt.Errorf("span %s attributes: %w", s.SpanID, err)
		}
		for _, e := range s.Events {
			ne := sp.Events().AppendEmpty()
			ne.SetName(e.Name)
			if err := ne.Attributes().FromRaw(e.Attrs); err != nil {
				return nil, fmt.Errorf("span %s event %s: %w", s.SpanID, e.Name, err)
			}
		}
	}
	var m ptrace.JSONMarshaler
	b, err := m.MarshalTraces(td)
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// decodeID fills dst from lowercase hex; "" (all zero) or anything
// malformed leaves it zero, which is what the span carried.
func decodeID(dst []byte, s string) {
	b, err := hex.DecodeString(s)
	if err == nil && len(b) == len(dst) {
		copy(dst, b)
	}
}

func timestamp(t time.Time) pcommon.Timestamp {
	if t.IsZero() {
		return 0
	}
	return pcommon.NewTimestampFromTime(t)
}

func spanKind(k string) ptrace.SpanKind {
	switch k {
	case checks.KindServer:
		return ptrace.SpanKindServer
	case checks.KindClient:
		return ptrace.SpanKindClient
	case checks.KindInternal:
		return ptrace.SpanKindInternal
	case checks.KindProducer:
		return ptrace.SpanKindProducer
	case checks.KindConsumer:
		return ptrace.SpanKindConsumer
	}
	return ptrace.SpanKindUnspecified
}

func statusCode(c string) ptrace.StatusCode {
	switch c {
	case checks.StatusOk:
		return ptrace.StatusCodeOk
	case checks.StatusError:
		return ptrace.StatusCodeError
	}
	return ptrace.StatusCodeUnset
}
