package traces

import (
	"strconv"
	"strings"

	"github.com/obslint/obslint/checks"
)

// Attribute names of HTTP server spans, stable and legacy (reference
// logs-traces §4.3): the rules read both so a legacy-mode service is judged
// on what it sent, and told how to move.
const (
	attrMethod       = "http.request.method"
	attrStatus       = "http.response.status_code"
	attrRoute        = "http.route"
	attrPath         = "url.path"
	attrScheme       = "url.scheme"
	attrErrorType    = "error.type"
	legacyMethod     = "http.method"
	legacyStatusCode = "http.status_code"
	legacyTarget     = "http.target"
)

// stableHTTPAttrs are required on every HTTP server span (http.route only
// when the framework knows the route, which the rule decides on its own).
var stableHTTPAttrs = []string{attrMethod, attrPath, attrScheme, attrStatus}

// legacyHTTPAttrs are the pre-v1.23 names instrumentations still emit in
// their default (old) mode.
var legacyHTTPAttrs = []string{
	"http.method", "http.status_code", "http.target", "http.url", "http.scheme", "http.host",
	"http.flavor", "http.user_agent", "http.server_name", "net.host.name", "net.host.port",
	"net.peer.ip", "net.peer.port",
}

// instrumentationScopes prefix the scope names of OpenTelemetry's own
// instrumentation libraries in Node and Python.
var instrumentationScopes = []string{"@opentelemetry/instrumentation", "opentelemetry.instrumentation"}

// isHTTPServer reports whether s is a SERVER span of an HTTP request, as
// opposed to, say, a gRPC or messaging server span the HTTP rules must not
// judge.
func isHTTPServer(s checks.Span) bool {
	if s.Kind != checks.KindServer {
		return false
	}
	for k := range s.Attrs {
		if strings.HasPrefix(k, "http.") || strings.HasPrefix(k, "url.") {
			return true
		}
	}
	return false
}

// spanMethod is the request method, stable name first.
func spanMethod(s checks.Span) string { return checks.SpanMethod(&s) }

// spanPath is the request path without its query: url.path, or the path
// part of the legacy http.target.
func spanPath(s checks.Span) string { return checks.SpanPath(&s) }

// spanStatusCode is the response status, stable name first; ok is false
// when the span has none or it is not a number.
func spanStatusCode(s checks.Span) (int, bool) {
	for _, k := range []string{attrStatus, legacyStatusCode} {
		if v, ok := s.Attrs[k]; ok {
			return asInt(v)
		}
	}
	return 0, false
}

// asInt reads an integer attribute; a numeric string counts too, because
// the status rule judges the value and http-semconv judges the type.
func asInt(v any) (int, bool) {
	switch n := v.(type) {
	case int64:
		return int(n), true
	case int:
		return n, true
	case float64:
		if n == float64(int(n)) {
			return int(n), true
		}
	case string:
		i, err := strconv.Atoi(n)
		return i, err == nil
	}
	return 0, false
}

// isInt reports whether an attribute value has an integer type.
func isInt(v any) bool {
	switch v.(type) {
	case int64, int:
		return true
	}
	return false
}

// hasAttr reports whether the span carries the attribute at all.
func hasAttr(s checks.Span, key string) bool {
	_, ok := s.Attrs[key]
	return ok
}

// fromInstrumentation reports whether an OpenTelemetry instrumentation
// library, not the application, produced the span.
func fromInstrumentation(s checks.Span) bool {
	for _, p := range instrumentationScopes {
		if strings.HasPrefix(s.Scope, p) {
			return true
		}
	}
	return false
}

// probePath is the path a probe requested, without its query string.
func probePath(p checks.Probe) string { return checks.StripQuery(p.Path) }

// plural writes "1 span", "3 spans".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}
