package main

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/obslint/obslint/checks"
	"github.com/obslint/obslint/internal/baseline"
	"github.com/obslint/obslint/internal/config"
	"github.com/obslint/obslint/internal/limits"
	"github.com/obslint/obslint/internal/progress"
	"github.com/obslint/obslint/internal/report"
	"github.com/obslint/obslint/internal/runner"
)

// judgeFlags are the flags lint and run share: how to judge and report.
type judgeFlags struct {
	profile    string
	failOn     string
	format     string
	outputs    []string
	configPath string
	limits     limits.Limits
	tuneFlags
}

func (j *judgeFlags) register(cmd *cobra.Command) {
	fs := cmd.Flags()
	fs.StringVar(&j.profile, "profile", checks.ProfileAuto, "stack conventions to judge by: auto, node or python")
	fs.StringVar(&j.failOn, "fail-on", "error", "exit 1 on findings at or above this severity: error, warning or info")
	fs.StringVar(&j.format, "format", "text", "report format on standard output: text, json, sarif, junit, markdown or github")
	fs.StringArrayVar(&j.outputs, "output", nil, "also write a report as FORMAT=PATH (repeatable; PATH - is standard output);\n"+
		"with --output, standard output gets a report only if --format is given")
	fs.StringVar(&j.configPath, "config", config.FileName, "config file; a missing default file is fine, flags win over it")
	d := limits.Default
	fs.IntVar(&j.limits.MaxLineBytes, "max-log-line-bytes", d.MaxLineBytes, "longer log lines are cut and reported")
	fs.IntVar(&j.limits.MaxLines, "max-log-lines", d.MaxLines, "log lines kept (examples, --save-evidence) and OTLP log records kept; every log line is judged")
	fs.Int64Var(&j.limits.MaxScrapeBytes, "max-scrape-bytes", d.MaxScrapeBytes, "larger expositions (after gzip) are cut and reported")
	fs.IntVar(&j.limits.MaxSpans, "max-spans", d.MaxSpans, "spans saved with --save-evidence and fetched from Jaeger per audit; every span received or read from a file is judged")
	j.tuneFlags.register(fs)
}

// plan is what judgeFlags resolve to. It is built before any capture so a
// typo fails in a second, not after a two-minute run.
type plan struct {
	profile string
	failOn  checks.Severity
	outputs []report.Output
	cfg     config.Config
	options checks.Options
	limits  limits.Limits
	// baseline, when given, is applied to the result; stale is the
	// severity of its entries that no longer occur.
	baseline *baseline.File
	stale    checks.Severity
}

func (a *app) resolve(cmd *cobra.Command, j *judgeFlags) (plan, error) {
	var p plan
	var errs []error
	if !slices.Contains([]string{checks.ProfileAuto, checks.ProfileNode, checks.ProfilePython}, j.profile) {
		errs = append(errs, fmt.Errorf("--profile: %q is not one of auto, node, python", j.profile))
	}
	p.profile = j.profile
	sev, err := checks.ParseSeverity(j.failOn)
	if err != nil {
		errs = append(errs, fmt.Errorf("--fail-on: %w", err))
	}
	p.failOn = sev
	if len(j.outputs) == 0 || cmd.Flags().Changed("format") {
		f, err := report.ParseFormat(j.format)
		if err != nil {
			errs = append(errs, fmt.Errorf("--format: %w", err))
		}
		p.outputs = append(p.outputs, report.Output{Format: f, Path: "-"})
	}
	for _, o := range j.outputs {
		out, err := report.ParseOutput(o)
		if err != nil {
			errs = append(errs, fmt.Errorf("--output: %w", err))
		}
		p.outputs = append(p.outputs, out)
	}
	if err := checkOutputPaths(p.outputs); err != nil {
		errs = append(errs, err)
	}
	cfg, found, err := config.Load(j.configPath)
	switch {
	case err != nil:
		errs = append(errs, err)
	case !found && cmd.Flags().Changed("config"):
		errs = append(errs, fmt.Errorf("--config: %s: no such file", j.configPath))
	}
	if !cmd.Flags().Changed("profile") && cfg.Profile != "" {
		p.profile = cfg.Profile
	}
	if err := j.applyExpect(&cfg.Expect); err != nil {
		errs = append(errs, err)
	}
	p.cfg = cfg
	opts, err := a.ruleOptions(cfg.Rules, cfg.Source)
	if err != nil {
		errs = append(errs, err)
	}
	if err := j.applyRules(a, &opts); err != nil {
		errs = append(errs, err)
	}
	p.options = opts
	p.limits = j.fileLimits(cmd, cfg.Limits)
	l := p.limits
	if l.MaxLineBytes <= 0 || l.MaxLines <= 0 || l.MaxScrapeBytes <= 0 || l.MaxSpans <= 0 {
		errs = append(errs, errors.New("--max-log-line-bytes, --max-log-lines, --max-scrape-bytes and --max-spans must be positive"))
	}
	p.baseline, p.stale, err = j.loadBaseline()
	if err != nil {
		errs = append(errs, err)
	}
	return p, errors.Join(errs...)
}

// fileLimits takes each limit from the file unless its flag was given.
func (j *judgeFlags) fileLimits(cmd *cobra.Command, f config.Limits) limits.Limits {
	l := j.limits
	changed := cmd.Flags().Changed
	if !changed("max-log-line-bytes") && f.MaxLogLineBytes > 0 {
		l.MaxLineBytes = f.MaxLogLineBytes
	}
	if !changed("max-log-lines") && f.MaxLogLines > 0 {
		l.MaxLines = f.MaxLogLines
	}
	if !changed("max-scrape-bytes") && f.MaxScrapeBytes > 0 {
		l.MaxScrapeBytes = f.MaxScrapeBytes
	}
	if !changed("max-spans") && f.MaxSpans > 0 {
		l.MaxSpans = f.MaxSpans
	}
	return l
}

// ruleOptions turns the config's rules section into run options. A rule ID
// that names nothing is an error: a silent typo would keep a rule running
// that the user believes disabled. Errors name the key and its line.
func (a *app) ruleOptions(r config.Rules, src *config.Source) (checks.Options, error) {
	opts := checks.Options{Disabled: map[string]string{}, Severity: map[string]checks.Severity{}}
	var errs []error
	for _, id := range sortedKeys(r.Disable) {
		if err := a.ruleKeyError(src, "rules::disable::"+id, id, true); err != nil {
			errs = append(errs, err)
		}
		opts.Disabled[id] = r.Disable[id]
	}
	for _, id := range sortedKeys(r.Severity) {
		key := "rules::severity::" + id
		if err := a.ruleKeyError(src, key, id, false); err != nil {
			errs = append(errs, err)
		}
		sev, err := checks.ParseSeverity(r.Severity[id])
		if err != nil {
			errs = append(errs, src.Errorf(key, "", "%v", err))
		}
		opts.Severity[id] = sev
	}
	return opts, errors.Join(errs...)
}

// ruleKeyError locates knownRule's complaint about a rule key in the file,
// with the closest known ID as the hint.
func (a *app) ruleKeyError(src *config.Source, key, id string, patternOK bool) error {
	if a.knownRule(id, patternOK) == nil {
		return nil
	}
	if _, ok := strings.CutSuffix(id, "/*"); ok && patternOK {
		return src.Errorf(key, "want metrics, logs, traces or correlation", "unknown signal %q", strings.TrimSuffix(id, "/*"))
	}
	var ids []string
	for _, r := range a.rules() {
		ids = append(ids, r.ID)
	}
	if s := closest(id, ids); s != "" {
		return src.Errorf(key, "did you mean "+s+"?", "unknown rule %s", id)
	}
	return src.Errorf(key, "see obslint rules", "unknown rule %s", id)
}

func (a *app) knownRule(id string, patternOK bool) error {
	if sig, ok := strings.CutSuffix(id, "/*"); ok && patternOK {
		if slices.Contains(checks.Signals, checks.Signal(sig)) {
			return nil
		}
		return fmt.Errorf("unknown signal %q (want metrics, logs, traces or correlation)", sig)
	}
	if a.lookup(id) != nil {
		return nil
	}
	return a.unknownRule(id)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// feed streams OTLP data (records, then spans) or log lines into a judge
// and says how many it read: the spans and lines of files lint reads, or
// what a capture spooled (see checks.Streams).
type feed = func(*checks.Judge) (int, error)

// judge runs the catalogue over the evidence and what the feeds bring (the
// OTLP log records and spans first: log lines are judged against them),
// lets it resolve the
// profile, and stamps the result with the tool, when the capture started
// and how long its phases took.
func (a *app) judge(ev *checks.Evidence, otlp, lines feed, p plan, started time.Time, timings []runner.Timing) (checks.Result, error) {
	ev.Expect = expectations(ev.Expect, p.cfg.Expect)
	opt := p.options
	// A profile recorded with the evidence (evidence.json) stands unless the
	// user asked for one.
	opt.ResolveProfile = p.profile != checks.ProfileAuto || ev.Target.Profile == ""
	opt.Profile = p.profile
	judging := a.now()
	res, err := checks.Judgement(ev, a.rules(), opt, checks.Streams{OTLP: otlp, Lines: lines})
	if err != nil {
		return checks.Result{}, fmt.Errorf("cannot read evidence: %w", err)
	}
	res.Tool = checks.Tool{Name: "obslint", Version: toolVersion()}
	res.Started = started.UTC()
	if len(timings) > 0 {
		res.Timings = timingMap(append(timings, runner.Timing{Phase: "judge", Duration: a.now().Sub(judging)}))
	}
	if p.baseline != nil {
		baseline.Apply(&res, *p.baseline, p.stale)
	}
	return res, nil
}

// expectations merges what the evidence recorded (evidence.json, or the
// runner) with the config and flags: lists are joined, and a duration metric
// recorded with the evidence stands.
func expectations(ev checks.Expectations, cfg config.Expect) checks.Expectations {
	c := cfg.Expectations()
	return checks.Expectations{
		DurationMetric:  cmp.Or(ev.DurationMetric, c.DurationMetric),
		RequiredMetrics: union(ev.RequiredMetrics, c.RequiredMetrics),
		Routes:          union(ev.Routes, c.Routes),
		LogFields:       union(ev.LogFields, c.LogFields),
	}
}

// timingMap sums phase durations; a phase may run more than once.
func timingMap(ts []runner.Timing) map[string]string {
	sum := map[string]int64{}
	for _, t := range ts {
		sum[t.Phase] += int64(t.Duration)
	}
	out := make(map[string]string, len(sum))
	for phase, d := range sum {
		out[phase] = time.Duration(d).Round(time.Millisecond).String()
	}
	return out
}

// report writes every requested report, then turns findings at or above
// --fail-on into errFindings. Every output is attempted even if one fails.
func (a *app) report(res checks.Result, p plan) error {
	opt := a.reportOptions(p)
	onStdout := opt
	onStdout.Color = progress.IsTerminal(a.stdout) && a.getenv("NO_COLOR") == ""
	var errs []error
	for _, o := range p.outputs {
		if o.Path == "-" {
			errs = append(errs, report.Write(a.stdout, o.Format, res, onStdout))
			continue
		}
		var buf bytes.Buffer
		if err := report.Write(&buf, o.Format, res, opt); err != nil {
			errs = append(errs, err)
			continue
		}
		if err := os.WriteFile(o.Path, buf.Bytes(), 0o644); err != nil {
			errs = append(errs, fmt.Errorf("--output %s=%s: %w", o.Format, o.Path, err))
		}
	}
	errs = append(errs, a.annotate(res, p, opt))
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if res.Failed(p.failOn) {
		return errFindings
	}
	return nil
}
