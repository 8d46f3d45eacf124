package report

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/obslint/obslint/checks"
)

func TestBaselineInReports(t *testing.T) {
	res := checks.Result{
		Rules:     []checks.RuleResult{{ID: "metrics/help", Signal: checks.Metrics, Status: checks.StatusFail, Severity: checks.Warning}},
		Findings:  []checks.Finding{},
		Baselined: []checks.Finding{{Rule: "metrics/help", Severity: checks.Warning, Subject: "jobs_total", Message: "no help text"}},
		StaleBaseline: []checks.StaleEntry{
			{Rule: "logs/json", Subject: "stdout", Count: 1, Severity: checks.Error},
			{Rule: "metrics/help", Subject: "queue", Count: 2, Severity: checks.Error},
		},
	}
	var text bytes.Buffer
	require.NoError(t, Write(&text, Text, res, Options{}))
	assert.Contains(t, text.String(), "baseline: 1 finding accepted as known debt (not counted above)\n")
	assert.Contains(t, text.String(), "  error logs/json stdout\n  error metrics/help queue (×2)\n")

	var js bytes.Buffer
	require.NoError(t, Write(&js, JSON, res, Options{}))
	var got struct {
		Baselined     []map[string]any `json:"baselined"`
		StaleBaseline []map[string]any `json:"stale_baseline"`
	}
	require.NoError(t, json.Unmarshal(js.Bytes(), &got))
	require.Len(t, got.Baselined, 1)
	assert.Equal(t, "jobs_total", got.Baselined[0]["subject"])
	assert.Equal(t, []map[string]any{
		{"rule": "logs/json", "subject": "stdout", "count": 1.0, "severity": "error"},
		{"rule": "metrics/help", "subject": "queue", "count": 2.0, "severity": "error"},
	}, got.StaleBaseline)

	// Without a baseline, neither key nor line appears.
	res.Baselined, res.StaleBaseline = nil, nil
	text.Reset()
	js.Reset()
	require.NoError(t, Write(&text, Text, res, Options{}))
	require.NoError(t, Write(&js, JSON, res, Options{}))
	assert.NotContains(t, text.String(), "baseline")
	assert.NotContains(t, js.String(), "baseline")
}
