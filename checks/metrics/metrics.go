// Package metrics holds obslint's metrics/ rules. Each rule is a checks.Rule value in
// its own file; Rules lists them in catalogue order.
//
// The naming rules build on client_golang's promlint validations and keep
// their wording. Families that a client library exposes by default (see
// Library) break some conventions the service cannot fix; they are reported
// as info notes that do not fail a rule.
package metrics

import "github.com/obslint/obslint/checks"

// Rules is the metrics/ catalogue.
var Rules = []*checks.Rule{
	Endpoint,
	Parse,
	Help,
	Naming,
	CounterSuffix,
	BaseUnits,
	HistogramValid,
	CounterMonotonic,
	RuntimeDefaults,
	HTTPServerDuration,
	HTTPTraffic,
	LabelCardinality,
	Expected,
}
