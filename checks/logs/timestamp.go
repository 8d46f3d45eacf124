package logs

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/obslint/obslint/checks"
)

// Timestamp is logs/timestamp.
var Timestamp = &checks.Rule{
	ID:       "logs/timestamp",
	Severity: checks.Error,
	Summary:  "log lines carry an RFC 3339 timestamp with a zone, or an epoch",
	Doc: `Logs are ordered, searched and joined to traces by time. A backend that receives a
timestamp without a zone guesses one (usually UTC, sometimes the collector's local zone), so
lines from a service running in another zone land hours away from their spans. A line with no
timestamp at all is stamped when it was ingested, which reorders bursts.

The rule reads the first of ` + "`timestamp`, `@timestamp`, `time`, `ts`" + ` and accepts an RFC 3339
string with a ` + "`T`" + ` and an explicit offset (` + "`Z`" + ` or ` + "`±hh:mm`" + `, any fraction), or a numeric epoch.

**Node (winston)**

Bad: no ` + "`format.timestamp()`" + `, or ` + "`format.timestamp({ format: 'YYYY-MM-DD HH:mm:ss' })`" + `:

    {"level":"info","message":"hello","timestamp":"2026-11-25 19:10:19"}

Good: ` + "`format.timestamp()`" + ` with no format (ISO 8601 in UTC):

    {"level":"info","message":"hello","timestamp":"2026-11-25T19:10:19.878Z"}

**Python (structlog)**

Bad: ` + "`TimeStamper(fmt=\"iso\", utc=False)`" + ` (naive local time) or the stdlib's ` + "`asctime`" + `:

    {"event": "hello", "level": "info", "timestamp": "2026-11-25T19:10:42.123456"}

Good: ` + "`TimeStamper(fmt=\"iso\", utc=True)`" + `:

    {"event": "hello", "level": "info", "timestamp": "2026-11-25T19:10:42.123456Z"}

**Fix**: add a timestamp processor that writes UTC ISO 8601 with the ` + "`Z`" + `.`,
	Fix: checks.Fix{
		Node:   "Add format.timestamp() without a custom format before format.json().",
		Python: "Add structlog.processors.TimeStamper(fmt=\"iso\", utc=True) to the processor chain.",
	},
	Needs: []checks.Need{checks.NeedLogs},
	Logs:  newTimestampJudge,
}

// fieldJudge is the state of a rule that reads one field of every JSON
// line: the JSON lines per source, and the lines with a problem.
type fieldJudge struct {
	t      tally
	totals counts
}

func (j *fieldJudge) merge(o *fieldJudge) {
	j.t.merge(&o.t)
	j.totals.merge(o.totals)
}

type timestampJudge struct{ fieldJudge }

func newTimestampJudge(*checks.Evidence) checks.LogJudge {
	return &timestampJudge{fieldJudge{totals: counts{}}}
}

func (j *timestampJudge) Line(l *checks.LogLine) {
	if l.Fields == nil {
		return
	}
	j.totals[l.Source]++
	key, v, ok := first(l.Fields, timestampKeys)
	if !ok {
		j.t.add(l.Source, "missing", "", l, func() string { return excerpt(l.Raw) })
		return
	}
	if problem := timestampProblem(v); problem != "" {
		j.t.add(fieldSubject(l.Source, key), key, problem, l, func() string { return key + "=" + valueText(v) })
	}
}

func (j *timestampJudge) Merge(later checks.LogJudge) { j.merge(&later.(*timestampJudge).fieldJudge) }

func (j *timestampJudge) Finish(p *checks.Pass) {
	if len(j.totals) == 0 {
		p.Skip("no JSON log line to read a timestamp from (see logs/json)")
		return
	}
	j.t.report(p, func(g *group) string {
		n := share(g.N, j.totals[g.Source], "JSON lines on "+g.Source)
		if g.Problem == "missing" {
			return n + " carry no timestamp field (" + strings.Join(timestampKeys[:4], ", ") + ")"
		}
		return fmt.Sprintf("%s have a %s that is not an RFC 3339 date-time with a zone, nor an epoch", n, g.Problem)
	})
}

// naiveLayouts are the zone-less forms loggers write by default.
var naiveLayouts = []string{"2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999", "2006-01-02 15:04:05,999"}

// timestampProblem says what is wrong with a timestamp value, "" if nothing.
func timestampProblem(v any) string {
	switch v := v.(type) {
	case string:
		if _, err := time.Parse(time.RFC3339Nano, v); err == nil {
			return ""
		}
		for _, layout := range naiveLayouts {
			if _, err := time.Parse(layout, v); err == nil {
				return "no time zone (naive local time)"
			}
		}
		if _, err := time.Parse(time.RFC3339Nano, strings.Replace(v, " ", "T", 1)); err == nil {
			return "space instead of T between date and time"
		}
		return "not an RFC 3339 date-time"
	case json.Number:
		if f, err := v.Float64(); err != nil || f <= 0 {
			return "number that is not a positive epoch"
		}
		return ""
	case float64:
		if v <= 0 {
			return "number that is not a positive epoch"
		}
		return ""
	}
	return "value that is neither a string nor a number"
}
