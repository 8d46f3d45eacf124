// Package catalogue assembles every rule of every signal into the one
// registry the front doors run.
package catalogue

import (
	"slices"

	"github.com/obslint/obslint/checks"
	"github.com/obslint/obslint/checks/correlation"
	"github.com/obslint/obslint/checks/logs"
	"github.com/obslint/obslint/checks/metrics"
	"github.com/obslint/obslint/checks/traces"
)

// All returns the full catalogue in signal order.
func All() []*checks.Rule {
	return slices.Concat(metrics.Rules, logs.Rules, traces.Rules, correlation.Rules)
}

// Lookup returns the rule with this ID.
func Lookup(id string) (*checks.Rule, bool) {
	for _, r := range All() {
		if r.ID == id {
			return r, true
		}
	}
	return nil, false
}
