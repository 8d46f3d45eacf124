package logs

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"github.com/obslint/obslint/checks"
)

// Field aliases (shared reference logs-traces §3.4): the first key present
// wins, and findings name the key that was used.
var (
	timestampKeys = []string{"timestamp", "@timestamp", "time", "ts", "Timestamp"}
	levelKeys     = []string{"level", "log.level", "severity", "levelname", "SeverityText", "severity_text"}
	traceIDKeys   = []string{"trace_id", "trace.id", "traceId", "TraceId", "otelTraceID", "span.trace_id"}
	spanIDKeys    = []string{"span_id", "span.id", "spanId", "SpanId", "otelSpanID", "span.span_id"}
	stackKeys     = []string{"stack", "exception", "error.stack_trace", "exception.stacktrace", "err.stack", "error.stack"}
)

// lookup returns the value under a key. A dotted key is first tried as a
// literal top-level key (ECS writes "log.level" flat), then as a path into
// nested objects (the structlog recipe nests span.trace_id).
func lookup(fields map[string]any, key string) (any, bool) {
	if v, ok := fields[key]; ok {
		return v, true
	}
	head, rest, dotted := strings.Cut(key, ".")
	if !dotted {
		return nil, false
	}
	inner, ok := fields[head].(map[string]any)
	if !ok {
		return nil, false
	}
	return lookup(inner, rest)
}

// first returns the first alias present (with a non-null value) and its value.
func first(fields map[string]any, keys []string) (string, any, bool) {
	for _, k := range keys {
		if v, ok := lookup(fields, k); ok && v != nil {
			return k, v, true
		}
	}
	return "", nil, false
}

// fieldSubject names a field of a source in a stable finding subject.
func fieldSubject(source, key string) string { return source + " field " + key }

// valueText renders a field value for a message: strings quoted, the rest
// as compact JSON, both capped.
func valueText(v any) string {
	if s, ok := v.(string); ok {
		return fmt.Sprintf("%q", checks.Excerpt(s, 60))
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%v", v)
	}
	return checks.Excerpt(string(b), 60)
}

// secretFieldRE finds `"key": "value"` pairs whose key must never hold a
// value (checks.SecretKeyRE without its anchors), so excerpts of log lines
// never carry a password that no secret pattern recognises.
var secretFieldRE = regexp.MustCompile(`(?i)"(` + secretKeyAlternation() + `)"\s*:\s*"((?:[^"\\]|\\.)*)"`)

func secretKeyAlternation() string {
	s := strings.TrimPrefix(checks.SecretKeyRE.String(), "(?i)^")
	return strings.TrimSuffix(s, "$")
}

// excerpt is a capped copy of a raw line with secret-keyed values masked;
// checks.Run masks canaries and well-known tokens on top of this.
func excerpt(raw string) string {
	raw = checks.Excerpt(raw, 160)
	return secretFieldRE.ReplaceAllStringFunc(raw, func(m string) string {
		sub := secretFieldRE.FindStringSubmatch(m)
		key, value := sub[1], sub[len(sub)-1] // the alternation brings its own group
		if isRedacted(value) {
			return m
		}
		return `"` + key + `":"` + checks.Mask(value) + `"`
	})
}

// isRedacted reports whether v is already a redaction marker, allowing an
// auth scheme in front of it ("Bearer [REDACTED]").
func isRedacted(v string) bool {
	// dict_tracebacks renders locals with repr(): '[REDACTED]' keeps its quotes.
	v = strings.Trim(strings.TrimSpace(v), `'"`)
	if scheme, rest, ok := strings.Cut(v, " "); ok && isAuthScheme(scheme) {
		v = strings.TrimSpace(rest)
	}
	return checks.RedactedRE.MatchString(v)
}

func isAuthScheme(s string) bool {
	switch strings.ToLower(s) {
	case "bearer", "basic", "token", "digest":
		return true
	}
	return false
}

var ansiRE = regexp.MustCompile(`\x1b\[[0-9;]*[A-Za-z]`)

// stripANSI removes terminal colour escapes.
func stripANSI(s string) string { return ansiRE.ReplaceAllString(s, "") }
