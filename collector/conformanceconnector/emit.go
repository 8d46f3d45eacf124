package conformanceconnector

import (
	"context"
	"maps"
	"slices"
	"sync"
	"time"

	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.uber.org/zap"

	"github.com/obslint/obslint/checks"
	"github.com/obslint/obslint/collector/conformance"
)

// Names and attributes of what the connector emits (README.md, "Findings").
const (
	EventName        = "obslint.finding"
	FindingsMetric   = "obslint_findings"
	ScoreMetric      = "obslint_score"
	AttrRule         = "obslint.rule"
	AttrSeverity     = "obslint.severity"
	AttrSubject      = "obslint.subject"
	AttrStatus       = "obslint.status"
	AttrEvidence     = "obslint.evidence"
	AttrFix          = "obslint.fix"
	AttrDocs         = "obslint.docs"
	StatusFail       = "fail"
	StatusInfo       = "info"
	emitTimeout      = 10 * time.Second
	obslintResource  = "obslint"
	serviceNameLabel = "service.name"
)

// findingKey identifies a finding across evaluations: messages may carry a
// trace id that changes every window, rule and subject do not.
type findingKey struct{ rule, subject string }

// logEmitter sends one log record per finding when it first appears, or
// when its status changes, for a service.
type logEmitter struct {
	mu     sync.Mutex
	next   consumer.Logs
	logger *zap.Logger
	// seen maps a service to the status last emitted per finding.
	seen map[string]map[findingKey]string
}

func (l *logEmitter) emit(results map[string]*checks.Result) {
	l.mu.Lock()
	ld := findingLogs(results, l.seen, time.Now())
	l.mu.Unlock()
	if ld.LogRecordCount() == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), emitTimeout)
	defer cancel()
	if err := l.next.ConsumeLogs(ctx, ld); err != nil {
		l.logger.Warn("conformance connector could not emit finding logs", zap.Error(err))
	}
}

func findingStatus(f checks.Finding) string {
	if f.Severity == checks.Info {
		return StatusInfo
	}
	return StatusFail
}

// findingLogs builds the log records of new or changed findings and updates
// seen; services no longer evaluated are forgotten, and so are findings that
// went away (if they come back, they are emitted again).
func findingLogs(results map[string]*checks.Result, seen map[string]map[findingKey]string, now time.Time) plog.Logs {
	ld := plog.NewLogs()
	for name := range seen {
		if _, ok := results[name]; !ok {
			delete(seen, name)
		}
	}
	ts := pcommon.NewTimestampFromTime(now)
	for _, name := range slices.Sorted(maps.Keys(results)) {
		res := results[name]
		prev := seen[name]
		cur := make(map[findingKey]string, len(res.Findings))
		var lrs plog.LogRecordSlice
		for _, f := range res.Findings {
			k := findingKey{f.Rule, f.Subject}
			if _, dup := cur[k]; dup {
				continue
			}
			status := findingStatus(f)
			cur[k] = status
			if prev[k] == status {
				continue
			}
			if lrs == (plog.LogRecordSlice{}) {
				rl := ld.ResourceLogs().AppendEmpty()
				rl.Resource().Attributes().PutStr(serviceNameLabel, name)
				sl := rl.ScopeLogs().AppendEmpty()
				sl.Scope().SetName(conformance.Scope)
				lrs = sl.LogRecords()
			}
			lr := lrs.AppendEmpty()
			lr.SetTimestamp(ts)
			lr.SetObservedTimestamp(ts)
			lr.SetEventName(EventName)
			lr.SetSeverityNumber(severityNumber(f.Severity))
			lr.SetSeverityText(f.Severity.String())
			lr.Body().SetStr(f.Message)
			a := lr.Attributes()
			a.PutStr(AttrRule, f.Rule)
			a.PutStr(AttrSeverity, f.Severity.String())
			a.PutStr(AttrSubject, f.Subject)
			a.PutStr(AttrStatus, status)
			for k, v := range map[string]string{AttrEvidence: f.Evidence, AttrFix: f.Fix, AttrDocs: f.Docs} {
				if v != "" {
					a.PutStr(k, v)
				}
			}
		}
		seen[name] = cur
	}
	return ld
}

func severityNumber(s checks.Severity) plog.SeverityNumber {
	switch s {
	case checks.Error:
		return plog.SeverityNumberError
	case checks.Warning:
		return plog.SeverityNumberWarn
	}
	return plog.SeverityNumberInfo
}

// metricEmitter sends, on every evaluation, obslint_findings per service,
// rule and severity (0 for a rule that passed; nothing for a rule not
// evaluated or disabled) and obslint_score per service.
type metricEmitter struct {
	next   consumer.Metrics
	logger *zap.Logger
}

func (m *metricEmitter) emit(results map[string]*checks.Result) {
	if len(results) == 0 {
		return
	}
	md := findingMetrics(results, time.Now())
	ctx, cancel := context.WithTimeout(context.Background(), emitTimeout)
	defer cancel()
	if err := m.next.ConsumeMetrics(ctx, md); err != nil {
		m.logger.Warn("conformance connector could not emit finding metrics", zap.Error(err))
	}
}

func findingMetrics(results map[string]*checks.Result, now time.Time) pmetric.Metrics {
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	rm.Resource().Attributes().PutStr(serviceNameLabel, obslintResource)
	sm := rm.ScopeMetrics().AppendEmpty()
	sm.Scope().SetName(conformance.Scope)
	ts := pcommon.NewTimestampFromTime(now)

	findings := sm.Metrics().AppendEmpty()
	findings.SetName(FindingsMetric)
	findings.SetDescription("Findings of each obslint rule in the last evaluation of a service's window (0: the rule passed).")
	findings.SetUnit("{finding}")
	fdps := findings.SetEmptyGauge().DataPoints()

	score := sm.Metrics().AppendEmpty()
	score.SetName(ScoreMetric)
	score.SetDescription("obslint conformance score (0-100) of a service's window in the last evaluation.")
	score.SetUnit("1")
	sdps := score.SetEmptyGauge().DataPoints()

	for _, name := range slices.Sorted(maps.Keys(results)) {
		res := results[name]
		counts := map[string]map[checks.Severity]int{}
		for _, f := range res.Findings {
			if counts[f.Rule] == nil {
				counts[f.Rule] = map[checks.Severity]int{}
			}
			counts[f.Rule][f.Severity]++
		}
		for _, r := range res.Rules {
			if r.Status != checks.StatusPass && r.Status != checks.StatusFail {
				continue
			}
			bySev := counts[r.ID]
			if len(bySev) == 0 {
				bySev = map[checks.Severity]int{r.Severity: 0}
			}
			for _, sev := range slices.Sorted(maps.Keys(bySev)) {
				dp := fdps.AppendEmpty()
				dp.SetTimestamp(ts)
				dp.SetIntValue(int64(bySev[sev]))
				a := dp.Attributes()
				a.PutStr("service", name)
				a.PutStr("rule", r.ID)
				a.PutStr("severity", sev.String())
			}
		}
		dp := sdps.AppendEmpty()
		dp.SetTimestamp(ts)
		dp.SetIntValue(int64(res.Summary.Score))
		dp.Attributes().PutStr("service", name)
	}
	return md
}
