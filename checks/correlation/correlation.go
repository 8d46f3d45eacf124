// Package correlation holds obslint's correlation/ rules: the ones that need
// two signals (service identity across traces, logs and metrics; exemplars
// pointing at traces; canary secrets leaking into any signal). Each rule is a
// checks.Rule value in its own file; Rules lists them in catalogue order.
package correlation

import "github.com/obslint/obslint/checks"

// Rules is the correlation/ catalogue.
var Rules = []*checks.Rule{
	ServiceIdentity,
	Exemplars,
	NoCanaryLeak,
}
