package checks

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/valyala/fastjson"
)

// NewScrape builds a Scrape from a recorded or fetched body: the one
// constructor every front door uses. The judge parses it (Judge.Result).
func NewScrape(url, phase string, status int, contentType string, body []byte, truncated bool) Scrape {
	return Scrape{URL: url, Phase: phase, Status: status, ContentType: contentType, Size: len(body), Truncated: truncated, Body: body}
}

// ParseExposition decodes a metrics body the way a Prometheus server would,
// given the raw Content-Type it was served with. It returns the families
// decoded before the first error, and that error (with its line number).
//
// Unknown or wrong Content-Types (blank, text/html, prometheus_client's
// "text/plain; version=1.0.0") are decoded as classic text: the rule
// metrics/endpoint reports the header, the parse rules judge the body.
// OpenMetrics is translated to classic text first (openmetrics.go), so the
// families carry no exemplars, _created timestamps or units: rules that need
// those read Scrape.Body.
func ParseExposition(body []byte, contentType string) ([]*dto.MetricFamily, error) {
	mt, _, _ := mime.ParseMediaType(contentType)
	switch {
	case mt == expfmt.OpenMetricsType:
		// Not expfmt's OpenMetrics parser: see openmetrics.go.
		text, framingErr := openMetricsToText(body)
		fams, err := parseText(text)
		return fams, cmp.Or(err, framingErr)
	case mt == expfmt.ProtoType:
		n, framingErr := framedPrefix(body)
		fams, err := decodeStream(body[:n], expfmt.Format(contentType))
		return fams, cmp.Or(err, framingErr)
	default:
		return parseText(body)
	}
}

// parseText decodes the classic text format: fastText when it takes the
// body, else expfmt's parser (slowText).
//
// A body cut inside its last line (at the size cap, or by a proxy) ends in
// "unexpected end of input stream" whatever the parser; the lines before
// the cut are decoded on the fast path then, and the cut line, which
// expfmt would half-build into a series without a value, is left out.
func parseText(body []byte) ([]*dto.MetricFamily, error) {
	if fams, err := fastText(body); err == nil {
		return fams, nil
	}
	if whole, n, ok := cutLine(body); ok {
		if fams, err := fastText(whole); err == nil {
			return fams, expfmt.ParseError{Line: n, Msg: "unexpected end of input stream"}
		}
	}
	return slowText(body)
}

// cutLine splits off a last line that has no newline, when on its own it
// is the start of a line the text parser would read to the end of the
// input: it returns the whole lines before it and the cut line's number.
func cutLine(body []byte) ([]byte, int, bool) {
	i := bytes.LastIndexByte(body, '\n')
	last := body[i+1:]
	if len(bytes.Trim(last, " \t")) == 0 || len(last) > 1<<20 {
		return nil, 0, false
	}
	if _, err := slowText(last); err == nil || err.Error() != (expfmt.ParseError{Line: 1, Msg: "unexpected end of input stream"}).Error() {
		return nil, 0, false
	}
	return body[:i+1], bytes.Count(body[:i+1], []byte{'\n'}) + 1, true
}

// slowText decodes the classic text format with expfmt. The text parser
// reads the whole body and returns families in map order, so they are put
// back in body order to keep reports stable.
func slowText(body []byte) (fams []*dto.MetricFamily, err error) {
	defer recoverParser(&err)
	p := expfmt.NewTextParser(model.LegacyValidation)
	byName, err := p.TextToMetricFamilies(bytes.NewReader(body))
	return sortedFamilies(body, byName), err
}

// decodeStream decodes families one by one, keeping those before an error.
func decodeStream(body []byte, f expfmt.Format) (out []*dto.MetricFamily, err error) {
	defer recoverParser(&err)
	d := expfmt.NewDecoder(bytes.NewReader(body), f)
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

// recoverParser turns a panic in a third-party parser into a parse error:
// the body comes from the service under test, and bad input must never take
// obslint down.
func recoverParser(err *error) {
	if v := recover(); v != nil {
		*err = fmt.Errorf("the metrics parser failed on this body: %v", v)
	}
}

// framedPrefix returns how many leading bytes of a length-delimited protobuf
// body are whole frames, and an error when the rest is not. expfmt allocates
// whatever a length prefix claims, so seven bytes of garbage could ask for a
// terabyte and kill the process with an out-of-memory error no recover sees.
func framedPrefix(body []byte) (int, error) {
	off := 0
	for off < len(body) {
		size, n := binary.Uvarint(body[off:])
		if n <= 0 {
			return off, fmt.Errorf("protobuf: bad length prefix at byte %d", off)
		}
		if left := uint64(len(body) - off - n); size > left {
			return off, fmt.Errorf("protobuf: message at byte %d claims %d bytes, %d left in the body", off, size, left)
		}
		off += n + int(size)
	}
	return off, nil
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

// CleanUTF8 returns raw with every run of invalid UTF-8 replaced by U+FFFD,
// so that reports and JSON output never carry broken bytes, and whether
// there was any: that the service wrote non-UTF-8 is itself a finding. A
// line cut at the length limit may end inside a character; that partial
// character is the cut's doing, so it is dropped and not counted.
func CleanUTF8(raw string, truncated bool) (string, bool) {
	if truncated {
		raw = trimPartialRune(raw)
	}
	if utf8.ValidString(raw) {
		return raw, false
	}
	return strings.ToValidUTF8(raw, "\uFFFD"), true
}

// trimPartialRune drops an incomplete UTF-8 sequence at the end of s.
func trimPartialRune(s string) string {
	for i := len(s) - 1; i >= 0 && i >= len(s)-utf8.UTFMax; i-- {
		if utf8.RuneStart(s[i]) {
			if !utf8.FullRuneInString(s[i:]) {
				return s[:i]
			}
			return s
		}
	}
	return s
}

// jsonSpace is the whitespace JSON allows between tokens.
const jsonSpace = " \t\r\n"

// NewLogLine is a line as a front door read it: raw is made valid UTF-8
// (CleanUTF8; InvalidUTF8 records that it had to be), then parsed.
func NewLogLine(source string, n int, raw string, truncated bool, at time.Time) LogLine {
	clean, invalid := CleanUTF8(raw, truncated)
	return CapturedLogLine(source, n, clean, truncated, invalid, at)
}

// CapturedLogLine is NewLogLine for a raw line already made valid UTF-8.
func CapturedLogLine(source string, n int, raw string, truncated, invalid bool, at time.Time) LogLine {
	l := ParseLogLine(source, n, raw)
	l.Time, l.Truncated, l.InvalidUTF8 = at, truncated, invalid
	return l
}

// ParseLogLine builds a LogLine from raw text: Fields is set when the line is
// one JSON object, ParseErr says why not otherwise.
func ParseLogLine(source string, n int, raw string) LogLine {
	l := LogLine{Source: source, N: n, Raw: raw}
	// Only JSON's own whitespace may surround the object: a "\v" or a
	// no-break space breaks strict parsers downstream.
	t := strings.Trim(raw, jsonSpace)
	switch {
	case strings.TrimSpace(raw) == "":
		l.ParseErr = "empty line"
	case t == "" || t[0] != '{':
		l.ParseErr = "not a JSON object"
	default:
		if m, secret, ok := fastObject(t); ok {
			l.Fields, l.KeysKnown, l.SecretKey = m, true, secret
		} else {
			l.Fields, l.ParseErr = slowObject(t)
		}
	}
	return l
}

// lineParser is a fastjson parser and the keys it has seen: a stream
// repeats the same few keys on every line, so each is allocated once.
type lineParser struct {
	p    fastjson.Parser
	keys map[string]key
	bad  bool   // a number of the line is not strict JSON
	num  []byte // a number's text, reused
	// secret is whether a key of the line, at any depth, names a secret.
	secret bool
}

// key is an interned key, and whether it names a secret (SecretKeyRE).
type key struct {
	name   string
	secret bool
}

// maxInterned bounds the keys a parser remembers.
const maxInterned = 4096

// parsers are the line parsers, one per goroutine at a time.
var parsers = sync.Pool{New: func() any { return &lineParser{keys: map[string]key{}} }}

// key returns the interned copy of a key of the line (b, the parser's
// bytes) and notes whether it names a secret.
func (lp *lineParser) key(b []byte) string {
	if k, ok := lp.keys[string(b)]; ok {
		lp.secret = lp.secret || k.secret
		return k.name
	}
	return lp.intern(string(b))
}

// keyString is key for a key that is a slice of the line: the line's own
// string serves when the table is full.
func (lp *lineParser) keyString(s string) string {
	if k, ok := lp.keys[s]; ok {
		lp.secret = lp.secret || k.secret
		return k.name
	}
	if len(lp.keys) < maxInterned {
		s = strings.Clone(s) // the table outlives the line
	}
	return lp.intern(s)
}

// intern adds a key seen for the first time (while the table has room).
func (lp *lineParser) intern(name string) string {
	k := key{name: name, secret: SecretKeyRE.MatchString(name)}
	if len(lp.keys) < maxInterned {
		lp.keys[name] = k
	}
	lp.secret = lp.secret || k.secret
	return name
}

// fastObject parses the common line: valid UTF-8, no lone surrogate
// escape, strict JSON (fastjson's parser is lenient, its validator is not;
// the parser bounds the depth first). Anything else, and every error, is
// left to slowObject, which matches encoding/json to the letter.
func fastObject(t string) (fields map[string]any, secretKey, ok bool) {
	if !utf8.ValidString(t) {
		return nil, false, false
	}
	lp := parsers.Get().(*lineParser)
	defer parsers.Put(lp)
	// The common line first, in one pass: quick gives up on escapes and
	// control bytes, which the general path below handles.
	lp.bad, lp.secret = false, false
	q := quick{t: t, lp: lp}
	if m, ok := q.line(); ok {
		return m, lp.secret, true
	}
	plain := plainText(t)
	if !plain && hasSurrogateEscape(t) {
		return nil, false, false
	}
	v, err := lp.p.Parse(t)
	if err != nil {
		return nil, false, false
	}
	// Without escapes and control bytes every string is what it looks
	// like, and object copies every number through strictNumber: all that is
	// left to validate is already valid.
	lp.bad, lp.secret = false, false // quick may have seen some keys
	if !plain && fastjson.Validate(t) != nil {
		return nil, false, false
	}
	o, err := v.Object()
	if err != nil {
		return nil, false, false
	}
	m := lp.object(o)
	return m, lp.secret, !lp.bad
}

// object copies a parsed object out of the parser's memory as the values
// encoding/json makes with UseNumber; a repeated key keeps its last value.
func (lp *lineParser) object(o *fastjson.Object) map[string]any {
	m := make(map[string]any, o.Len())
	o.Visit(func(k []byte, v *fastjson.Value) { m[lp.key(k)] = lp.value(v) })
	return m
}

func (lp *lineParser) value(v *fastjson.Value) any {
	switch v.Type() {
	case fastjson.TypeObject:
		o, _ := v.Object()
		return lp.object(o)
	case fastjson.TypeArray:
		a, _ := v.Array()
		out := make([]any, len(a))
		for i, e := range a {
			out[i] = lp.value(e)
		}
		return out
	case fastjson.TypeString:
		return string(v.GetStringBytes())
	case fastjson.TypeNumber:
		lp.num = v.MarshalTo(lp.num[:0])
		n := string(lp.num)
		if !strictNumber(n) {
			lp.bad = true
		}
		return json.Number(n)
	case fastjson.TypeTrue:
		return true
	case fastjson.TypeFalse:
		return false
	}
	return nil
}

// quick parses a line of valid UTF-8 straight into the values
// encoding/json makes: strings and numbers are slices of the line itself.
// It gives up (ok false) on a string with an escape or a control byte, and
// on anything else it does not expect, and the line takes the general path.
type quick struct {
	t  string
	i  int
	lp *lineParser
}

// maxQuickDepth is how deep quick follows nesting before giving up.
const maxQuickDepth = 64

func (q *quick) line() (map[string]any, bool) {
	m, ok := q.object(0)
	q.space()
	return m, ok && q.i == len(q.t)
}

func (q *quick) space() {
	for q.i < len(q.t) && q.t[q.i] == ' ' {
		q.i++
	}
}

func (q *quick) object(depth int) (map[string]any, bool) {
	if depth > maxQuickDepth || q.i >= len(q.t) || q.t[q.i] != '{' {
		return nil, false
	}
	q.i++
	m := make(map[string]any, 8)
	q.space()
	if q.i < len(q.t) && q.t[q.i] == '}' {
		q.i++
		return m, true
	}
	for {
		q.space()
		k, ok := q.str()
		if !ok {
			return nil, false
		}
		q.space()
		if q.i >= len(q.t) || q.t[q.i] != ':' {
			return nil, false
		}
		q.i++
		q.space()
		v, ok := q.value(depth)
		if !ok {
			return nil, false
		}
		m[q.lp.keyString(k)] = v
		if done, ok := q.after('}'); !ok || done {
			return m, ok
		}
	}
}

// after reads what follows a member: a comma (more to come) or the closing
// byte (done); anything else is not ok.
func (q *quick) after(closing byte) (done, ok bool) {
	q.space()
	if q.i >= len(q.t) {
		return false, false
	}
	switch q.t[q.i] {
	case ',':
		q.i++
		return false, true
	case closing:
		q.i++
		return true, true
	}
	return false, false
}

func (q *quick) str() (string, bool) {
	if q.i >= len(q.t) || q.t[q.i] != '"' {
		return "", false
	}
	j := strings.IndexByte(q.t[q.i+1:], '"')
	if j < 0 {
		return "", false
	}
	s := q.t[q.i+1 : q.i+1+j]
	if !plainText(s) {
		return "", false
	}
	q.i += j + 2
	return s, true
}

func (q *quick) value(depth int) (any, bool) {
	if q.i >= len(q.t) {
		return nil, false
	}
	switch c := q.t[q.i]; {
	case c == '"':
		return q.str()
	case c == '{':
		return q.object(depth + 1)
	case c == '[':
		return q.array(depth + 1)
	case c == '-' || '0' <= c && c <= '9':
		start := q.i
		for q.i < len(q.t) && strings.IndexByte("+-.0123456789eE", q.t[q.i]) >= 0 {
			q.i++
		}
		n := q.t[start:q.i]
		return json.Number(n), strictNumber(n)
	case strings.HasPrefix(q.t[q.i:], "true"):
		q.i += 4
		return true, true
	case strings.HasPrefix(q.t[q.i:], "false"):
		q.i += 5
		return false, true
	case strings.HasPrefix(q.t[q.i:], "null"):
		q.i += 4
		return nil, true
	}
	return nil, false
}

func (q *quick) array(depth int) ([]any, bool) {
	if depth > maxQuickDepth {
		return nil, false
	}
	q.i++ // '['
	out := []any{}
	q.space()
	if q.i < len(q.t) && q.t[q.i] == ']' {
		q.i++
		return out, true
	}
	for {
		q.space()
		v, ok := q.value(depth)
		if !ok {
			return nil, false
		}
		out = append(out, v)
		if done, ok := q.after(']'); !ok || done {
			return out, ok
		}
	}
}

// plainText reports whether t has no backslash and no control byte.
func plainText(t string) bool {
	for i := 0; i < len(t); i++ {
		if c := t[i]; c == '\\' || c < 0x20 {
			return false
		}
	}
	return true
}

// strictNumber reports whether s is a JSON number (RFC 8259 §6): fastjson's
// parser also takes "nan", "inf", "01" or "1.".
func strictNumber(s string) bool {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && '1' <= s[i] && s[i] <= '9':
		for i < len(s) && '0' <= s[i] && s[i] <= '9' {
			i++
		}
	default:
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		if i == len(s) || s[i] < '0' || s[i] > '9' {
			return false
		}
		for i < len(s) && '0' <= s[i] && s[i] <= '9' {
			i++
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if i == len(s) || s[i] < '0' || s[i] > '9' {
			return false
		}
		for i < len(s) && '0' <= s[i] && s[i] <= '9' {
			i++
		}
	}
	return i == len(s)
}

// hasSurrogateEscape reports whether t holds a \uD800–\uDFFF escape, which
// fastjson and encoding/json decode differently when unpaired.
func hasSurrogateEscape(t string) bool {
	for i := strings.Index(t, `\u`); i >= 0 && i+3 < len(t); {
		if c, d := t[i+2], t[i+3]; (c == 'd' || c == 'D') && strings.IndexByte("89abcdefABCDEF", d) >= 0 {
			return true
		}
		j := strings.Index(t[i+2:], `\u`)
		if j < 0 {
			break
		}
		i += 2 + j
	}
	return false
}

// slowObject decodes with encoding/json, for the lines fastObject leaves.
func slowObject(t string) (map[string]any, string) {
	var m map[string]any
	dec := json.NewDecoder(strings.NewReader(t))
	dec.UseNumber()
	// Decode stops after one value, and More() is false before a stray
	// "}" or "]", so the rest of the line is looked at directly.
	if err := dec.Decode(&m); err != nil {
		return nil, "invalid JSON: " + err.Error()
	}
	rest := strings.Trim(t[dec.InputOffset():], jsonSpace)
	switch {
	case rest == "":
		return m, ""
	case rest[0] == '{' || rest[0] == '[':
		return nil, "more than one JSON value on the line"
	}
	return nil, "invalid JSON: trailing data after the object"
}
