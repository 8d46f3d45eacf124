package main

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/pflag"

	"github.com/obslint/obslint/checks"
	"github.com/obslint/obslint/internal/baseline"
	"github.com/obslint/obslint/internal/config"
)

// tuneFlags are the flags that mirror obslint.yaml's expect and rules
// sections, and the baseline: what to expect and how to judge, shared by
// lint and run. Lists add to the file's; a rule named by a flag and by the
// file takes the flag's setting.
type tuneFlags struct {
	durationMetric  string
	expectMetrics   []string
	expectRoutes    []string
	expectLogFields []string
	disable         []string
	severity        []string
	baseline        string
	staleBaseline   string
}

func (t *tuneFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&t.durationMetric, "expect-duration-metric", "", "name of the HTTP server duration histogram, when not a conventional one")
	fs.StringArrayVar(&t.expectMetrics, "expect-metric", nil, "metric family that must be exposed (repeatable; adds to expect.required_metrics)")
	fs.StringArrayVar(&t.expectRoutes, "expect-route", nil, "route template that must have a SERVER span (repeatable; adds to expect.routes)")
	fs.StringArrayVar(&t.expectLogFields, "expect-log-field", nil, "field every JSON log line must carry (repeatable; adds to expect.log_fields)")
	fs.StringArrayVar(&t.disable, "disable", nil, "disable a rule or signal/* as 'ID=reason' (repeatable; the reason is required)")
	fs.StringArrayVar(&t.severity, "severity", nil, "override a rule's severity as 'ID=error|warning|info' (repeatable)")
	fs.StringVar(&t.baseline, "baseline", "", "baseline file (obslint baseline write): its findings do not fail the run; entries no longer found do")
	fs.StringVar(&t.staleBaseline, "stale-baseline", "error", "severity of baseline entries that no longer occur, gated by --fail-on like findings")
}

// applyExpect lays the expectation flags over the config's.
func (t *tuneFlags) applyExpect(e *config.Expect) error {
	var errs []error
	if t.durationMetric != "" {
		if !config.IsMetricName(t.durationMetric) {
			errs = append(errs, fmt.Errorf("--expect-duration-metric: %q is not a Prometheus metric name", t.durationMetric))
		}
		e.DurationMetric = t.durationMetric
	}
	for _, m := range t.expectMetrics {
		if !config.IsMetricName(m) {
			errs = append(errs, fmt.Errorf("--expect-metric: %q is not a Prometheus metric name", m))
		}
	}
	for _, r := range t.expectRoutes {
		if !strings.HasPrefix(r, "/") {
			errs = append(errs, fmt.Errorf("--expect-route: %q must start with /", r))
		}
	}
	for _, f := range t.expectLogFields {
		if strings.TrimSpace(f) == "" {
			errs = append(errs, errors.New("--expect-log-field: must not be empty"))
		}
	}
	e.RequiredMetrics = union(e.RequiredMetrics, t.expectMetrics)
	e.Routes = union(e.Routes, t.expectRoutes)
	e.LogFields = union(e.LogFields, t.expectLogFields)
	return errors.Join(errs...)
}

// applyRules lays --disable and --severity over the options from the file.
func (t *tuneFlags) applyRules(a *app, opts *checks.Options) error {
	var errs []error
	for _, s := range t.disable {
		id, reason, ok := strings.Cut(s, "=")
		id = strings.TrimSpace(id)
		switch {
		case !ok || strings.TrimSpace(reason) == "":
			errs = append(errs, fmt.Errorf("--disable %q: want 'ID=reason'; a disabled rule needs a reason", s))
			continue
		case a.knownRule(id, true) != nil:
			errs = append(errs, fmt.Errorf("--disable %s: %w", id, a.knownRule(id, true)))
			continue
		}
		opts.Disabled[id] = strings.TrimSpace(reason)
	}
	for _, s := range t.severity {
		id, level, ok := strings.Cut(s, "=")
		id = strings.TrimSpace(id)
		if !ok {
			errs = append(errs, fmt.Errorf("--severity %q: want 'ID=error|warning|info'", s))
			continue
		}
		if err := a.knownRule(id, false); err != nil {
			errs = append(errs, fmt.Errorf("--severity %s: %w", id, err))
			continue
		}
		sev, err := checks.ParseSeverity(level)
		if err != nil {
			errs = append(errs, fmt.Errorf("--severity %s: %w", id, err))
			continue
		}
		opts.Severity[id] = sev
	}
	return errors.Join(errs...)
}

// loadBaseline reads --baseline before anything is launched, so a bad file
// fails in a second.
func (t *tuneFlags) loadBaseline() (*baseline.File, checks.Severity, error) {
	var errs []error
	stale, err := checks.ParseSeverity(t.staleBaseline)
	if err != nil {
		errs = append(errs, fmt.Errorf("--stale-baseline: %w", err))
	}
	if t.baseline == "" {
		return nil, stale, errors.Join(errs...)
	}
	f, err := baseline.Read(t.baseline)
	if err != nil {
		return nil, stale, errors.Join(append(errs, err)...)
	}
	return &f, stale, errors.Join(errs...)
}

// union appends the items of b not already in a.
func union(a, b []string) []string {
	out := slices.Clone(a)
	for _, s := range b {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}
