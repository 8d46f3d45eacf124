package conformance

import (
	"strings"
	"time"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/obslint/obslint/checks"
)

// PrometheusReceiverScope is the scope name the contrib prometheus receiver
// puts on what it scrapes: each ResourceMetrics under it is one scrape.
const PrometheusReceiverScope = "github.com/open-telemetry/opentelemetry-collector-contrib/receiver/prometheusreceiver"

// Scope is the instrumentation scope of what the connector emits; the
// engine ignores telemetry under it, so findings never judge themselves.
const Scope = "github.com/obslint/obslint/collector/conformance"

// Caps on single values, so one huge attribute or line cannot hold memory.
const (
	maxDepth         = 4
	blobOverhead     = 64
	maxValueBytes    = 64 << 10
	maxLineBytes     = 1 << 20
	maxSnapshotBytes = 32 << 20
)

func serviceName(attrs pcommon.Map) string {
	if v, ok := attrs.Get("service.name"); ok && v.Type() == pcommon.ValueTypeStr && v.Str() != "" {
		return v.Str()
	}
	return UnknownService
}

func (e *Engine) ingestSpans(rs ptrace.ResourceSpans) {
	sss := rs.ScopeSpans()
	n := 0
	for j := 0; j < sss.Len(); j++ {
		n += sss.At(j).Spans().Len()
	}
	if n == 0 {
		return
	}
	res := rs.Resource().Attributes()
	e.mu.Lock()
	s := e.touchLocked(serviceName(res))
	b := s.touch()
	b.traces = true
	take := e.budgetLocked(min(n, max(0, s.spanCap-b.nSpans-b.reservedSpans)))
	b.reservedSpans += take
	b.droppedSpans += n - take
	maxAttrs := e.cfg.MaxAttributes
	e.mu.Unlock()
	if n > take {
		e.dropped.Add(int64(n - take))
	}
	if take == 0 {
		return
	}

	c := copier{maxAttrs: maxAttrs}
	kept := ptrace.NewTraces()
	krs := kept.ResourceSpans().AppendEmpty()
	c.attrs(krs.Resource().Attributes(), res, 0)
	copied := 0
	for j := 0; j < sss.Len() && copied < take; j++ {
		ss := sss.At(j)
		kss := krs.ScopeSpans().AppendEmpty()
		kss.Scope().SetName(capped(ss.Scope().Name()))
		spans := ss.Spans()
		kspans := kss.Spans()
		kspans.EnsureCapacity(min(spans.Len(), take-copied))
		for k := 0; k < spans.Len() && copied < take; k++ {
			c.span(kspans.AppendEmpty(), spans.At(k))
			copied++
		}
	}
	blob, err := (&ptrace.ProtoMarshaler{}).MarshalTraces(kept)
	size := int64(len(blob)) + blobOverhead
	e.mu.Lock()
	b.reservedSpans -= take
	if !b.dead && err == nil {
		b.spans = append(b.spans, blob)
		b.nSpans += copied
		b.droppedAttrs += c.dropped
		b.bytes += size
		e.addBytesLocked(s, size)
	}
	e.mu.Unlock()
	e.droppedAttrs.Add(int64(c.dropped))
}

func (e *Engine) ingestLogs(rl plog.ResourceLogs) {
	sls := rl.ScopeLogs()
	n := 0
	for j := 0; j < sls.Len(); j++ {
		if sls.At(j).Scope().Name() == Scope {
			continue
		}
		n += sls.At(j).LogRecords().Len()
	}
	if n == 0 {
		return
	}
	res := rl.Resource().Attributes()
	e.mu.Lock()
	s := e.touchLocked(serviceName(res))
	b := s.touch()
	take := e.budgetLocked(min(n, max(0, s.recordCap-len(b.lines)-b.nRecords-b.reservedRecords)))
	b.reservedRecords += take
	b.droppedRecords += n - take
	maxAttrs := e.cfg.MaxAttributes
	e.mu.Unlock()
	if n > take {
		e.dropped.Add(int64(n - take))
	}
	if take == 0 {
		return
	}

	c := copier{maxAttrs: maxAttrs}
	_, fromSDK := res.Get("telemetry.sdk.name")
	var lines []rawLine
	var lineBytes int64
	kept := plog.NewLogs()
	krl := kept.ResourceLogs().AppendEmpty()
	records, count := 0, 0
outer:
	for j := 0; j < sls.Len(); j++ {
		sl := sls.At(j)
		if sl.Scope().Name() == Scope {
			continue
		}
		var ksl plog.ScopeLogs
		lrs := sl.LogRecords()
		for k := 0; k < lrs.Len(); k++ {
			if count == take {
				break outer
			}
			count++
			lr := lrs.At(k)
			if source, ok := rawLineSource(lr, fromSDK); ok {
				raw, truncated := capString(lr.Body().Str(), maxLineBytes)
				raw, invalid := checks.CleanUTF8(raw, truncated)
				// Receivers decode lines before they reach us (filelog turns
				// invalid bytes into U+FFFD), so U+FFFD is the only trace left.
				invalid = invalid || strings.ContainsRune(raw, utf8.RuneError)
				lines = append(lines, rawLine{source: capped(source), raw: raw, time: observed(lr), truncated: truncated, invalid: invalid})
				lineBytes += int64(len(raw)+len(source)) + 96
				continue
			}
			if records == 0 {
				c.attrs(krl.Resource().Attributes(), res, 0)
			}
			if ksl == (plog.ScopeLogs{}) {
				ksl = krl.ScopeLogs().AppendEmpty()
				ksl.Scope().SetName(capped(sl.Scope().Name()))
			}
			c.record(ksl.LogRecords().AppendEmpty(), lr)
			records++
		}
	}
	var blob []byte
	if records > 0 {
		var err error
		if blob, err = (&plog.ProtoMarshaler{}).MarshalLogs(kept); err != nil {
			blob, records = nil, 0
		}
	}
	size := lineBytes
	if blob != nil {
		size += int64(len(blob)) + blobOverhead
	}
	e.mu.Lock()
	b.reservedRecords -= take
	if !b.dead {
		if s.lineN == nil && len(lines) > 0 {
			s.lineN = map[string]int{} // most services never send a raw line
		}
		for i := range lines {
			if len(s.lineN) < maxLogSources || s.lineN[lines[i].source] > 0 {
				s.lineN[lines[i].source]++
			}
			lines[i].n = s.lineN[lines[i].source]
		}
		b.lines = append(b.lines, lines...)
		if blob != nil {
			b.records = append(b.records, blob)
			b.nRecords += records
		}
		b.logLines = b.logLines || len(lines) > 0
		b.droppedAttrs += c.dropped
		b.bytes += size
		e.addBytesLocked(s, size)
	}
	e.mu.Unlock()
	e.droppedAttrs.Add(int64(c.dropped))
}

// rawLineSource says whether a record is a raw log line (what the filelog
// receiver delivers: the line as a string body, the file in log.file.*)
// rather than an SDK's record, and names its source.
func rawLineSource(lr plog.LogRecord, fromSDK bool) (string, bool) {
	if lr.Body().Type() != pcommon.ValueTypeStr {
		return "", false
	}
	attrs := lr.Attributes()
	for _, k := range []string{"log.file.path", "log.file.name"} {
		if v, ok := attrs.Get(k); ok && v.Str() != "" {
			return v.Str(), true
		}
	}
	if v, ok := attrs.Get("log.iostream"); ok && v.Str() != "" {
		return v.Str(), true
	}
	if fromSDK {
		return "", false
	}
	return "log records", true
}

func observed(lr plog.LogRecord) time.Time {
	if t := lr.ObservedTimestamp(); t != 0 {
		return t.AsTime()
	}
	return lr.Timestamp().AsTime()
}

func (e *Engine) ingestMetrics(rm pmetric.ResourceMetrics) {
	sms := rm.ScopeMetrics()
	scraped, pushed := false, 0
	for j := 0; j < sms.Len(); j++ {
		switch sms.At(j).Scope().Name() {
		case Scope:
		case PrometheusReceiverScope:
			scraped = true
		default:
			pushed += sms.At(j).Metrics().Len()
		}
	}
	res := rm.Resource().Attributes()
	if !scraped && pushed > 0 && looksScraped(res) {
		// Series with otel_scope_name labels get that scope, not the
		// receiver's: the resource still tells a scrape.
		scraped, pushed = true, 0
	}
	if !scraped && pushed == 0 {
		return
	}
	name := serviceName(res)
	var snap *snapshot
	failed := scraped && scrapeFailed(rm)
	if scraped && !failed {
		size := snapshotBytes(rm)
		if size > maxSnapshotBytes {
			e.dropped.Add(1)
		} else {
			md := pmetric.NewMetrics()
			rm.CopyTo(md.ResourceMetrics().AppendEmpty())
			snap = &snapshot{time: time.Now(), md: md, job: name, bytes: size}
			if v, ok := res.Get("service.instance.id"); ok {
				snap.job = name + " (instance " + v.AsString() + ")"
			}
		}
	}
	var otlp []checks.OTLPMetric
	if pushed > 0 {
		resMap := res.AsRaw()
		for j := 0; j < sms.Len(); j++ {
			sm := sms.At(j)
			if n := sm.Scope().Name(); n == Scope || n == PrometheusReceiverScope {
				continue
			}
			ms := sm.Metrics()
			for k := 0; k < ms.Len(); k++ {
				m := ms.At(k)
				otlp = append(otlp, checks.OTLPMetric{Name: m.Name(), Type: m.Type().String(), Unit: m.Unit(), Resource: resMap, Scope: sm.Scope().Name()})
			}
		}
	}

	e.mu.Lock()
	defer e.mu.Unlock()
	s := e.touchLocked(name)
	b := s.touch()
	var added int64
	if failed {
		b.failedScrapes++
	}
	if snap != nil && snap.bytes > e.limit/4 {
		// One scrape may not take more than a quarter of the memory limit.
		e.dropped.Add(1)
		snap = nil
	}
	if snap != nil {
		if b.firstScrape == nil {
			b.firstScrape = snap
		} else {
			if b.lastScrape != nil {
				added -= b.lastScrape.bytes
			}
			b.lastScrape = snap
		}
		added += snap.bytes
	}
	for _, m := range otlp {
		key := m.Name + "\x00" + m.Type
		if _, ok := b.otlpSeen[key]; ok {
			continue
		}
		if len(b.otlp) >= maxOTLPMetricsPerBucket {
			break
		}
		if b.otlpSeen == nil {
			b.otlpSeen = map[string]struct{}{}
		}
		b.otlpSeen[key] = struct{}{}
		b.otlp = append(b.otlp, m)
		added += int64(len(m.Name)+len(m.Unit)+len(m.Scope)) + 128
	}
	b.bytes += added
	e.addBytesLocked(s, added)
}

// copier copies pdata for a window, keeping at most maxAttrs attributes
// per map (and events per span, elements per slice), capping strings and
// nesting, and counting what it left out.
type copier struct {
	maxAttrs int
	dropped  int
}

func (c *copier) attrs(dst, src pcommon.Map, depth int) {
	dst.EnsureCapacity(min(src.Len(), c.maxAttrs))
	n := 0
	for k, v := range src.All() {
		if n >= c.maxAttrs {
			c.dropped += src.Len() - n
			break
		}
		c.value(dst.PutEmpty(capped(k)), v, depth)
		n++
	}
}

func (c *copier) value(dst, src pcommon.Value, depth int) {
	switch src.Type() {
	case pcommon.ValueTypeStr:
		dst.SetStr(capped(src.Str()))
	case pcommon.ValueTypeBytes:
		b := src.Bytes().AsRaw()
		dst.SetEmptyBytes().FromRaw(b[:min(len(b), maxValueBytes)])
	case pcommon.ValueTypeMap:
		if depth >= maxDepth {
			dst.SetStr(capped(src.AsString()))
			return
		}
		c.attrs(dst.SetEmptyMap(), src.Map(), depth+1)
	case pcommon.ValueTypeSlice:
		if depth >= maxDepth {
			dst.SetStr(capped(src.AsString()))
			return
		}
		sl, out := src.Slice(), dst.SetEmptySlice()
		n := min(sl.Len(), c.maxAttrs)
		c.dropped += sl.Len() - n
		out.EnsureCapacity(n)
		for i := 0; i < n; i++ {
			c.value(out.AppendEmpty(), sl.At(i), depth+1)
		}
	default:
		src.CopyTo(dst)
	}
}

func (c *copier) span(dst, src ptrace.Span) {
	dst.SetTraceID(src.TraceID())
	dst.SetSpanID(src.SpanID())
	dst.SetParentSpanID(src.ParentSpanID())
	dst.TraceState().FromRaw(capped(src.TraceState().AsRaw()))
	dst.SetName(capped(src.Name()))
	dst.SetKind(src.Kind())
	dst.SetStartTimestamp(src.StartTimestamp())
	dst.SetEndTimestamp(src.EndTimestamp())
	dst.Status().SetCode(src.Status().Code())
	dst.Status().SetMessage(capped(src.Status().Message()))
	c.attrs(dst.Attributes(), src.Attributes(), 0)
	evs := src.Events()
	n := min(evs.Len(), c.maxAttrs)
	c.dropped += evs.Len() - n
	for i := 0; i < n; i++ {
		ev, out := evs.At(i), dst.Events().AppendEmpty()
		out.SetName(capped(ev.Name()))
		out.SetTimestamp(ev.Timestamp())
		c.attrs(out.Attributes(), ev.Attributes(), 0)
	}
}

func (c *copier) record(dst, src plog.LogRecord) {
	dst.SetTimestamp(src.Timestamp())
	dst.SetObservedTimestamp(src.ObservedTimestamp())
	dst.SetTraceID(src.TraceID())
	dst.SetSpanID(src.SpanID())
	dst.SetSeverityText(capped(src.SeverityText()))
	dst.SetSeverityNumber(src.SeverityNumber())
	dst.SetEventName(capped(src.EventName()))
	if src.Body().Type() == pcommon.ValueTypeStr {
		body, _ := capString(src.Body().Str(), maxLineBytes)
		dst.Body().SetStr(body)
	} else {
		c.value(dst.Body(), src.Body(), 0)
	}
	c.attrs(dst.Attributes(), src.Attributes(), 0)
}

func capped(s string) string {
	s, _ = capString(s, maxValueBytes)
	return s
}

// capString cuts s to at most n bytes, never inside a character, and
// copies the cut so the original can be freed.
func capString(s string, n int) (string, bool) {
	if len(s) <= n {
		return s, false
	}
	cut := s[:n]
	for len(cut) > 0 && !utf8.RuneStart(s[len(cut)]) {
		cut = cut[:len(cut)-1]
	}
	return strings.Clone(cut), true
}

// snapshotBytes estimates the memory a copy of a scrape takes.
func snapshotBytes(rm pmetric.ResourceMetrics) int64 {
	var n int64 = 256
	sms := rm.ScopeMetrics()
	for j := 0; j < sms.Len(); j++ {
		ms := sms.At(j).Metrics()
		for k := 0; k < ms.Len(); k++ {
			m := ms.At(k)
			n += int64(len(m.Name())+len(m.Description())+len(m.Unit())) + 96
			n += int64(dataPoints(m)) * 160
		}
	}
	return n
}

func dataPoints(m pmetric.Metric) int {
	switch m.Type() {
	case pmetric.MetricTypeGauge:
		return m.Gauge().DataPoints().Len()
	case pmetric.MetricTypeSum:
		return m.Sum().DataPoints().Len()
	case pmetric.MetricTypeHistogram:
		n := 0
		dps := m.Histogram().DataPoints()
		for i := 0; i < dps.Len(); i++ {
			n += 2 + dps.At(i).BucketCounts().Len()
		}
		return n
	case pmetric.MetricTypeSummary:
		n := 0
		dps := m.Summary().DataPoints()
		for i := 0; i < dps.Len(); i++ {
			n += 2 + dps.At(i).QuantileValues().Len()
		}
		return n
	case pmetric.MetricTypeExponentialHistogram:
		return m.ExponentialHistogram().DataPoints().Len() * 4
	}
	return 0
}

// looksScraped reports whether a resource is one the prometheus receiver
// makes for a target (service.instance.id and url.scheme, no SDK).
func looksScraped(res pcommon.Map) bool {
	_, sdk := res.Get("telemetry.sdk.name")
	_, instance := res.Get("service.instance.id")
	_, scheme := res.Get("url.scheme")
	return !sdk && instance && scheme
}

// scrapeFailed reports whether the receiver's "up" says the scrape failed:
// then the batch holds only the receiver's own series.
func scrapeFailed(rm pmetric.ResourceMetrics) bool {
	sms := rm.ScopeMetrics()
	for j := 0; j < sms.Len(); j++ {
		if sms.At(j).Scope().Name() != PrometheusReceiverScope {
			continue
		}
		ms := sms.At(j).Metrics()
		for k := 0; k < ms.Len(); k++ {
			m := ms.At(k)
			if m.Name() != "up" || m.Type() != pmetric.MetricTypeGauge || m.Gauge().DataPoints().Len() == 0 {
				continue
			}
			dp := m.Gauge().DataPoints().At(0)
			return dp.DoubleValue() == 0 && dp.IntValue() == 0
		}
	}
	return false
}
