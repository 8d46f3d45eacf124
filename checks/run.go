package checks

import (
	"cmp"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"
)

// SchemaVersion is the version of the JSON report contract.
const SchemaVersion = "1"

// Status is the outcome of one rule.
type Status string

const (
	StatusPass         Status = "pass"
	StatusFail         Status = "fail"
	StatusNotEvaluated Status = "not_evaluated"
	StatusDisabled     Status = "disabled"
)

// Finding is one problem a rule found.
type Finding struct {
	Rule     string   `json:"rule"`
	Severity Severity `json:"severity"`
	Message  string   `json:"message"`
	// Subject is stable across runs: a metric family, "stdout:12", a span
	// name with its trace, "GET /users/42". Baselines match on rule+subject.
	Subject string `json:"subject"`
	// Evidence is an excerpt of what was seen, secrets masked.
	Evidence string `json:"evidence,omitempty"`
	// Fix is a verb phrase for the detected stack.
	Fix  string `json:"fix,omitempty"`
	Docs string `json:"docs,omitempty"`
}

// RuleResult is the outcome of one rule.
type RuleResult struct {
	ID       string   `json:"id"`
	Signal   Signal   `json:"signal"`
	Status   Status   `json:"status"`
	Severity Severity `json:"severity"`
	Summary  string   `json:"summary"`
	// Reason says why a rule was not evaluated or disabled.
	Reason   string `json:"reason,omitempty"`
	Findings int    `json:"findings"`
}

// Summary counts findings and rule outcomes.
type Summary struct {
	Errors       int `json:"errors"`
	Warnings     int `json:"warnings"`
	Infos        int `json:"infos"`
	Score        int `json:"score"`
	Passed       int `json:"passed"`
	Failed       int `json:"failed"`
	NotEvaluated int `json:"not_evaluated"`
	Disabled     int `json:"disabled"`
}

// Tool identifies obslint in reports.
type Tool struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// Result is what every report writer reads.
type Result struct {
	SchemaVersion string            `json:"schema_version"`
	Tool          Tool              `json:"tool"`
	Target        Target            `json:"target"`
	Captured      Captured          `json:"captured"`
	Started       time.Time         `json:"started"`
	Timings       map[string]string `json:"timings,omitempty"`
	Summary       Summary           `json:"summary"`
	Rules         []RuleResult      `json:"rules"`
	Findings      []Finding         `json:"findings"`
	Problems      []Problem         `json:"problems,omitempty"`
	// Baselined are findings a --baseline file accepts: known debt, listed
	// apart from Findings and not counted toward --fail-on.
	Baselined []Finding `json:"baselined,omitempty"`
	// StaleBaseline are baseline entries that no finding matched any more.
	StaleBaseline []StaleEntry `json:"stale_baseline,omitempty"`
	// Judged says how much evidence the rules were fed: every record, not
	// just what limits let the front door keep.
	Judged Judged `json:"judged"`
}

// Judged counts the records the rules judged.
type Judged struct {
	LogLines   int `json:"log_lines"`
	LogRecords int `json:"log_records"`
	Spans      int `json:"spans"`
	Scrapes    int `json:"scrapes"`
}

// StaleEntry is a baseline entry (rule + subject) that no longer occurs,
// Count times. It carries a severity so --fail-on can gate on it like a
// finding: a suppression must not outlive its problem unnoticed.
type StaleEntry struct {
	Rule     string   `json:"rule"`
	Subject  string   `json:"subject"`
	Count    int      `json:"count"`
	Severity Severity `json:"severity"`
}

// Options select and tune rules for one run.
type Options struct {
	// Disabled maps a rule ID or a pattern ("logs/*") to the reason given.
	Disabled map[string]string
	// Severity overrides a rule's default severity.
	Severity map[string]Severity
	// ResolveProfile asks the judge to fill Target.Profile once every
	// record was seen: Profile when it names a stack, else detected from
	// the evidence (DetectProfile). Without it Target.Profile stands.
	ResolveProfile bool
	Profile        string
}

// Run judges the evidence with every rule and returns the result. Findings
// and rules are sorted so the same evidence gives the same bytes. Log lines
// held in ev.Logs, OTLP log records in ev.LogRecords and spans in ev.Spans
// are streamed through the rules like any other stream.
func Run(ev *Evidence, rules []*Rule, opt Options) Result {
	res, _ := Judgement(ev, rules, opt, Streams{})
	return res
}

// Streams are what a judgement reads as streams, each once and in order:
// OTLP feeds the OTLP log records and spans (they come first: log lines
// are judged against them), Lines the log lines. Each says how many it
// fed. A nil stream is read from the evidence: Spans, Logs.
type Streams struct {
	OTLP, Lines func(*Judge) (int, error)
}

// Judgement is the judge step of every front door, the CLI's and the
// collector's: a judge over ev, fed the OTLP log records the evidence
// holds, then the streams, then the scrapes (Result). An error is a stream
// that could not be read.
func Judgement(ev *Evidence, rules []*Rule, opt Options, s Streams) (Result, error) {
	j := NewJudge(ev, rules, opt)
	j.Records(ev.LogRecords)
	if s.OTLP == nil {
		j.Spans(ev.Spans)
	} else if _, err := s.OTLP(j); err != nil {
		return Result{}, err
	}
	if s.Lines == nil {
		j.Lines(ev.Logs)
	} else if _, err := s.Lines(j); err != nil {
		return Result{}, err
	}
	return j.Result(), nil
}

// Result resolves the profile when asked, finishes every rule and returns
// the result. The judge is not fed afterwards.
func (j *Judge) Result() Result {
	ev, opt := j.ev, j.opt
	j.seal()
	j.FeedScrapes(len(ev.Scrapes), nil)
	if opt.ResolveProfile {
		ev.resolveProfile(opt.Profile, j.spans.index.lang, j.shape, j.scrapes.stack)
	}
	res := Result{
		SchemaVersion: SchemaVersion,
		Target:        ev.Target,
		Captured:      ev.Captured,
		Problems:      append(slices.Clip(ev.Problems), j.spans.index.Problems()...),
		Rules:         []RuleResult{},
		Findings:      []Finding{},
		Judged:        Judged{LogLines: j.lines, LogRecords: j.spans.Records(), Spans: j.spans.Count(), Scrapes: len(ev.Scrapes)},
	}
	secrets := ev.secretValues()
	// First what each rule's outcome hangs on, then the checks that run,
	// on every core (a check reads the evidence and writes only its pass),
	// then the outcomes in catalogue order.
	rrs := make([]RuleResult, len(j.rules))
	passes := make([]*Pass, len(j.rules))
	checks := make([]func(*Pass), len(j.rules))
	for i, r := range j.rules {
		sev := r.Severity
		if s, ok := opt.Severity[r.ID]; ok {
			sev = s
		}
		rr := RuleResult{ID: r.ID, Signal: r.Signal(), Severity: sev, Summary: r.Summary}
		off, disabled := disabledReason(opt.Disabled, r.ID)
		missing := ev.missing(r.Needs)
		switch {
		case disabled:
			rr.Status, rr.Reason = StatusDisabled, off
		case len(r.Profiles) > 0 && ev.Target.Profile != "" && !slices.Contains(r.Profiles, ev.Target.Profile):
			rr.Status, rr.Reason = StatusNotEvaluated, fmt.Sprintf("applies to the %s profile only", strings.Join(r.Profiles, ", "))
		case missing != "":
			rr.Status, rr.Reason = StatusNotEvaluated, missing
		default:
			passes[i] = &Pass{Evidence: ev, Rule: r, spanState: j.spans.judges[i], scrapeState: j.scrapes.judges[i]}
			switch {
			case cmp.Or(j.broken[i], j.spans.broken[i], j.scrapes.broken[i]) != "":
				passes[i].skip = cmp.Or(j.broken[i], j.spans.broken[i], j.scrapes.broken[i])
			case r.Logs != nil:
				checks[i] = j.logs[i].Finish
			case r.Scrapes != nil:
				checks[i] = j.scrapes.judges[i].Finish
			case r.Spans != nil:
				checks[i] = j.spans.judges[i].Finish
			default:
				checks[i] = r.Check
			}
		}
		rrs[i] = rr
	}
	runChecks(passes, checks)
	for i, r := range j.rules {
		rr, pass := rrs[i], passes[i]
		switch {
		case pass == nil:
		case pass.skip != "":
			rr.Status, rr.Reason = StatusNotEvaluated, pass.skip
		default:
			findings := finish(pass.findings, r, rr.Severity, ev.Target.Profile, secrets)
			notes := finish(pass.notes, r, Info, ev.Target.Profile, secrets)
			res.Findings = append(res.Findings, findings...)
			res.Findings = append(res.Findings, notes...)
			rr.Findings = len(findings)
			rr.Status = StatusPass
			if rr.Findings > 0 {
				rr.Status = StatusFail
			}
		}
		res.Rules = append(res.Rules, rr)
	}
	slices.SortStableFunc(res.Rules, func(a, b RuleResult) int { return cmp.Compare(a.ID, b.ID) })
	slices.SortStableFunc(res.Findings, func(a, b Finding) int {
		// Every field takes part, so the order a check reported in never shows.
		return cmp.Or(cmp.Compare(a.Rule, b.Rule), cmp.Compare(a.Subject, b.Subject), cmp.Compare(a.Message, b.Message),
			cmp.Compare(b.Severity, a.Severity), cmp.Compare(a.Evidence, b.Evidence), cmp.Compare(a.Fix, b.Fix), cmp.Compare(a.Docs, b.Docs))
	})
	res.Findings = slices.CompactFunc(res.Findings, func(a, b Finding) bool { return a == b })
	res.Summary = summarize(res)
	return res
}

// finish fills what the rule left empty, masks secrets, and drops exact
// duplicates, so that a rule's finding count matches the findings listed.
func finish(fs []Finding, r *Rule, sev Severity, profile string, secrets []string) []Finding {
	out := make([]Finding, 0, len(fs))
	seen := make(map[Finding]bool, len(fs))
	for _, f := range fs {
		f.Rule = r.ID
		f.Severity = sev
		if f.Fix == "" {
			f.Fix = r.Fix.For(profile)
		}
		if f.Docs == "" {
			f.Docs = r.Anchor()
		}
		f.Message = Redact(f.Message, secrets)
		f.Subject = Redact(f.Subject, secrets)
		f.Evidence = Excerpt(Redact(f.Evidence, secrets), 300)
		if !seen[f] {
			seen[f] = true
			out = append(out, f)
		}
	}
	return out
}

// runChecks runs checks[i] on passes[i], where there is one, on every core.
func runChecks(passes []*Pass, checks []func(*Pass)) {
	work := make(chan int)
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for i := range work {
				runCheck(passes[i], checks[i])
			}
		})
	}
	for i, c := range checks {
		if c != nil {
			work <- i
		}
	}
	close(work)
	wg.Wait()
}

// runCheck runs one rule, turning a panic into a finding-free not_evaluated
// result rather than taking the whole run down.
func runCheck(p *Pass, check func(*Pass)) {
	defer func() {
		if v := recover(); v != nil {
			p.findings, p.notes = nil, nil
			p.skip = fmt.Sprintf("internal error in rule %s: %v (please report it)", p.Rule.ID, v)
		}
	}()
	check(p)
}

func disabledReason(disabled map[string]string, id string) (string, bool) {
	if r, ok := disabled[id]; ok {
		return r, true
	}
	for pat, r := range disabled {
		if strings.HasSuffix(pat, "/*") && strings.HasPrefix(id, strings.TrimSuffix(pat, "*")) {
			return r, true
		}
	}
	return "", false
}

func (e *Evidence) missing(needs []Need) string {
	for _, n := range needs {
		if r := e.missingOne(n); r != "" {
			return r
		}
	}
	return ""
}

func (e *Evidence) missingOne(n Need) string {
	switch n {
	case NeedScrape:
		if !e.Captured.Metrics || len(e.Scrapes) == 0 {
			return "no metrics were scraped"
		}
	case NeedFamilies:
		if !e.Captured.Metrics || len(e.Scrapes) == 0 {
			return "no metrics were scraped"
		}
		if len(e.ParsedScrapes()) == 0 {
			return "no scrape yielded any metric family (see metrics/endpoint and metrics/parse)"
		}
	case NeedTwoScrapes:
		if !e.Captured.Metrics || len(e.Scrapes) == 0 {
			return "no metrics were scraped"
		}
		if len(e.ParsedScrapes()) < 2 {
			return "needs two parsed scrapes (before and after probing); got " + fmt.Sprint(len(e.ParsedScrapes()))
		}
	case NeedLogs:
		if !e.Captured.Logs {
			return "no log stream was captured"
		}
	case NeedTraces:
		if !e.Captured.Traces {
			return e.noTraceSource()
		}
	case NeedSpans:
		if !e.Captured.Traces {
			return e.noTraceSource()
		}
		if e.SpanCount() == 0 {
			return "no spans were received (see traces/received)"
		}
	case NeedProbes:
		if !e.Captured.Probes || len(e.Probes) == 0 {
			return "no probe requests were sent (offline lint)"
		}
	case NeedTracedProbes:
		if !e.Captured.Probes || len(e.Probes) == 0 {
			return "no probe requests were sent (offline lint)"
		}
		for _, p := range e.Probes {
			if p.Traced() {
				return ""
			}
		}
		return "no probe carried a traceparent"
	}
	return ""
}

// Weights of rule outcomes in the score, by severity.
var scoreWeight = map[Severity]int{Error: 5, Warning: 2, Info: 1}

func summarize(res Result) Summary {
	var s Summary
	for _, f := range res.Findings {
		switch f.Severity {
		case Error:
			s.Errors++
		case Warning:
			s.Warnings++
		default:
			s.Infos++
		}
	}
	total, passed := 0, 0
	for _, r := range res.Rules {
		switch r.Status {
		case StatusPass:
			s.Passed++
			total += scoreWeight[r.Severity]
			passed += scoreWeight[r.Severity]
		case StatusFail:
			s.Failed++
			total += scoreWeight[r.Severity]
		case StatusNotEvaluated:
			s.NotEvaluated++
		case StatusDisabled:
			s.Disabled++
		}
	}
	if total > 0 {
		s.Score = passed * 100 / total
	}
	return s
}

// Failed reports whether any finding, or stale baseline entry, is at or
// above the threshold. Baselined findings never fail a run.
func (r Result) Failed(threshold Severity) bool {
	for _, f := range r.Findings {
		if f.Severity >= threshold {
			return true
		}
	}
	for _, e := range r.StaleBaseline {
		if e.Severity >= threshold {
			return true
		}
	}
	return false
}

// noTraceSource is the reason trace rules are not evaluated when no traces
// were captured: none was attached, or the one given could not be read.
func (e *Evidence) noTraceSource() string {
	if e.Captured.TraceSource != "" {
		return e.Captured.TraceSource + " could not be read (see problems)"
	}
	return "no trace source was attached"
}
