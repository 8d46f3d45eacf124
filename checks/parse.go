package checks

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"slices"
	"strings"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// ParseExposition decodes a metrics body the way a Prometheus server would,
// given the raw Content-Type it was served with. It returns the families
// decoded before the first error, and that error (with its line number).
//
// Unknown or wrong Content-Types (blank, text/html, prometheus_client's
// "text/plain; version=1.0.0") are decoded as classic text: the rule
// metrics/endpoint reports the header, the parse rules judge the body.
func ParseExposition(body []byte, contentType string) ([]*dto.MetricFamily, error) {
	mt, params, _ := mime.ParseMediaType(contentType)
	var f expfmt.Format
	switch {
	case mt == expfmt.OpenMetricsType:
		f = expfmt.FmtOpenMetrics_1_0_0
		if v := params["version"]; v == "0.0.1" {
			f = expfmt.FmtOpenMetrics_0_0_1
		}
	case mt == expfmt.ProtoType:
		f = expfmt.Format(contentType)
	default:
		// The classic text parser reads the whole body and returns families in
		// map order; TextToMetricFamilies does the same, so use it directly to
		// keep the exposition order stable for reports.
		p := expfmt.NewTextParser(model.LegacyValidation)
		fams, err := p.TextToMetricFamilies(bytes.NewReader(body))
		return sortedFamilies(body, fams), err
	}
	d := expfmt.NewDecoder(bytes.NewReader(body), f)
	var out []*dto.MetricFamily
	for {
		mf := &dto.MetricFamily{}
		if err := d.Decode(mf); err != nil {
			if errors.Is(err, io.EOF) {
				return out, nil
			}
			return out, err
		}
		out = append(out, mf)
	}
}

// sortedFamilies orders families by their first appearance in the body, so
// that findings come out in the order a user reads the exposition.
func sortedFamilies(body []byte, fams map[string]*dto.MetricFamily) []*dto.MetricFamily {
	out := make([]*dto.MetricFamily, 0, len(fams))
	seen := make(map[string]bool, len(fams))
	for line := range bytes.Lines(body) {
		name := exposedName(line)
		if name == "" {
			continue
		}
		for _, cand := range []string{name, trimSampleSuffix(name)} {
			if f, ok := fams[cand]; ok && !seen[cand] {
				seen[cand] = true
				out = append(out, f)
			}
		}
	}
	for name, f := range fams { // anything the scan missed, in name order
		if !seen[name] {
			out = append(out, f)
		}
	}
	slices.SortFunc(out[len(seen):], func(a, b *dto.MetricFamily) int { return strings.Compare(a.GetName(), b.GetName()) })
	return out
}

func exposedName(line []byte) string {
	s := strings.TrimSpace(string(line))
	if s == "" {
		return ""
	}
	if strings.HasPrefix(s, "#") {
		parts := strings.Fields(s)
		if len(parts) >= 3 && (parts[1] == "TYPE" || parts[1] == "HELP") {
			return parts[2]
		}
		return ""
	}
	if i := strings.IndexAny(s, "{ \t"); i > 0 {
		return s[:i]
	}
	return s
}

func trimSampleSuffix(name string) string {
	for _, suf := range []string{"_bucket", "_count", "_sum"} {
		if strings.HasSuffix(name, suf) {
			return strings.TrimSuffix(name, suf)
		}
	}
	return name
}

// ParseLogLine builds a LogLine from raw text: Fields is set when the line is
// one JSON object, ParseErr says why not otherwise.
func ParseLogLine(source string, n int, raw string) LogLine {
	l := LogLine{Source: source, N: n, Raw: raw}
	t := strings.TrimSpace(raw)
	switch {
	case t == "":
		l.ParseErr = "empty line"
	case t[0] != '{':
		l.ParseErr = "not a JSON object"
	default:
		var m map[string]any
		dec := json.NewDecoder(strings.NewReader(t))
		dec.UseNumber()
		if err := dec.Decode(&m); err != nil {
			l.ParseErr = "invalid JSON: " + err.Error()
		} else if dec.More() {
			l.ParseErr = "more than one JSON value on the line"
		} else {
			l.Fields = m
		}
	}
	return l
}
