package checks

import (
	"bytes"
	"errors"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	dto "github.com/prometheus/client_model/go"
)

// The classic text format is decoded by fastText, a one-pass parser over
// the body that builds the same families as expfmt's TextParser (which
// reads byte by byte through a bufio.Reader, allocates every label pair,
// name and value on its own and hashes a map of labels per histogram line:
// most of the time a lint of a large exposition took). fastText takes the
// expositions client libraries write: legacy names, escapes in label values
// and HELP, timestamps, histograms and summaries. On anything else — a
// parse error, a quoted UTF-8 name, blanks where the libraries put none —
// it gives up and expfmt decodes the whole body, so errors keep expfmt's
// words and line numbers. FuzzFastText holds the two to the same families.

// errSlowPath says fastText declined the body: expfmt must decode it.
var errSlowPath = errors.New("not for the fast text parser")

// textParser is fastText's state.
type textParser struct {
	fams  map[string]*dto.MetricFamily
	order []string // distinct names as lines mention them, first seen first
	named map[string]bool
	// series finds the histogram or summary series a line belongs to, by
	// family and labels (without le and quantile), as expfmt's signatures.
	series map[string]*dto.Metric
	hists  []*dto.Metric
	key    []byte

	strs    map[string]*string // interned names and values
	shared  map[[2]*string]*dto.LabelPair
	pairs   []dto.LabelPair
	floats  []float64
	labels  []*dto.LabelPair // the current line's pairs
	sortBuf []*dto.LabelPair
	bound   float64 // the current line's le or quantile, NaN if none
	value   []byte  // scratch for unescaping
}

// maxTextInterned bounds the interned strings: past it, values are allocated.
const maxTextInterned = 1 << 16

// fastText decodes a classic text body, or returns errSlowPath.
func fastText(body []byte) (fams []*dto.MetricFamily, err error) {
	defer func() {
		if recover() != nil { // a bug here must cost speed, not the verdict
			fams, err = nil, errSlowPath
		}
	}()
	if len(bytes.TrimRight(body, " \t")) > 0 && body[len(bytes.TrimRight(body, " \t"))-1] != '\n' {
		return nil, errSlowPath // expfmt: unexpected end of input stream
	}
	p := &textParser{fams: map[string]*dto.MetricFamily{}, named: map[string]bool{}, series: map[string]*dto.Metric{},
		strs: map[string]*string{}, shared: map[[2]*string]*dto.LabelPair{}, bound: math.NaN()}
	for len(body) > 0 {
		i := bytes.IndexByte(body, '\n')
		if i < 0 {
			i = len(body) // trailing blanks only, as checked above
		}
		line := body[:i]
		body = body[min(i+1, len(body)):]
		if !p.line(line) {
			return nil, errSlowPath
		}
	}
	for _, h := range p.hists {
		normalizeHistogram(h.GetHistogram())
	}
	return p.sorted(), nil
}

// line decodes one line; false sends the body to expfmt.
func (p *textParser) line(line []byte) bool {
	if len(bytes.Trim(line, " \t")) == 0 {
		return true
	}
	switch line[0] {
	case '#':
		return p.comment(line)
	case ' ', '\t', '{', '"':
		return false
	}
	return p.sample(line)
}

// comment decodes "# HELP name text" and "# TYPE name type"; any other
// comment is skipped, as expfmt does.
func (p *textParser) comment(line []byte) bool {
	rest := bytes.TrimLeft(line[1:], " \t")
	kw := rest
	if i := bytes.IndexAny(rest, " \t"); i >= 0 {
		kw = rest[:i]
	}
	help, typ := string(kw) == "HELP", string(kw) == "TYPE"
	if !help && !typ {
		// Skipped, but ordered by as sortedFamilies does.
		if name := exposedName(line); name != "" {
			p.mention([]byte(name))
		}
		return true
	}
	rest, ok := bytes.CutPrefix(line, []byte("# "+string(kw)+" "))
	if !ok {
		return false
	}
	n := nameLen(rest, true)
	if n == 0 || n == len(rest) || rest[n] != ' ' {
		return false // no text (expfmt then sets nothing), tabs, odd names
	}
	name, text := rest[:n], rest[n+1:]
	if len(bytes.TrimLeft(text, " \t")) != len(text) || len(text) == 0 {
		return false
	}
	mf := p.family(name, nil)
	if help {
		if mf.Help != nil {
			return false // expfmt: second HELP line
		}
		h, ok := unescape(text, p.value[:0])
		if !ok {
			return false
		}
		mf.Help = p.intern(h)
		return true
	}
	if mf.Type != nil {
		return false // expfmt: second TYPE line, or TYPE after samples
	}
	var t dto.MetricType
	switch string(text) {
	case "counter":
		t = dto.MetricType_COUNTER
	case "gauge":
		t = dto.MetricType_GAUGE
	case "histogram":
		t = dto.MetricType_HISTOGRAM
	case "summary":
		t = dto.MetricType_SUMMARY
	case "untyped":
		t = dto.MetricType_UNTYPED
	default:
		return false
	}
	mf.Type = t.Enum()
	return true
}

// role is what a sample line is to its family.
type role int

const (
	plainSample role = iota
	countSample
	sumSample
)

// family finds or makes the family a name belongs to, as expfmt's
// setOrCreateCurrentMF: the name itself, else the summary or histogram it
// is a _count, _sum (or _bucket) of. r, when given, is set to the role.
func (p *textParser) family(name []byte, r *role) *dto.MetricFamily {
	p.mention(name)
	set := func(v role) {
		if r != nil {
			*r = v
		}
	}
	set(plainSample)
	if mf := p.fams[string(name)]; mf != nil {
		return mf
	}
	isCount, isSum := bytes.HasSuffix(name, []byte("_count")) && len(name) > 6, bytes.HasSuffix(name, []byte("_sum")) && len(name) > 4
	isBucket := bytes.HasSuffix(name, []byte("_bucket")) && len(name) > 7
	base := name
	switch {
	case isCount:
		base = name[:len(name)-6]
	case isSum:
		base = name[:len(name)-4]
	}
	// The role a _count or _sum line plays in the family it joins.
	joined := func(mf *dto.MetricFamily) *dto.MetricFamily {
		switch {
		case isCount:
			set(countSample)
		case isSum:
			set(sumSample)
		}
		return mf
	}
	if mf := p.fams[string(base)]; mf != nil && mf.GetType() == dto.MetricType_SUMMARY {
		return joined(mf)
	}
	if isBucket {
		base = name[:len(name)-7]
	}
	if mf := p.fams[string(base)]; mf != nil && (mf.GetType() == dto.MetricType_HISTOGRAM || mf.GetType() == dto.MetricType_GAUGE_HISTOGRAM) {
		return joined(mf)
	}
	s := string(name)
	mf := &dto.MetricFamily{Name: &s}
	p.fams[s] = mf
	return mf
}

// mention records that a line names name, for the order of families.
func (p *textParser) mention(name []byte) {
	if !p.named[string(name)] {
		s := string(name)
		p.named[s] = true
		p.order = append(p.order, s)
	}
}

// sample decodes `name{label="value",…} value [timestamp]`.
func (p *textParser) sample(line []byte) bool {
	n := nameLen(line, true)
	if n == 0 || n == len(line) {
		return false
	}
	var r role
	mf := p.family(line[:n], &r)
	if mf.Type == nil {
		mf.Type = dto.MetricType_UNTYPED.Enum()
	}
	t := mf.GetType()
	grouped := t == dto.MetricType_SUMMARY || t == dto.MetricType_HISTOGRAM || t == dto.MetricType_GAUGE_HISTOGRAM
	rest := line[n:]
	p.labels, p.bound = p.labels[:0], math.NaN()
	if rest[0] == '{' {
		var ok bool
		if rest, ok = p.labelSet(rest[1:], t); !ok {
			return false
		}
	}
	if len(rest) < 2 || rest[0] != ' ' {
		return false
	}
	rest = rest[1:]
	valText, tsText, hasTS := rest, []byte(nil), false
	if i := bytes.IndexByte(rest, ' '); i >= 0 {
		valText, tsText, hasTS = rest[:i], rest[i+1:], true
	}
	if bytes.IndexByte(valText, '\t') >= 0 || len(valText) == 0 {
		return false
	}
	v, err := parseSampleFloat(valText)
	if err != nil {
		return false
	}
	var ts int64
	if hasTS {
		if ts, err = strconv.ParseInt(string(tsText), 10, 64); err != nil {
			return false
		}
	}

	var m *dto.Metric
	if grouped {
		key := p.seriesKey(mf.GetName())
		// A line joins the series of its labels; the series keeps the
		// labels of its first line, in their order.
		if m = p.series[string(key)]; m == nil {
			m = p.newMetric()
			m.Label = slices.Clone(p.labels)
			p.series[string(key)] = m
			mf.Metric = append(mf.Metric, m)
			if t != dto.MetricType_SUMMARY {
				p.hists = append(p.hists, m)
			}
		}
	} else {
		m = p.newMetric()
		m.Label = slices.Clone(p.labels)
		mf.Metric = append(mf.Metric, m)
	}
	if hasTS {
		m.TimestampMs = &ts
	}
	switch t {
	case dto.MetricType_COUNTER:
		m.Counter = &dto.Counter{Value: p.float(v)}
	case dto.MetricType_GAUGE:
		m.Gauge = &dto.Gauge{Value: p.float(v)}
	case dto.MetricType_UNTYPED:
		m.Untyped = &dto.Untyped{Value: p.float(v)}
	case dto.MetricType_SUMMARY:
		if m.Summary == nil {
			m.Summary = &dto.Summary{}
		}
		switch {
		case r == countSample:
			c := uint64(v)
			m.Summary.SampleCount = &c
		case r == sumSample:
			m.Summary.SampleSum = p.float(v)
		case !math.IsNaN(p.bound):
			m.Summary.Quantile = append(m.Summary.Quantile, &dto.Quantile{Quantile: p.float(p.bound), Value: p.float(v)})
		}
	default: // histograms
		if m.Histogram == nil {
			m.Histogram = &dto.Histogram{}
		}
		whole := v == float64(uint64(v))
		if !whole && v < 0 && (r == countSample || r != sumSample && !math.IsNaN(p.bound)) {
			return false // expfmt: negative count or bucket population
		}
		switch {
		case r == countSample && whole:
			c := uint64(v)
			m.Histogram.SampleCount = &c
		case r == countSample:
			m.Histogram.SampleCountFloat = p.float(v)
		case r == sumSample:
			m.Histogram.SampleSum = p.float(v)
		case !math.IsNaN(p.bound):
			b := &dto.Bucket{UpperBound: p.float(p.bound)}
			if whole {
				c := uint64(v)
				b.CumulativeCount = &c
			} else {
				b.CumulativeCountFloat = p.float(v)
			}
			m.Histogram.Bucket = append(m.Histogram.Bucket, b)
		}
	}
	return true
}

// labelSet decodes the labels after '{' up to and including '}', and
// returns the rest of the line.
func (p *textParser) labelSet(rest []byte, t dto.MetricType) ([]byte, bool) {
	for {
		if len(rest) == 0 {
			return nil, false
		}
		if rest[0] == '}' {
			return rest[1:], true
		}
		n := nameLen(rest, false)
		if n == 0 || n+1 >= len(rest) || rest[n] != '=' || rest[n+1] != '"' {
			return nil, false
		}
		name := rest[:n]
		if string(name) == "__name__" {
			return nil, false
		}
		val, after, ok := p.labelValue(rest[n+2:])
		if !ok {
			return nil, false
		}
		rest = after
		special := t == dto.MetricType_SUMMARY && string(name) == "quantile" ||
			(t == dto.MetricType_HISTOGRAM || t == dto.MetricType_GAUGE_HISTOGRAM) && string(name) == "le"
		if special {
			f, err := parseSampleFloat(val)
			if err != nil {
				return nil, false
			}
			p.bound = f
		} else {
			for _, l := range p.labels {
				if l.GetName() == string(name) {
					return nil, false // expfmt: duplicate label names
				}
			}
			p.labels = append(p.labels, p.pair(name, val))
		}
		if len(rest) > 0 && rest[0] == ',' {
			rest = rest[1:]
		} else if len(rest) == 0 || rest[0] != '}' {
			return nil, false
		}
	}
}

// labelValue reads a quoted value up to its closing quote, unescaped, and
// returns the rest after it.
func (p *textParser) labelValue(b []byte) (val, rest []byte, ok bool) {
	end := -1
	escaped := false
	for i := 0; i < len(b); i++ {
		switch {
		case escaped:
			escaped = false
		case b[i] == '\\':
			escaped = true
		case b[i] == '"':
			end = i
		}
		if end >= 0 {
			break
		}
	}
	if end < 0 {
		return nil, nil, false
	}
	raw := b[:end]
	if bytes.IndexByte(raw, '\\') < 0 {
		val = raw
	} else if p.value, ok = unescape(raw, p.value[:0]); ok {
		val = p.value
	} else {
		return nil, nil, false
	}
	if !utf8.Valid(val) {
		return nil, nil, false
	}
	return val, b[end+1:], true
}

// unescape resolves \\, \n and \" (expfmt's escapes in label values and
// HELP text) into buf; any other escape is the slow path's error to tell.
func unescape(b, buf []byte) ([]byte, bool) {
	for i := 0; i < len(b); i++ {
		if b[i] != '\\' {
			buf = append(buf, b[i])
			continue
		}
		i++
		if i == len(b) {
			return nil, false
		}
		switch b[i] {
		case '\\', '"':
			buf = append(buf, b[i])
		case 'n':
			buf = append(buf, '\n')
		default:
			return nil, false
		}
	}
	return buf, true
}

// nameLen is the length of the legacy metric (or label) name at the start
// of b: [a-zA-Z_:][a-zA-Z0-9_:]*, without ':' for labels.
func nameLen(b []byte, metric bool) int {
	for i, c := range b {
		switch {
		case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || metric && c == ':':
		case c >= '0' && c <= '9' && i > 0:
		default:
			return i
		}
	}
	return len(b)
}

// parseSampleFloat is expfmt's float syntax: strconv's, without hex
// exponents or underscores.
func parseSampleFloat(b []byte) (float64, error) {
	if bytes.ContainsAny(b, "pP_") {
		return 0, errSlowPath
	}
	return strconv.ParseFloat(string(b), 64)
}

// seriesKey is the family and labels of the current line, sorted by name,
// as one string: which histogram or summary series the line is part of.
func (p *textParser) seriesKey(family string) []byte {
	p.sortBuf = append(p.sortBuf[:0], p.labels...)
	slices.SortFunc(p.sortBuf, func(a, b *dto.LabelPair) int { return strings.Compare(a.GetName(), b.GetName()) })
	k := append(p.key[:0], family...)
	for _, l := range p.sortBuf {
		k = append(append(append(append(k, 0xff), l.GetName()...), 0xfe), l.GetValue()...)
	}
	p.key = k
	return k
}

// intern returns a shared copy of b: the names and values of a large
// exposition repeat (method="GET", le="0.5"), and the families only read
// them.
func (p *textParser) intern(b []byte) *string {
	if s, ok := p.strs[string(b)]; ok {
		return s
	}
	s := string(b)
	if len(p.strs) < maxTextInterned {
		p.strs[s] = &s
	}
	return &s
}

// pair makes a label pair, from a slab; a pair of interned strings is
// shared by every series that carries it (the families only read them).
func (p *textParser) pair(name, value []byte) *dto.LabelPair {
	n, v := p.intern(name), p.intern(value)
	if lp, ok := p.shared[[2]*string{n, v}]; ok {
		return lp
	}
	if len(p.pairs) == cap(p.pairs) {
		p.pairs = make([]dto.LabelPair, 0, 1024)
	}
	p.pairs = p.pairs[:len(p.pairs)+1]
	lp := &p.pairs[len(p.pairs)-1]
	lp.Name, lp.Value = n, v
	if len(p.shared) < maxTextInterned {
		p.shared[[2]*string{n, v}] = lp
	}
	return lp
}

// float stores v in a slab and returns its address.
func (p *textParser) float(v float64) *float64 {
	if len(p.floats) == cap(p.floats) {
		p.floats = make([]float64, 0, 1024)
	}
	p.floats = append(p.floats, v)
	return &p.floats[len(p.floats)-1]
}

func (p *textParser) newMetric() *dto.Metric { return &dto.Metric{} }

// sorted drops families without samples, as expfmt does, and orders the
// rest as sortedFamilies would: by the first line that names them (or
// names one of their samples), then any others by name.
func (p *textParser) sorted() []*dto.MetricFamily {
	for name, mf := range p.fams {
		if len(mf.Metric) == 0 {
			delete(p.fams, name)
		}
	}
	out := make([]*dto.MetricFamily, 0, len(p.fams))
	seen := make(map[string]bool, len(p.fams))
	for _, name := range p.order {
		for _, cand := range []string{name, trimSampleSuffix(name)} {
			if f, ok := p.fams[cand]; ok && !seen[cand] {
				seen[cand] = true
				out = append(out, f)
			}
		}
	}
	rest := len(out)
	for name, f := range p.fams {
		if !seen[name] {
			out = append(out, f)
		}
	}
	slices.SortFunc(out[rest:], func(a, b *dto.MetricFamily) int { return strings.Compare(a.GetName(), b.GetName()) })
	return out
}

// normalizeHistogram makes a histogram's counts all floats when any is,
// as expfmt does once the body is read.
func normalizeHistogram(h *dto.Histogram) {
	if h == nil {
		return
	}
	anyFloats := h.GetSampleCountFloat() != 0 || slices.ContainsFunc(h.GetBucket(), func(b *dto.Bucket) bool { return b.GetCumulativeCountFloat() != 0 })
	if !anyFloats {
		return
	}
	if h.GetSampleCountFloat() == 0 {
		f := float64(h.GetSampleCount())
		h.SampleCountFloat, h.SampleCount = &f, nil
	}
	for _, b := range h.GetBucket() {
		if b.GetCumulativeCountFloat() == 0 {
			f := float64(b.GetCumulativeCount())
			b.CumulativeCountFloat, b.CumulativeCount = &f, nil
		}
	}
}
