package metrics_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/obslint/obslint/checks"
	"github.com/obslint/obslint/checks/checktest"
	"github.com/obslint/obslint/checks/metrics"
)

// TestFixtures runs every fixture case whose want.txt names a metrics rule.
func TestFixtures(t *testing.T) {
	checktest.Run(t, "../../fixtures/cases", metrics.Rules)
}

// TestRulesDocumented holds every rule to the house shape: a valid catalogue
// entry whose doc shows Node and Python and whose fix speaks both stacks.
func TestRulesDocumented(t *testing.T) {
	require.NoError(t, checks.Validate(metrics.Rules))
	for _, r := range metrics.Rules {
		assert.Contains(t, r.Doc, "**Node (prom-client).**", r.ID)
		assert.Contains(t, r.Doc, "**Python (prometheus_client).**", r.ID)
		assert.NotEmpty(t, r.Fix.Node, r.ID)
		assert.NotEmpty(t, r.Fix.Python, r.ID)
		assert.True(t, strings.HasPrefix(r.ID, "metrics/"), r.ID)
	}
}
