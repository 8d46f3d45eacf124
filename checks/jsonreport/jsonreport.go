// Package jsonreport writes a checks.Result in the JSON report contract
// (schema_version "1"): every front door's JSON, the collector's report
// endpoint included, goes through it.
package jsonreport

import (
	"cmp"
	"encoding/json"
	"io"
	"time"

	"github.com/obslint/obslint/checks"
)

// The JSON report is a contract (DESIGN.md): fields may be added, never
// renamed. These wire structs hold it apart from the model, so a change to
// checks cannot silently change the bytes scripts read. Contract fields carry
// no omitempty: a script can rely on each key being present.
type jsonReport struct {
	SchemaVersion string            `json:"schema_version"`
	Tool          jsonTool          `json:"tool"`
	Target        jsonTarget        `json:"target"`
	Captured      jsonCaptured      `json:"captured"`
	Started       string            `json:"started,omitempty"`
	Timings       map[string]string `json:"timings,omitempty"`
	Summary       jsonSummary       `json:"summary"`
	Rules         []jsonRule        `json:"rules"`
	Findings      []jsonFinding     `json:"findings"`
	Problems      []jsonProblem     `json:"problems"`
	Judged        jsonJudged        `json:"judged"`
	// Baselined and StaleBaseline are present only when a --baseline file
	// was applied (docs/report-json.md).
	Baselined     []jsonFinding `json:"baselined,omitempty"`
	StaleBaseline []jsonStale   `json:"stale_baseline,omitempty"`
}

// jsonJudged counts what the rules were fed.
type jsonJudged struct {
	LogLines   int `json:"log_lines"`
	LogRecords int `json:"log_records"`
	Spans      int `json:"spans"`
	Scrapes    int `json:"scrapes"`
}

type jsonStale struct {
	Rule     string `json:"rule"`
	Subject  string `json:"subject"`
	Count    int    `json:"count"`
	Severity string `json:"severity"`
}

type jsonTool struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

type jsonTarget struct {
	Service       string   `json:"service"`
	Profile       string   `json:"profile"`
	ProfileReason string   `json:"profile_reason,omitempty"`
	URL           string   `json:"url,omitempty"`
	MetricsURL    string   `json:"metrics_url,omitempty"`
	Command       []string `json:"command,omitempty"`
}

type jsonCaptured struct {
	Probes      bool   `json:"probes"`
	Metrics     bool   `json:"metrics"`
	Logs        bool   `json:"logs"`
	Traces      bool   `json:"traces"`
	LogSource   string `json:"log_source,omitempty"`
	TraceSource string `json:"trace_source,omitempty"`
}

type jsonSummary struct {
	Errors       int `json:"errors"`
	Warnings     int `json:"warnings"`
	Infos        int `json:"infos"`
	Score        int `json:"score"`
	Passed       int `json:"passed"`
	Failed       int `json:"failed"`
	NotEvaluated int `json:"not_evaluated"`
	Disabled     int `json:"disabled"`
}

type jsonRule struct {
	ID       string `json:"id"`
	Signal   string `json:"signal"`
	Status   string `json:"status"`
	Severity string `json:"severity"`
	Summary  string `json:"summary"`
	Reason   string `json:"reason"`
	Findings int    `json:"findings"`
}

type jsonFinding struct {
	Rule     string `json:"rule"`
	Severity string `json:"severity"`
	Message  string `json:"message"`
	Subject  string `json:"subject"`
	Evidence string `json:"evidence"`
	Fix      string `json:"fix"`
	Docs     string `json:"docs"`
}

type jsonProblem struct {
	Phase   string `json:"phase"`
	Message string `json:"message"`
}

// Write writes res as an indented JSON report.
func Write(w io.Writer, res checks.Result) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(toJSON(res))
}

func toJSON(res checks.Result) jsonReport {
	t, c, s := res.Target, res.Captured, res.Summary
	out := jsonReport{
		// The writer defines the wire shape, so it states its own version.
		SchemaVersion: checks.SchemaVersion,
		Tool:          jsonTool{Name: cmp.Or(res.Tool.Name, "obslint"), Version: res.Tool.Version},
		Target: jsonTarget{Service: t.Service, Profile: t.Profile, ProfileReason: t.ProfileReason,
			URL: t.URL, MetricsURL: t.MetricsURL, Command: t.Command},
		Captured: jsonCaptured{Probes: c.Probes, Metrics: c.Metrics, Logs: c.Logs, Traces: c.Traces,
			LogSource: c.LogSource, TraceSource: c.TraceSource},
		Timings: res.Timings,
		Summary: jsonSummary{Errors: s.Errors, Warnings: s.Warnings, Infos: s.Infos, Score: s.Score,
			Passed: s.Passed, Failed: s.Failed, NotEvaluated: s.NotEvaluated, Disabled: s.Disabled},
		Rules:    make([]jsonRule, 0, len(res.Rules)),
		Findings: make([]jsonFinding, 0, len(res.Findings)),
		Problems: make([]jsonProblem, 0, len(res.Problems)),
		Judged:   jsonJudged(res.Judged),
	}
	if !res.Started.IsZero() {
		out.Started = res.Started.UTC().Format(time.RFC3339)
	}
	for _, r := range res.Rules {
		out.Rules = append(out.Rules, jsonRule{ID: r.ID, Signal: string(r.Signal), Status: string(r.Status),
			Severity: r.Severity.String(), Summary: r.Summary, Reason: r.Reason, Findings: r.Findings})
	}
	for _, f := range res.Findings {
		out.Findings = append(out.Findings, toJSONFinding(f))
	}
	for _, f := range res.Baselined {
		out.Baselined = append(out.Baselined, toJSONFinding(f))
	}
	for _, e := range res.StaleBaseline {
		out.StaleBaseline = append(out.StaleBaseline, jsonStale{Rule: e.Rule, Subject: e.Subject, Count: e.Count, Severity: e.Severity.String()})
	}
	for _, p := range res.Problems {
		out.Problems = append(out.Problems, jsonProblem(p))
	}
	return out
}

func toJSONFinding(f checks.Finding) jsonFinding {
	return jsonFinding{Rule: f.Rule, Severity: f.Severity.String(),
		Message: f.Message, Subject: f.Subject, Evidence: f.Evidence, Fix: f.Fix, Docs: f.Docs}
}
