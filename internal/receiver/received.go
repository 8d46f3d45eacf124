package receiver

import (
	"fmt"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/obslint/obslint/checks"
	"github.com/obslint/obslint/internal/spool"
)

// Received is what a receiver had spooled when it was asked: the OTLP log
// records and spans, in arrival order, read back one batch at a time, so
// judging them holds one batch, not all of them.
type Received struct {
	spans, records batches
	// spanCount and recordCount are how many there are (of the service
	// Only keeps); services counts the spans of each service.name.
	spanCount, recordCount int
	services               map[string]int
	recordServices         map[string]int
	only                   string
}

// batches are the first n blobs of a spool.
type batches struct {
	blobs *spool.Blobs
	n     int
}

// Only returns the spans and records of one service.name.
func (r *Received) Only(service string) *Received {
	o := *r
	o.only = service
	o.spanCount, o.recordCount = r.services[service], r.recordServices[service]
	return &o
}

// Count is the number of spans.
func (r *Received) Count() int { return r.spanCount }

// Records is the number of OTLP log records.
func (r *Received) Records() int { return r.recordCount }

// Others is how many spans Only left out.
func (r *Received) Others() int {
	if r.only == "" {
		return 0
	}
	n := 0
	for _, k := range r.services {
		n += k
	}
	return n - r.spanCount
}

// EachSpan calls fn with every span, borrowed, in arrival order, until fn
// returns false; it stops at the first batch that cannot be read back.
func (r *Received) EachSpan(fn func(*checks.Span) bool) error {
	var u ptrace.ProtoUnmarshaler
	return r.spans.each("spans", func(blob []byte) (bool, error) {
		td, err := u.UnmarshalTraces(blob)
		if err != nil {
			return false, err
		}
		spans := checks.SpansFromTraces(td)
		for k := range spans {
			if r.only != "" && spans[k].ResourceAttr("service.name") != r.only {
				continue
			}
			if !fn(&spans[k]) {
				return false, nil
			}
		}
		return true, nil
	})
}

// EachRecord is EachSpan for the OTLP log records.
func (r *Received) EachRecord(fn func(*checks.LogRecord) bool) error {
	var u plog.ProtoUnmarshaler
	return r.records.each("OTLP log records", func(blob []byte) (bool, error) {
		ld, err := u.UnmarshalLogs(blob)
		if err != nil {
			return false, err
		}
		recs := checks.LogRecordsFromLogs(ld)
		for k := range recs {
			if name, _ := recs[k].Resource["service.name"].(string); r.only != "" && name != r.only {
				continue
			}
			if !fn(&recs[k]) {
				return false, nil
			}
		}
		return true, nil
	})
}

// each reads the batches back in order and hands each to fn.
func (b batches) each(what string, fn func([]byte) (bool, error)) error {
	for i := range b.n {
		blob, err := b.blobs.Get(i)
		if err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		more, err := fn(blob)
		if err != nil {
			return fmt.Errorf("%s: batch %d does not decode: %w", what, i+1, err)
		}
		if !more {
			return nil
		}
	}
	return nil
}

// Judge feeds every OTLP log record, then every span, to the judge (log
// lines come after) and says how many spans.
func (r *Received) Judge(j *checks.Judge) (int, error) {
	if err := r.EachRecord(func(rec *checks.LogRecord) bool { j.Record(rec); return true }); err != nil {
		return 0, err
	}
	n := 0
	err := r.EachSpan(func(sp *checks.Span) bool {
		n++
		j.Span(sp)
		return true
	})
	return n, err
}

// Kept returns the first max spans: what an evidence bundle saves.
func (r *Received) Kept(max int) []checks.Span {
	return first(max, r.EachSpan)
}

// KeptRecords returns the first max OTLP log records.
func (r *Received) KeptRecords(max int) []checks.LogRecord {
	return first(max, r.EachRecord)
}

// All returns every span (for a caller that holds them anyway: tests).
func (r *Received) All() []checks.Span { return r.Kept(r.spanCount) }

// AllRecords returns every OTLP log record.
func (r *Received) AllRecords() []checks.LogRecord { return r.KeptRecords(r.recordCount) }

func first[T any](max int, each func(func(*T) bool) error) []T {
	var out []T
	if max <= 0 {
		return nil
	}
	_ = each(func(x *T) bool {
		out = append(out, *x)
		return len(out) < max
	})
	return out
}
