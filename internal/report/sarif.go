package report

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/obslint/obslint/checks"
)

// SARIF 2.1.0 as GitHub code scanning ingests it (reference
// ci-integration.md §1). The choices that are not obvious:
//
//   - Every result points at a file (Options.Location, line 1): GitHub
//     rejects the whole upload if one result has no physical location, and
//     rejects URLs, so the probed URL goes in result properties instead.
//   - Every result carries its own partialFingerprints, from rule and
//     subject: with all results on one line, the fingerprints upload-sarif
//     computes from the line's content would all be the same.
//   - Rules that were not evaluated are toolExecutionNotifications, and
//     disabled rules and severity overrides are ruleConfigurationOverrides.
//     Neither has results, so within a category GitHub would close their
//     old alerts as fixed: the notifications say why, and run.properties
//     lists them, so a CI step can refuse to upload a partial run.
//   - Results are capped at maxSARIFResults, most severe first.

const (
	sarifVersion = "2.1.0"
	sarifSchema  = "https://json.schemastore.org/sarif-2.1.0.json"
	// maxSARIFResults stays well under GitHub's soft limit of 5,000 results
	// per run (above it GitHub keeps the most severe 5,000 silently).
	maxSARIFResults = 1000
	// maxDescription is GitHub's limit on short and full descriptions.
	maxDescription = 1024
	// fingerprintKey is obslint's own copy of the fingerprint; GitHub reads
	// only primaryLocationLineHash.
	fingerprintKey = "obslint/v1"
)

// ProjectURL is obslint's home, from its module path.
const ProjectURL = "https://github.com/obslint/obslint"

// DocsBaseURL turns a finding's repo-relative Docs ("docs/rules.md#…") into
// a link that works outside the obslint repo: SARIF helpUri must be an
// absolute URI, and a step summary is read on the service's repo.
const DocsBaseURL = ProjectURL + "/blob/main/"

type sarifLog struct {
	Schema  string     `json:"$schema"`
	Version string     `json:"version"`
	Runs    []sarifRun `json:"runs"`
}

type sarifRun struct {
	Tool              sarifTool          `json:"tool"`
	AutomationDetails sarifAutomation    `json:"automationDetails"`
	Invocations       []sarifInvocation  `json:"invocations"`
	Results           []sarifResult      `json:"results"`
	Properties        sarifRunProperties `json:"properties"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name            string            `json:"name"`
	Version         string            `json:"version,omitempty"`
	SemanticVersion string            `json:"semanticVersion,omitempty"`
	InformationURI  string            `json:"informationUri"`
	Rules           []sarifDescriptor `json:"rules"`
}

type sarifDescriptor struct {
	ID                   string             `json:"id"`
	Name                 string             `json:"name"`
	ShortDescription     sarifText          `json:"shortDescription"`
	FullDescription      sarifText          `json:"fullDescription"`
	Help                 sarifHelp          `json:"help"`
	HelpURI              string             `json:"helpUri"`
	DefaultConfiguration sarifConfiguration `json:"defaultConfiguration"`
	Properties           sarifRuleProps     `json:"properties"`
}

type sarifText struct {
	Text string `json:"text"`
}

type sarifHelp struct {
	Text     string `json:"text"`
	Markdown string `json:"markdown"`
}

type sarifConfiguration struct {
	Enabled *bool  `json:"enabled,omitempty"`
	Level   string `json:"level,omitempty"`
}

type sarifRuleProps struct {
	Tags            []string `json:"tags"`
	Precision       string   `json:"precision"`
	ProblemSeverity string   `json:"problem.severity"`
}

type sarifAutomation struct {
	ID string `json:"id"`
}

type sarifInvocation struct {
	ExecutionSuccessful        bool                `json:"executionSuccessful"`
	ToolExecutionNotifications []sarifNotification `json:"toolExecutionNotifications,omitempty"`
	RuleConfigurationOverrides []sarifOverride     `json:"ruleConfigurationOverrides,omitempty"`
}

type sarifNotification struct {
	Level          string        `json:"level"`
	Message        sarifText     `json:"message"`
	AssociatedRule *sarifRuleRef `json:"associatedRule,omitempty"`
}

type sarifRuleRef struct {
	ID    string `json:"id"`
	Index int    `json:"index"`
}

type sarifOverride struct {
	Descriptor    sarifRuleRef       `json:"descriptor"`
	Configuration sarifConfiguration `json:"configuration"`
}

type sarifResult struct {
	RuleID              string            `json:"ruleId"`
	RuleIndex           int               `json:"ruleIndex"`
	Level               string            `json:"level"`
	Message             sarifText         `json:"message"`
	Locations           []sarifLocation   `json:"locations"`
	PartialFingerprints map[string]string `json:"partialFingerprints"`
	Properties          sarifResultProps  `json:"properties"`
}

type sarifLocation struct {
	PhysicalLocation sarifPhysical `json:"physicalLocation"`
}

type sarifPhysical struct {
	ArtifactLocation sarifArtifact `json:"artifactLocation"`
	Region           sarifRegion   `json:"region"`
}

type sarifArtifact struct {
	URI string `json:"uri"`
}

type sarifRegion struct {
	StartLine int `json:"startLine"`
}

type sarifResultProps struct {
	Signal   string `json:"signal"`
	Subject  string `json:"subject"`
	Service  string `json:"service,omitempty"`
	URL      string `json:"url,omitempty"`
	Evidence string `json:"evidence,omitempty"`
	Fix      string `json:"fix,omitempty"`
}

// sarifRunProperties is what a CI step needs to judge the run as a whole
// before it uploads: a run with rules not evaluated closes their alerts.
type sarifRunProperties struct {
	Score          int      `json:"score"`
	Profile        string   `json:"profile"`
	NotEvaluated   []string `json:"notEvaluated"`
	Disabled       []string `json:"disabled"`
	OmittedResults int      `json:"omittedResults"`
}

func writeSARIF(w io.Writer, res checks.Result, opt Options) error {
	return encodeJSON(w, toSARIF(res, opt))
}

func toSARIF(res checks.Result, opt Options) sarifLog {
	rules, index := sarifRules(res, opt.Rules)
	kept := mostSevere(res.Findings, maxSARIFResults)
	run := sarifRun{
		Tool: sarifTool{Driver: sarifDriver{
			Name:            cmp.Or(res.Tool.Name, "obslint"),
			Version:         numericVersion(res.Tool.Version),
			SemanticVersion: semanticVersion(res.Tool.Version),
			InformationURI:  ProjectURL,
			Rules:           rules,
		}},
		AutomationDetails: sarifAutomation{ID: cmp.Or(opt.Category, defaultCategory(res.Target.Service))},
		Invocations:       []sarifInvocation{sarifInvocationOf(res, opt.Rules, index)},
		Results:           sarifResults(res, kept, index, opt),
		Properties: sarifRunProperties{Score: res.Summary.Score, Profile: res.Target.Profile,
			NotEvaluated: idsWith(res.Rules, checks.StatusNotEvaluated), Disabled: idsWith(res.Rules, checks.StatusDisabled),
			OmittedResults: len(res.Findings) - len(kept)},
	}
	return sarifLog{Schema: sarifSchema, Version: sarifVersion, Runs: []sarifRun{run}}
}

// sarifRules describes every rule the result mentions, in result order, and
// returns the index of each ID for ruleIndex.
func sarifRules(res checks.Result, catalogue []*checks.Rule) ([]sarifDescriptor, map[string]int) {
	byID := make(map[string]*checks.Rule, len(catalogue))
	for _, r := range catalogue {
		if r != nil {
			byID[r.ID] = r
		}
	}
	var out []sarifDescriptor
	index := map[string]int{}
	add := func(id string, fallback checks.RuleResult) {
		if _, seen := index[id]; seen {
			return
		}
		index[id] = len(out)
		out = append(out, sarifDescriptorOf(id, byID[id], fallback))
	}
	for _, r := range res.Rules {
		add(r.ID, r)
	}
	for _, f := range res.Findings {
		add(f.Rule, checks.RuleResult{ID: f.Rule, Signal: signalOf(f.Rule), Severity: f.Severity})
	}
	if out == nil {
		out = []sarifDescriptor{}
	}
	return out, index
}

// sarifDescriptorOf builds a rule's metadata from the catalogue, or from
// what the result knows when the rule is not in it: GitHub requires every
// description and help text to be non-empty.
func sarifDescriptorOf(id string, r *checks.Rule, rr checks.RuleResult) sarifDescriptor {
	summary, doc, sev := rr.Summary, "", rr.Severity
	var fix checks.Fix
	var profiles []string
	if r != nil {
		summary, doc, sev, fix, profiles = r.Summary, strings.TrimSpace(r.Doc), r.Severity, r.Fix, r.Profiles
	}
	summary = cmp.Or(summary, id)
	full := sentence(cmp.Or(firstParagraph(doc), summary))
	return sarifDescriptor{
		ID:                   id,
		Name:                 ruleName(id),
		ShortDescription:     sarifText{Text: clip(sentence(summary), maxDescription)},
		FullDescription:      sarifText{Text: clip(full, maxDescription)},
		Help:                 sarifHelpOf(summary, doc, fix),
		HelpURI:              docsURL(docsAnchor(id)),
		DefaultConfiguration: sarifConfiguration{Level: sarifLevel(sev)},
		Properties: sarifRuleProps{Tags: ruleTags(signalOf(id), profiles), Precision: "high",
			ProblemSeverity: problemSeverity(sev)},
	}
}

func sarifHelpOf(summary, doc string, fix checks.Fix) sarifHelp {
	text := []string{sentence(summary)}
	md := []string{escapeText(sentence(summary))}
	if doc != "" {
		text = append(text, doc)
		md = append(md, demoteHeadings(doc))
	}
	var hints []string
	for _, h := range []struct{ label, text string }{
		{"Node", fix.Node}, {"Python", fix.Python}, {"Any stack", fix.Generic},
	} {
		if t := strings.TrimSpace(h.text); t != "" {
			hints = append(hints, h.label+": "+t)
		}
	}
	if len(hints) > 0 {
		text = append(text, "Fix hint:\n"+strings.Join(hints, "\n"))
		mdHints := make([]string, len(hints))
		for i, h := range hints {
			label, t, _ := strings.Cut(h, ": ")
			mdHints[i] = "- **" + label + ":** " + escapeText(t)
		}
		md = append(md, "**Fix hint**\n\n"+strings.Join(mdHints, "\n"))
	}
	return sarifHelp{Text: strings.Join(text, "\n\n"), Markdown: strings.Join(md, "\n\n")}
}

func sarifInvocationOf(res checks.Result, catalogue []*checks.Rule, index map[string]int) sarifInvocation {
	defaults := map[string]checks.Severity{}
	for _, r := range catalogue {
		if r != nil {
			defaults[r.ID] = r.Severity
		}
	}
	inv := sarifInvocation{ExecutionSuccessful: true}
	disabled := false
	for _, r := range res.Rules {
		ref := sarifRuleRef{ID: r.ID, Index: index[r.ID]}
		switch r.Status {
		case checks.StatusNotEvaluated:
			inv.ToolExecutionNotifications = append(inv.ToolExecutionNotifications, sarifNotification{
				Level:          "warning",
				Message:        sarifText{Text: sentence(fmt.Sprintf("%s was not evaluated: %s", r.ID, cmp.Or(r.Reason, "no reason given")))},
				AssociatedRule: &ref,
			})
		case checks.StatusDisabled:
			inv.RuleConfigurationOverrides = append(inv.RuleConfigurationOverrides,
				sarifOverride{Descriptor: ref, Configuration: sarifConfiguration{Enabled: &disabled}})
		default:
			if d, ok := defaults[r.ID]; ok && d != r.Severity {
				inv.RuleConfigurationOverrides = append(inv.RuleConfigurationOverrides,
					sarifOverride{Descriptor: ref, Configuration: sarifConfiguration{Level: sarifLevel(r.Severity)}})
			}
		}
	}
	for _, p := range res.Problems {
		inv.ToolExecutionNotifications = append(inv.ToolExecutionNotifications, sarifNotification{
			Level: "warning", Message: sarifText{Text: sentence(p.Phase + ": " + p.Message)}})
	}
	for _, e := range res.StaleBaseline {
		inv.ToolExecutionNotifications = append(inv.ToolExecutionNotifications, sarifNotification{
			Level: "warning", Message: sarifText{Text: fmt.Sprintf("Baseline entry %s %q no longer occurs (%d times): remove it from the baseline.", e.Rule, e.Subject, e.Count)}})
	}
	if n := len(res.Findings) - min(len(res.Findings), maxSARIFResults); n > 0 {
		inv.ToolExecutionNotifications = append(inv.ToolExecutionNotifications, sarifNotification{
			Level: "warning", Message: sarifText{Text: fmt.Sprintf("%d less severe findings were left out of this SARIF file (at most %d per run); the JSON report has them all.", n, maxSARIFResults)}})
	}
	return inv
}

func sarifResults(res checks.Result, findings []checks.Finding, index map[string]int, opt Options) []sarifResult {
	out := make([]sarifResult, 0, len(findings))
	seen := map[string]int{}
	for _, f := range findings {
		fp := Fingerprint(f.Rule, f.Subject)
		// Two findings on one subject (two problems with one metric) must
		// stay two alerts; numbering repeats is what upload-sarif does for
		// identical lines.
		seen[fp]++
		fp = fmt.Sprintf("%s:%d", fp, seen[fp])
		out = append(out, sarifResult{
			RuleID:    f.Rule,
			RuleIndex: index[f.Rule],
			Level:     sarifLevel(f.Severity),
			Message:   sarifText{Text: findingMessage(f)},
			Locations: []sarifLocation{{PhysicalLocation: sarifPhysical{
				ArtifactLocation: sarifArtifact{URI: opt.location()}, Region: sarifRegion{StartLine: opt.line(f.Rule)}}}},
			PartialFingerprints: map[string]string{"primaryLocationLineHash": fp, fingerprintKey: fp},
			Properties: sarifResultProps{Signal: string(signalOf(f.Rule)), Subject: f.Subject,
				Service: res.Target.Service, URL: res.Target.URL, Evidence: f.Evidence, Fix: f.Fix},
		})
	}
	return out
}

// Fingerprint is a finding's stable identity, 16 hex digits from its rule
// and subject: never the message, whose wording changes between releases,
// nor anything that differs between runs of the same service.
func Fingerprint(rule, subject string) string {
	sum := sha256.Sum256([]byte(fingerprintKey + "\x00" + rule + "\x00" + subject))
	return hex.EncodeToString(sum[:8])
}

// mostSevere keeps at most n findings, dropping the least severe first, and
// keeps the kept ones in their report order.
func mostSevere(fs []checks.Finding, n int) []checks.Finding {
	if len(fs) <= n {
		return fs
	}
	order := make([]int, len(fs))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(fs[b].Severity, fs[a].Severity) })
	keep := order[:n]
	slices.Sort(keep)
	out := make([]checks.Finding, n)
	for i, k := range keep {
		out[i] = fs[k]
	}
	return out
}

// findingMessage is the alert title: its first sentence must stand alone,
// so it names the subject before saying what is wrong with it.
func findingMessage(f checks.Finding) string {
	msg := strings.TrimSpace(f.Message)
	if msg == "" {
		msg = "finding of " + f.Rule
	}
	if f.Subject != "" {
		msg = f.Subject + ": " + msg
	}
	return sentence(msg)
}

// sentence ends s with a period unless it ends with punctuation already.
func sentence(s string) string {
	s = strings.TrimSpace(s)
	if s == "" || strings.HasSuffix(s, ".") || strings.HasSuffix(s, "!") || strings.HasSuffix(s, "?") {
		return s
	}
	return s + "."
}

func sarifLevel(s checks.Severity) string {
	switch s {
	case checks.Error:
		return "error"
	case checks.Warning:
		return "warning"
	}
	return "note"
}

// problemSeverity is GitHub's severity of a non-security rule.
func problemSeverity(s checks.Severity) string {
	switch s {
	case checks.Error:
		return "error"
	case checks.Warning:
		return "warning"
	}
	return "recommendation"
}

// signalTags say which telemetry stack a rule is about, for filtering in
// the code scanning UI.
var signalTags = map[checks.Signal]string{
	checks.Metrics:     "prometheus",
	checks.Logs:        "logging",
	checks.Traces:      "opentelemetry",
	checks.Correlation: "correlation",
}

func ruleTags(sig checks.Signal, profiles []string) []string {
	tags := []string{"observability", string(sig)}
	if t := signalTags[sig]; t != "" && t != string(sig) {
		tags = append(tags, t)
	}
	return append(tags, profiles...)
}

// ruleName is the PascalCase name SARIF viewers show beside the ID:
// "metrics/counter-suffix" is "MetricsCounterSuffix".
func ruleName(id string) string {
	var b strings.Builder
	for _, part := range strings.FieldsFunc(id, func(r rune) bool { return r == '/' || r == '-' || r == '.' || r == '_' }) {
		r, size := utf8.DecodeRuneInString(part)
		b.WriteString(strings.ToUpper(string(r)) + part[size:])
	}
	return cmp.Or(b.String(), "Rule")
}

// docsAnchor is where a rule is documented, as checks.Rule.Anchor says.
func docsAnchor(id string) string {
	return (&checks.Rule{ID: id}).Anchor()
}

// docsURL makes a repo-relative docs path absolute; anything that already
// has a scheme is left alone.
func docsURL(docs string) string {
	if docs == "" || strings.Contains(docs, "://") {
		return docs
	}
	return DocsBaseURL + strings.TrimPrefix(docs, "/")
}

// firstParagraph is the first paragraph of a rule's Doc that is prose, not
// a heading or code, as one line.
func firstParagraph(doc string) string {
	for p := range strings.SplitSeq(doc, "\n\n") {
		p = strings.TrimSpace(p)
		if p == "" || strings.HasPrefix(p, "#") || strings.HasPrefix(p, "```") || strings.HasPrefix(p, "    ") {
			continue
		}
		return strings.Join(strings.Fields(p), " ")
	}
	return ""
}

// clip cuts s to at most n bytes on a rune boundary, marking the cut.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n - len("…")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

var categoryUnsafe = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// defaultCategory keeps each service in its own code scanning category, so
// uploads for two services of one repo do not close each other's alerts.
func defaultCategory(service string) string {
	s := strings.Trim(categoryUnsafe.ReplaceAllString(service, "-"), "-")
	if s == "" {
		return "obslint/"
	}
	return "obslint/" + s + "/"
}

var semverRE = regexp.MustCompile(`^v?(\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.+-]*)?)$`)

// semanticVersion is the version without a leading "v" when it is one
// (GitHub prefers semanticVersion for tracking tool changes); "dev" is not.
func semanticVersion(v string) string {
	if m := semverRE.FindStringSubmatch(v); m != nil {
		return m[1]
	}
	return ""
}

// numericVersion is the version as SARIF wants it, starting with a digit
// so versions compare ("v1.2.3" is "1.2.3"); "dev" and other words are
// left out rather than written in a form the validator warns about. The
// JSON report keeps the version as given.
func numericVersion(v string) string {
	v = strings.TrimPrefix(v, "v")
	if v == "" || v[0] < '0' || v[0] > '9' {
		return ""
	}
	return v
}

func idsWith(rules []checks.RuleResult, status checks.Status) []string {
	ids := []string{}
	for _, r := range rules {
		if r.Status == status {
			ids = append(ids, r.ID)
		}
	}
	return ids
}

// encodeJSON writes v as indented JSON (SARIF, the rule list).
func encodeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
