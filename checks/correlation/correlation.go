// Package correlation holds obslint's correlation/ rules. Each rule is a checks.Rule value in
// its own file; Rules lists them in catalogue order.
package correlation

import "github.com/obslint/obslint/checks"

// Rules is the correlation/ catalogue.
var Rules = []*checks.Rule{}
