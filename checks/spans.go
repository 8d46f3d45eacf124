package checks

import (
	"encoding/json"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// Span kinds and status codes as rules compare them.
const (
	KindServer   = "SERVER"
	KindClient   = "CLIENT"
	KindInternal = "INTERNAL"
	KindProducer = "PRODUCER"
	KindConsumer = "CONSUMER"

	StatusUnset = "Unset"
	StatusOk    = "Ok"
	StatusError = "Error"
)

// Span is a received span, flattened with its resource and scope.
type Span struct {
	TraceID       string         `json:"trace_id"` // lowercase hex, "" when all zero
	SpanID        string         `json:"span_id"`
	ParentSpanID  string         `json:"parent_span_id,omitempty"`
	TraceState    string         `json:"trace_state,omitempty"`
	Name          string         `json:"name"`
	Kind          string         `json:"kind"` // SERVER, CLIENT, INTERNAL, PRODUCER, CONSUMER, UNSPECIFIED
	Start         time.Time      `json:"start"`
	End           time.Time      `json:"end"`
	StatusCode    string         `json:"status_code"` // Unset, Ok, Error
	StatusMessage string         `json:"status_message,omitempty"`
	Attrs         map[string]any `json:"attributes,omitempty"`
	Events        []SpanEvent    `json:"events,omitempty"`
	Resource      map[string]any `json:"resource,omitempty"`
	Scope         string         `json:"scope,omitempty"`
	// Seq is the span's position in the stream the judge was fed (set by
	// Judge.Span): what "first" means when parts judged apart are merged.
	Seq int `json:"-"`
}

// SpanEvent is an event on a span, e.g. "exception".
type SpanEvent struct {
	Name  string         `json:"name"`
	Attrs map[string]any `json:"attributes,omitempty"`
}

// Subject names the span in findings by its name, which is stable across
// runs (put the trace id in the message, not the subject).
func (s Span) Subject() string { return "span " + s.Name }

// Attr returns a span attribute as a string ("" when absent).
func (s Span) Attr(key string) string { return attrString(s.Attrs, key) }

// ResourceAttr returns a resource attribute as a string ("" when absent).
func (s Span) ResourceAttr(key string) string { return attrString(s.Resource, key) }

func attrString(m map[string]any, key string) string {
	v, ok := m[key]
	if !ok || v == nil {
		return ""
	}
	if s, ok := v.(string); ok {
		return s
	}
	return anyString(v)
}

func anyString(v any) string {
	val := pcommon.NewValueEmpty()
	if err := val.FromRaw(v); err != nil {
		return ""
	}
	return val.AsString()
}

// SpansFromTraces flattens pdata traces into Spans, in arrival order.
func SpansFromTraces(td ptrace.Traces) []Span {
	var out []Span
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		rs := rss.At(i)
		res := RawMap(rs.Resource().Attributes())
		sss := rs.ScopeSpans()
		for j := 0; j < sss.Len(); j++ {
			ss := sss.At(j)
			scope := ss.Scope().Name()
			spans := ss.Spans()
			for k := 0; k < spans.Len(); k++ {
				sp := spans.At(k)
				s := Span{
					TraceID:       hexID(sp.TraceID()),
					SpanID:        hexID(sp.SpanID()),
					ParentSpanID:  hexID(sp.ParentSpanID()),
					TraceState:    sp.TraceState().AsRaw(),
					Name:          sp.Name(),
					Kind:          kindName(sp.Kind()),
					Start:         sp.StartTimestamp().AsTime(),
					End:           sp.EndTimestamp().AsTime(),
					StatusCode:    sp.Status().Code().String(),
					StatusMessage: sp.Status().Message(),
					Attrs:         RawMap(sp.Attributes()),
					Resource:      res,
					Scope:         scope,
				}
				evs := sp.Events()
				for e := 0; e < evs.Len(); e++ {
					ev := evs.At(e)
					s.Events = append(s.Events, SpanEvent{Name: ev.Name(), Attrs: RawMap(ev.Attributes())})
				}
				out = append(out, s)
			}
		}
	}
	return out
}

// LogRecordsFromLogs flattens pdata logs into LogRecords.
func LogRecordsFromLogs(ld plog.Logs) []LogRecord {
	var out []LogRecord
	rls := ld.ResourceLogs()
	for i := 0; i < rls.Len(); i++ {
		rl := rls.At(i)
		res := RawMap(rl.Resource().Attributes())
		sls := rl.ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			sl := sls.At(j)
			lrs := sl.LogRecords()
			for k := 0; k < lrs.Len(); k++ {
				lr := lrs.At(k)
				out = append(out, LogRecord{
					Time:         lr.Timestamp().AsTime(),
					TraceID:      hexID(lr.TraceID()),
					SpanID:       hexID(lr.SpanID()),
					SeverityText: lr.SeverityText(),
					SeverityNum:  int(lr.SeverityNumber()),
					Body:         bodyString(lr.Body()),
					Attrs:        RawMap(lr.Attributes()),
					Resource:     res,
					Scope:        sl.Scope().Name(),
				})
			}
		}
	}
	return out
}

// OTLPMetricsFromMetrics lists the metric streams in pdata metrics.
func OTLPMetricsFromMetrics(md pmetric.Metrics) []OTLPMetric {
	var out []OTLPMetric
	rms := md.ResourceMetrics()
	for i := 0; i < rms.Len(); i++ {
		rm := rms.At(i)
		res := RawMap(rm.Resource().Attributes())
		sms := rm.ScopeMetrics()
		for j := 0; j < sms.Len(); j++ {
			sm := sms.At(j)
			ms := sm.Metrics()
			for k := 0; k < ms.Len(); k++ {
				m := ms.At(k)
				out = append(out, OTLPMetric{Name: m.Name(), Type: m.Type().String(), Unit: m.Unit(), Resource: res, Scope: sm.Scope().Name()})
			}
		}
	}
	return out
}

type hexer interface {
	IsEmpty() bool
	String() string
}

func hexID(id hexer) string {
	if id.IsEmpty() {
		return ""
	}
	return id.String()
}

func kindName(k ptrace.SpanKind) string {
	switch k {
	case ptrace.SpanKindServer:
		return KindServer
	case ptrace.SpanKindClient:
		return KindClient
	case ptrace.SpanKindInternal:
		return KindInternal
	case ptrace.SpanKindProducer:
		return KindProducer
	case ptrace.SpanKindConsumer:
		return KindConsumer
	}
	return "UNSPECIFIED"
}

// MaxValueDepth bounds the nesting of attribute values flattened into
// checks types: OTLP allows maps and arrays inside values to any depth, and
// a value nested a million deep would otherwise cost its depth in memory
// and stack in every rule that walks it. Deeper levels become a marker.
const MaxValueDepth = 32

// deepValue stands for the levels of a value past MaxValueDepth.
const deepValue = "(nested deeper than 32 levels: not kept)"

// RawMap is pcommon.Map.AsRaw with the nesting bounded (MaxValueDepth).
func RawMap(m pcommon.Map) map[string]any { return rawMap(m, 0) }

func rawMap(m pcommon.Map, depth int) map[string]any {
	out := make(map[string]any, m.Len())
	for k, v := range m.All() {
		out[k] = rawValue(v, depth+1)
	}
	return out
}

func rawValue(v pcommon.Value, depth int) any {
	switch v.Type() {
	case pcommon.ValueTypeMap:
		if depth >= MaxValueDepth {
			return deepValue
		}
		return rawMap(v.Map(), depth)
	case pcommon.ValueTypeSlice:
		if depth >= MaxValueDepth {
			return deepValue
		}
		sl := v.Slice()
		out := make([]any, sl.Len())
		for i := range out {
			out[i] = rawValue(sl.At(i), depth+1)
		}
		return out
	}
	return v.AsRaw()
}

// bodyString is a log record's body as a string; a map or array body is
// written as JSON, with its nesting bounded like attributes.
func bodyString(v pcommon.Value) string {
	switch v.Type() {
	case pcommon.ValueTypeMap, pcommon.ValueTypeSlice:
		b, err := json.Marshal(rawValue(v, 0))
		if err != nil {
			return ""
		}
		return string(b)
	}
	return v.AsString()
}
