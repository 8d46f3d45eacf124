package checks

import (
	"encoding/binary"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/encoding/protodelim"
)

const (
	textCT        = "text/plain; version=0.0.4; charset=utf-8"
	openMetricsCT = "application/openmetrics-text; version=1.0.0; charset=utf-8"
	protoCT       = "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited"
)

const textBody = `# HELP zeta_requests_total Requests.
# TYPE zeta_requests_total counter
zeta_requests_total{route="/"} 3
# HELP alpha_duration_seconds Latency.
# TYPE alpha_duration_seconds histogram
alpha_duration_seconds_bucket{le="0.1"} 1
alpha_duration_seconds_bucket{le="+Inf"} 2
alpha_duration_seconds_sum 0.3
alpha_duration_seconds_count 2
mid_gauge 7
`

const openMetricsBody = `# TYPE zeta_requests counter
# HELP zeta_requests Requests.
zeta_requests_total{route="/"} 3 # {trace_id="0af7651916cd43dd8448eb211c80319c"} 1 1700000000.000
# TYPE alpha_duration_seconds histogram
alpha_duration_seconds_bucket{le="0.1"} 1 # {trace_id="b7ad6b7169203331b7ad6b7169203331"} 0.05
alpha_duration_seconds_bucket{le="+Inf"} 2
alpha_duration_seconds_sum 0.3
alpha_duration_seconds_count 2
# EOF
`

func familyNames(fams []*dto.MetricFamily) []string {
	out := []string{}
	for _, f := range fams {
		out = append(out, f.GetName())
	}
	return out
}

func TestParseExpositionText(t *testing.T) {
	// Content types a Prometheus server would read as text, right or wrong.
	for _, ct := range []string{textCT, "text/plain; version=1.0.0; charset=utf-8", "text/plain", "", "text/html; charset=utf-8", "not a media type;;"} {
		t.Run(ct, func(t *testing.T) {
			fams, err := ParseExposition([]byte(textBody), ct)
			require.NoError(t, err)
			assert.Equal(t, []string{"zeta_requests_total", "alpha_duration_seconds", "mid_gauge"}, familyNames(fams), "families follow the body")
			assert.Equal(t, dto.MetricType_HISTOGRAM, fams[1].GetType())
			assert.Equal(t, dto.MetricType_UNTYPED, fams[2].GetType())
			assert.Equal(t, 3.0, fams[0].GetMetric()[0].GetCounter().GetValue())
		})
	}
}

func TestParseExpositionOrderWithoutMetadata(t *testing.T) {
	// Untyped samples only, in an order no sort would give.
	body := "m_c 1\nm_a 2\nm_b{x=\"1\"} 3\nm_a_count 4\n"
	for range 10 { // the parser returns a map: a lucky order must not pass
		fams, err := ParseExposition([]byte(body), textCT)
		require.NoError(t, err)
		require.Equal(t, []string{"m_c", "m_a", "m_b", "m_a_count"}, familyNames(fams))
	}
}

func TestParseExpositionOpenMetrics(t *testing.T) {
	for _, ct := range []string{openMetricsCT, "application/openmetrics-text; version=0.0.1", "application/openmetrics-text"} {
		t.Run(ct, func(t *testing.T) {
			fams, err := ParseExposition([]byte(openMetricsBody), ct)
			require.NoError(t, err)
			// An OpenMetrics counter family is named as the classic text would.
			require.Equal(t, []string{"zeta_requests_total", "alpha_duration_seconds"}, familyNames(fams))
			assert.Equal(t, dto.MetricType_COUNTER, fams[0].GetType())
			assert.Equal(t, "Requests.", fams[0].GetHelp(), "HELP before TYPE follows the renamed family")
			assert.Equal(t, 3.0, fams[0].GetMetric()[0].GetCounter().GetValue())
			assert.Nil(t, fams[0].GetMetric()[0].TimestampMs, "OpenMetrics timestamps are seconds: dropped, not misread")
			h := fams[1].GetMetric()[0].GetHistogram()
			assert.Equal(t, uint64(2), h.GetSampleCount())
			assert.Equal(t, uint64(1), h.GetBucket()[0].GetCumulativeCount(), "the exemplar is stripped, the bucket kept")
		})
	}
}

func TestParseExpositionErrors(t *testing.T) {
	tests := []struct {
		name, ct, body string
		families       []string // decoded before the error
		errParts       []string
	}{
		{
			name: "text: bad label on line 3", ct: textCT,
			body:     "good_one 1\ngood_two 2\nbad{ 3\nafter 4\n",
			families: []string{"good_one", "good_two"}, errParts: []string{"line 3"},
		},
		{
			name: "text: second TYPE line", ct: "",
			body:     "# TYPE a counter\na 1\n# TYPE a counter\n",
			families: []string{"a"}, errParts: []string{"line 3", `"a"`},
		},
		{
			// A family is complete when the next family's first sample is read.
			name: "openmetrics: bad sample after whole families", ct: openMetricsCT,
			body:     "# TYPE a counter\na_total 1\n# TYPE b gauge\nb 2\nc 3\nc{ 4\n# EOF\n",
			families: []string{"a_total", "b"}, errParts: []string{"line 6"},
		},
		{
			name: "openmetrics: no # EOF", ct: openMetricsCT,
			body:     "# TYPE a gauge\na 1\n",
			families: []string{"a"}, errParts: []string{"line 3", "data does not end with # EOF"},
		},
		{
			name: "openmetrics: data after # EOF", ct: openMetricsCT,
			body:     "# TYPE a gauge\na 1\n# EOF\nb 2\n",
			families: []string{"a"}, errParts: []string{"line 4", "unexpected data after # EOF"},
		},
		{
			// The first error wins: the bad sample comes before the missing # EOF.
			name: "openmetrics: bad sample and no # EOF", ct: openMetricsCT,
			body:     "a 1\nb{x=\"1\" 2\n",
			families: []string{"a"}, errParts: []string{"line 2"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fams, err := ParseExposition([]byte(tt.body), tt.ct)
			require.Error(t, err)
			for _, p := range tt.errParts {
				assert.Contains(t, err.Error(), p)
			}
			got := familyNames(fams)
			if len(tt.families) > 0 {
				assert.Equal(t, tt.families, got[:min(len(got), len(tt.families))], "families before the error are kept")
			}
		})
	}
}

// protoBody writes families as length-delimited protobuf.
func protoBody(t *testing.T, names ...string) []byte {
	t.Helper()
	var sb strings.Builder
	for _, n := range names {
		typ := dto.MetricType_GAUGE
		v := 1.0
		mf := &dto.MetricFamily{Name: &n, Type: &typ, Metric: []*dto.Metric{{Gauge: &dto.Gauge{Value: &v}}}}
		_, err := protodelim.MarshalTo(&sb, mf)
		require.NoError(t, err)
	}
	return []byte(sb.String())
}

func TestParseExpositionProtobuf(t *testing.T) {
	good := protoBody(t, "first", "second")
	fams, err := ParseExposition(good, protoCT)
	require.NoError(t, err)
	assert.Equal(t, []string{"first", "second"}, familyNames(fams))

	huge := binary.AppendUvarint(nil, 1<<40) // claims a terabyte
	tests := []struct {
		name     string
		body     []byte
		families []string
		errPart  string
	}{
		{"text sent as protobuf", []byte(textBody), nil, "proto"},
		{"length prefix claims a terabyte", append(huge, 'x'), nil, "claims 1099511627776 bytes"},
		{"whole frames, then a lie", append(append([]byte{}, good...), huge...), []string{"first", "second"}, "claims"},
		{"cut length prefix", append(append([]byte{}, good...), 0x80), []string{"first", "second"}, "bad length prefix"},
		{"frame of garbage", []byte{3, 0xff, 0xff, 0xff}, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var fams []*dto.MetricFamily
			var err error
			require.NotPanics(t, func() { fams, err = ParseExposition(tt.body, protoCT) })
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.errPart)
			assert.Equal(t, tt.families, nilIfEmpty(familyNames(fams)))
		})
	}
}

func nilIfEmpty(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}

// TestDecodeStreamRecovers feeds expfmt's protobuf decoder, past our framing
// check, a length it cannot allocate: make panics inside the third-party
// decoder, and the wrapper must turn that into an error.
func TestDecodeStreamRecovers(t *testing.T) {
	body := append(binary.AppendUvarint(nil, 1<<50), 'x')
	var fams []*dto.MetricFamily
	var err error
	require.NotPanics(t, func() { fams, err = decodeStream(body, expfmt.Format(protoCT)) })
	require.Error(t, err)
	assert.Contains(t, err.Error(), "the metrics parser failed on this body")
	assert.Empty(t, fams)
}

func TestParseLogLine(t *testing.T) {
	tests := []struct {
		name     string
		raw      string
		fields   map[string]any
		parseErr string // prefix
	}{
		{"object", `{"level":"info","message":"hi","n":3}`, map[string]any{"level": "info", "message": "hi", "n": json.Number("3")}, ""},
		{"whitespace around", " \t{\"a\":1} \r", map[string]any{"a": json.Number("1")}, ""},
		{"empty object", `{}`, map[string]any{}, ""},
		{"huge number keeps its digits", `{"id":123456789012345678901234567890,"f":1e400}`,
			map[string]any{"id": json.Number("123456789012345678901234567890"), "f": json.Number("1e400")}, ""},
		{"nested", `{"a":{"b":[1,"x",null]}}`, map[string]any{"a": map[string]any{"b": []any{json.Number("1"), "x", nil}}}, ""},
		{"invalid UTF-8 becomes U+FFFD", "{\"m\":\"a\xffb\"}", map[string]any{"m": "a\uFFFDb"}, ""},
		{"empty", "", nil, "empty line"},
		{"blank", " \t \r", nil, "empty line"},
		{"array", `[{"a":1}]`, nil, "not a JSON object"},
		{"string", `"hello"`, nil, "not a JSON object"},
		{"number", `42`, nil, "not a JSON object"},
		{"null", `null`, nil, "not a JSON object"},
		{"text", `INFO:     127.0.0.1:5000 - "GET / HTTP/1.1" 200`, nil, "not a JSON object"},
		{"two objects", `{"a":1}{"b":2}`, nil, "more than one JSON value on the line"},
		{"two objects with space", `{"a":1} {"b":2}`, nil, "more than one JSON value on the line"},
		{"object then array", `{"a":1} [2]`, nil, "more than one JSON value on the line"},
		{"trailing brace", `{"a":1}}`, nil, "invalid JSON: trailing data after the object"},
		{"trailing bracket", `{"a":1}]`, nil, "invalid JSON: trailing data after the object"},
		{"trailing text", `{"a":1} done`, nil, "invalid JSON: trailing data after the object"},
		{"vertical tab after (fuzz)", "{}\v", nil, "invalid JSON: trailing data after the object"},
		{"vertical tab before", "\v{}", nil, "not a JSON object"},
		{"no-break space before", "\u00a0{}", nil, "not a JSON object"},
		{"only a vertical tab", "\v", nil, "empty line"},
		{"cut object", `{"a":1,"b":`, nil, "invalid JSON: "},
		{"single quotes", `{'a': 1}`, nil, "invalid JSON: "},
		{"pretty printed first line", `{`, nil, "invalid JSON: "},
		// fastjson's parser takes these; the line parser must not.
		{"nan", `{"a":nan}`, nil, "invalid JSON: "},
		{"inf", `{"a":-inf}`, nil, "invalid JSON: "},
		{"leading zero", `{"a":01}`, nil, "invalid JSON: "},
		{"bare point", `{"a":1.}`, nil, "invalid JSON: "},
		{"bare exponent", `{"a":1e}`, nil, "invalid JSON: "},
		{"lone minus", `{"a":-}`, nil, "invalid JSON: "},
		{"raw tab in a string", "{\"a\":\"x\ty\"}", nil, "invalid JSON: "},
		{"bad escape", `{"a":"\x"}`, nil, "invalid JSON: "},
		{"lone surrogate escape", `{"a":"\ud800"}`, map[string]any{"a": "\uFFFD"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := ParseLogLine("stdout", 12, tt.raw)
			assert.Equal(t, "stdout", l.Source)
			assert.Equal(t, 12, l.N)
			assert.Equal(t, tt.raw, l.Raw, "Raw is kept as written")
			assert.Equal(t, tt.fields, l.Fields)
			if tt.parseErr == "" {
				assert.Empty(t, l.ParseErr)
			} else {
				assert.True(t, strings.HasPrefix(l.ParseErr, tt.parseErr), "ParseErr %q, want prefix %q", l.ParseErr, tt.parseErr)
			}
		})
	}
}

func FuzzParseLogLine(f *testing.F) {
	for _, s := range []string{
		`{"level":"info","message":"hi"}`, `{"a":1}}`, `{"a":1}{"b":2}`, `[1]`, ``, " ", "{\"m\":\"\xff\"}",
		`{"n":123456789012345678901234567890}`, `{"a":{"b":[1,2,{"c":null}]}}`, `{"a":"\ud800"}`, `{`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		l := ParseLogLine("stdout", 1, raw)
		if raw != l.Raw {
			t.Fatalf("Raw changed: %q -> %q", raw, l.Raw)
		}
		if (l.Fields == nil) == (l.ParseErr == "") {
			t.Fatalf("exactly one of Fields and ParseErr must be set: fields=%v err=%q", l.Fields, l.ParseErr)
		}
		if l.Fields == nil {
			return
		}
		// A parsed line is exactly one JSON object, whatever surrounds it,
		// with the values encoding/json (UseNumber) gives: the fast parser
		// agrees with the reference one on every line it accepts.
		var v any
		dec := json.NewDecoder(strings.NewReader(raw))
		dec.UseNumber()
		if err := dec.Decode(&v); err != nil {
			t.Fatalf("accepted %q, which encoding/json rejects: %v", raw, err)
		}
		want, perr := slowObject(strings.Trim(raw, jsonSpace))
		if perr != "" {
			t.Fatalf("accepted %q, which encoding/json rejects: %s", raw, perr)
		}
		if !reflect.DeepEqual(want, l.Fields) {
			t.Fatalf("fields of %q differ from encoding/json's:\n got %#v\nwant %#v", raw, l.Fields, want)
		}
		if _, ok := v.(map[string]any); !ok {
			t.Fatalf("accepted %q, which is not an object", raw)
		}
	})
}

func FuzzParseExposition(f *testing.F) {
	for _, body := range []string{
		textBody, openMetricsBody, "", "# EOF\n", "a 1\nb{ 2\n",
		"# TYPE a histogram\na_bucket{le=\"+Inf\"} 1\na_count 1\na_sum 1\n",
		"# TYPE a summary\na{quantile=\"0.5\"} 1\n",
		"a{x=\"\\\"\"} 1 1700000000000\n",
		"# TYPE a stateset\na{a=\"x\"} 1\n# EOF\n",
		"# TYPE a info\na_info{v=\"1\"} 1\n# EOF\n",
		"# TYPE a gaugehistogram\na_bucket{le=\"+Inf\"} 1\na_gcount 1\na_gsum 1\n# EOF\n",
		"{\"a.b\"} 1\n",
	} {
		for _, ct := range []string{textCT, openMetricsCT} {
			f.Add([]byte(body), ct)
		}
	}
	f.Add([]byte{0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01}, protoCT)
	f.Add([]byte{3, 0x0a, 0x01, 'a'}, protoCT)
	f.Fuzz(func(t *testing.T, body []byte, ct string) {
		fams, _ := ParseExposition(body, ct)
		seen := map[string]bool{}
		for _, mf := range fams {
			if mf == nil {
				t.Fatal("nil family")
			}
			if ct == textCT && seen[mf.GetName()] {
				t.Fatalf("family %q listed twice", mf.GetName())
			}
			seen[mf.GetName()] = true
		}
	})
}

func TestCleanUTF8(t *testing.T) {
	tests := []struct {
		name, raw string
		truncated bool
		want      string
		invalid   bool
	}{
		{"valid", "café €", false, "café €", false},
		{"Latin-1 byte", "caf\xe9", false, "caf\uFFFD", true},
		{"a run of bad bytes is one replacement", "a\xff\xfeb", false, "a\uFFFDb", true},
		{"cut inside a character by the limit", "ab\xe2\x82", true, "ab", false},
		{"cut after a whole character", "ab\xe2\x82\xac", true, "ab\xe2\x82\xac", false},
		{"an incomplete character not at a cut", "ab\xe2\x82", false, "ab\uFFFD", true},
		{"cut, and a bad byte before", "\xffab\xe2", true, "\uFFFDab", true},
		{"cut after a stray continuation byte", "ab\x82", true, "ab\uFFFD", true},
		{"empty", "", true, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, invalid := CleanUTF8(tt.raw, tt.truncated)
			assert.Equal(t, tt.want, got)
			assert.Equal(t, tt.invalid, invalid)
		})
	}
}

// TestParseLogLineBadInputIsBounded: a line nested far deeper than any
// parser follows, and a long line of garbage, are rejected, not recursed
// into or crashed on.
func TestParseLogLineBadInputIsBounded(t *testing.T) {
	deep := strings.Repeat(`{"a":`, 200_000) + "1" + strings.Repeat("}", 200_000)
	l := ParseLogLine("stdout", 1, deep)
	assert.Nil(t, l.Fields)
	assert.Contains(t, l.ParseErr, "invalid JSON")

	arrays := "{\"a\":" + strings.Repeat("[", 1<<20) + strings.Repeat("]", 1<<20) + "}"
	l = ParseLogLine("stdout", 1, arrays)
	assert.Nil(t, l.Fields)
	assert.Contains(t, l.ParseErr, "invalid JSON")

	garbage := "{" + strings.Repeat("\"\x01\\", 1<<18)
	l = ParseLogLine("stdout", 1, garbage)
	assert.Nil(t, l.Fields)
	assert.NotEmpty(t, l.ParseErr)
}
