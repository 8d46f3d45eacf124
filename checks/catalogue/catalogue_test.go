package catalogue_test

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/obslint/obslint/checks"
	"github.com/obslint/obslint/checks/catalogue"
	"github.com/obslint/obslint/checks/checktest"
)

// The first catalogue (shared/RULES.md). IDs never change meaning.
var catalogued = []string{
	"metrics/endpoint", "metrics/parse", "metrics/help", "metrics/naming", "metrics/counter-suffix",
	"metrics/base-units", "metrics/histogram-valid", "metrics/counter-monotonic", "metrics/runtime-defaults",
	"metrics/http-server-duration", "metrics/http-traffic", "metrics/label-cardinality",
	"logs/json", "logs/timestamp", "logs/level", "logs/message", "logs/trace-context", "logs/error-structure", "logs/no-secrets",
	"traces/received", "traces/service-name", "traces/resource", "traces/server-span", "traces/propagation",
	"traces/http-semconv", "traces/span-name", "traces/status", "traces/structure",
	"correlation/service-identity", "correlation/exemplars", "correlation/no-canary-leak",
}

func TestCatalogueValid(t *testing.T) {
	require.NoError(t, checks.Validate(catalogue.All()))
}

func TestEveryCataloguedRuleExists(t *testing.T) {
	for _, id := range catalogued {
		_, ok := catalogue.Lookup(id)
		assert.True(t, ok, "rule %s is in RULES.md but not in the catalogue", id)
	}
}

// Every rule must be proven both ways: some fixture case where it passes and
// one where it fails.
func TestEveryRuleProvenBothWays(t *testing.T) {
	seen := map[string]map[checks.Status]bool{}
	for _, dir := range checktest.Cases(t, filepath.Join("..", "..", "fixtures", "cases")) {
		w, err := checktest.ParseWant(filepath.Join(dir, "want.txt"))
		require.NoError(t, err)
		for id, st := range w.Status {
			if seen[id] == nil {
				seen[id] = map[checks.Status]bool{}
			}
			seen[id][st] = true
		}
	}
	for _, r := range catalogue.All() {
		assert.True(t, seen[r.ID][checks.StatusPass], "%s has no fixture case where it passes", r.ID)
		assert.True(t, seen[r.ID][checks.StatusFail], "%s has no fixture case where it fails", r.ID)
	}
}
