package checks

import (
	"bytes"
	"strings"

	"github.com/prometheus/common/expfmt"
)

// OpenMetrics bodies are not decoded with expfmt's OpenMetrics parser: it
// validates every line against the ABNF grammar at about a millisecond per
// line and tens of seconds for one long label value, so a large or hostile
// body would stall a run. openMetricsToText instead rewrites the body into
// the classic text format, line for line (so parse errors keep their line
// numbers), and the text parser decodes the result in linear time. What the
// translation loses — exemplars, timestamps, _created, UNIT — the rules
// either read from Scrape.Body or do not need.

// omEOF is the line that ends every OpenMetrics exposition.
const omEOF = "# EOF"

// openMetricsToText translates an OpenMetrics 1.0 body into classic text:
//
//   - counter foo (samples foo_total) becomes counter foo_total, as the
//     OpenMetrics parser and prometheus_client's text output name it;
//   - info foo becomes gauge foo_info, stateset a gauge, unknown untyped,
//     gaugehistogram a histogram (_gcount/_gsum become _count/_sum);
//   - # UNIT, # EOF and the _created samples of counters, histograms and
//     summaries are dropped;
//   - exemplars and sample timestamps (float seconds, which the text
//     parser rejects) are stripped.
//
// The error is the framing problem, if any: no # EOF, or data after it.
func openMetricsToText(body []byte) ([]byte, error) {
	types := omTypes(body)
	out := make([]byte, 0, len(body))
	var cur string // the family whose metadata came last
	n, off := 0, 0
	for line := range bytes.Lines(body) {
		n++
		off += len(line)
		s := strings.TrimSuffix(string(line), "\n")
		if s == omEOF {
			if off < len(body) {
				return out, expfmt.ParseError{Line: n + 1, Msg: "unexpected data after # EOF"}
			}
			return out, nil
		}
		var t string
		if strings.HasPrefix(s, "#") {
			t, cur = omMetadata(s, types, cur)
		} else {
			t = omSample(s, cur, types[cur])
		}
		out = append(append(out, t...), '\n')
	}
	return out, expfmt.ParseError{Line: max(1, n+1), Msg: "data does not end with # EOF"}
}

// omTypes maps each family name to its declared OpenMetrics type. A first
// pass is needed because HELP may come before TYPE; the first TYPE wins (a
// second one is the text parser's error to report).
func omTypes(body []byte) map[string]string {
	types := map[string]string{}
	for line := range bytes.Lines(body) {
		kw, name, rest, ok := omComment(strings.TrimSuffix(string(line), "\n"))
		if !ok || kw != "TYPE" {
			continue
		}
		if _, seen := types[name]; !seen {
			types[name] = strings.TrimSpace(rest)
		}
	}
	return types
}

// omComment splits "# KEYWORD name rest" into its parts.
func omComment(s string) (kw, name, rest string, ok bool) {
	s, ok = strings.CutPrefix(s, "# ")
	if !ok {
		return "", "", "", false
	}
	kw, s, ok = strings.Cut(s, " ")
	if !ok {
		return "", "", "", false
	}
	name, rest, _ = strings.Cut(s, " ")
	return kw, name, rest, name != ""
}

// textFamily is the classic text name and type of an OpenMetrics family.
func textFamily(name, omType string) (string, string) {
	switch omType {
	case "counter":
		return name + "_total", "counter"
	case "info":
		return name + "_info", "gauge"
	case "stateset":
		return name, "gauge"
	case "gaugehistogram":
		return name, "histogram"
	case "unknown":
		return name, "untyped"
	}
	return name, omType
}

// omMetadata translates a comment line and returns the family it describes
// (cur when it describes none).
func omMetadata(s string, types map[string]string, cur string) (string, string) {
	kw, name, rest, ok := omComment(s)
	if !ok {
		return s, cur
	}
	textName, textType := textFamily(name, types[name])
	switch kw {
	case "TYPE":
		return "# TYPE " + textName + " " + textType, name
	case "HELP":
		return "# HELP " + textName + " " + rest, name
	case "UNIT":
		return "", name
	}
	return s, cur
}

// omSample translates a sample line of family fam (of OpenMetrics type
// omType). Lines it cannot split are returned unchanged, for the text parser
// to report at their own line number.
func omSample(s, fam, omType string) string {
	name, labels, value, ok := splitSample(s)
	if !ok {
		return s
	}
	if fam != "" && strings.HasPrefix(name, fam) {
		switch suffix := name[len(fam):]; {
		case suffix == "_created" && (omType == "counter" || omType == "histogram" || omType == "summary"):
			return ""
		case suffix == "_gcount" && omType == "gaugehistogram":
			name = fam + "_count"
		case suffix == "_gsum" && omType == "gaugehistogram":
			name = fam + "_sum"
		}
	}
	return name + labels + " " + value
}

// splitSample splits `name{labels} value [timestamp] [# {exemplar} v [ts]]`
// into the name, the label set with its braces ("" when absent) and the
// value. The label set is skipped quote-aware, since values may hold '#',
// '}' or spaces; a name may itself be quoted inside the braces ({"a.b"}),
// in which case name is "".
func splitSample(s string) (name, labels, value string, ok bool) {
	end := strings.IndexAny(s, "{ \t")
	if end < 0 {
		return "", "", "", false
	}
	name, rest := s[:end], s[end:]
	if rest[0] == '{' {
		n, closed := labelSetLen(rest)
		if !closed {
			return "", "", "", false
		}
		labels, rest = rest[:n], rest[n:]
	}
	if i := strings.IndexByte(rest, '#'); i >= 0 {
		rest = rest[:i] // the exemplar
	}
	fields := strings.Fields(rest)
	if len(fields) == 0 || len(fields) > 2 {
		return "", "", "", false
	}
	return name, labels, fields[0], true
}

// labelSetLen returns the length of the label set `{…}` that s starts with,
// and whether it is closed.
func labelSetLen(s string) (int, bool) {
	inQuote := false
	for i := 1; i < len(s); i++ {
		switch c := s[i]; {
		case inQuote && c == '\\':
			i++ // the escaped byte
		case c == '"':
			inQuote = !inQuote
		case !inQuote && c == '}':
			return i + 1, true
		}
	}
	return 0, false
}
