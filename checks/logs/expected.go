package logs

import (
	"fmt"
	"maps"
	"slices"

	"github.com/obslint/obslint/checks"
)

// ExpectedFields checks that every JSON line carries the fields the user
// declared.
var ExpectedFields = &checks.Rule{
	ID:       "logs/expected-fields",
	Severity: checks.Error,
	Summary:  "every JSON log line carries the fields in expect.log_fields",
	Doc: `Log pipelines route, index and alert on fields: a ` + "`service`" + ` or ` + "`env`" + ` field selects the
index, a ` + "`request_id`" + ` joins a line to its request. A line without them lands in the wrong
place or cannot be found. Declare the fields your pipeline relies on in obslint.yaml
(` + "`expect.log_fields`" + `, or ` + "`--expect-log-field`" + `); every line that is a JSON object must carry each
one with a non-null value. A dotted name (` + "`http.method`" + `) matches a flat key of that name or a
path into nested objects. Lines that are not JSON are logs/json's business and are not counted
here. Findings are one per stream and field, with the count of lines missing it. The rule is
not evaluated when nothing is declared.

**Node (winston)**

Bad: the field is added to some calls only:

    logger.info('order created', { service: 'orders' });
    logger.info('listening');   // {"level":"info","message":"listening"}

Good: ` + "`defaultMeta`" + ` puts it on every line:

    const logger = winston.createLogger({ defaultMeta: { service: 'orders' }, format: format.json() });

**Python (structlog)**

Bad: bound on one logger only (` + "`log = structlog.get_logger().bind(service=\"orders\")`" + ` in one module).

Good: a processor adds it to every event:

    def add_service(_, __, event): event["service"] = "orders"; return event
    structlog.configure(processors=[add_service, ..., structlog.processors.JSONRenderer()])

**Fix.** Add the field where every line is built (winston defaultMeta, a structlog processor).`,
	Fix: checks.Fix{
		Node:   "add the field to every line with winston's defaultMeta (or a format that sets it)",
		Python: "add the field to every event with a structlog processor (or contextvars bound at startup)",
	},
	Needs: []checks.Need{checks.NeedLogs},
	Logs:  newExpectedJudge,
}

// expectedJudge keeps, per declared field and source, how many JSON lines
// miss it and the first that does.
type expectedJudge struct {
	fields  []string
	totals  counts
	missing []map[string]*missingField // parallel to fields
}

type missingField struct {
	n     int
	first firstLine
}

func newExpectedJudge(ev *checks.Evidence) checks.LogJudge {
	j := &expectedJudge{fields: ev.Expect.LogFields, totals: counts{}, missing: make([]map[string]*missingField, len(ev.Expect.LogFields))}
	for i := range j.missing {
		j.missing[i] = map[string]*missingField{}
	}
	return j
}

func (j *expectedJudge) Line(l *checks.LogLine) {
	if l.Fields == nil {
		return
	}
	j.totals[l.Source]++
	for i, field := range j.fields {
		if v, ok := lookup(l.Fields, field); ok && v != nil {
			continue
		}
		m := j.missing[i][l.Source]
		if m == nil {
			m = &missingField{}
			j.missing[i][l.Source] = m
		}
		m.n++
		m.first.offer(l)
	}
}

func (j *expectedJudge) Merge(later checks.LogJudge) {
	o := later.(*expectedJudge)
	j.totals.merge(o.totals)
	for i := range j.missing {
		for src, om := range o.missing[i] {
			m := j.missing[i][src]
			if m == nil {
				j.missing[i][src] = om
				continue
			}
			m.n += om.n
			m.first.merge(om.first)
		}
	}
}

func (j *expectedJudge) Finish(p *checks.Pass) {
	if len(j.fields) == 0 {
		p.Skip("no field declared in expect.log_fields (or --expect-log-field)")
		return
	}
	if len(j.totals) == 0 {
		p.Skip("no log line is a JSON object (see logs/json)")
		return
	}
	for i, field := range j.fields {
		for _, src := range slices.Sorted(maps.Keys(j.missing[i])) {
			m := j.missing[i][src]
			p.Report(checks.Finding{
				Subject: fieldSubject(src, field),
				Message: fmt.Sprintf("declared field %s is missing on %d of %d JSON lines, first on %s",
					field, m.n, j.totals[src], m.first.line.Subject()),
				Evidence: excerpt(m.first.line.Raw),
			})
		}
	}
}
