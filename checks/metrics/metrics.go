// Package metrics holds obslint's metrics/ rules. Each rule is a checks.Rule value in
// its own file; Rules lists them in catalogue order.
package metrics

import "github.com/obslint/obslint/checks"

// Rules is the metrics/ catalogue.
var Rules = []*checks.Rule{}
