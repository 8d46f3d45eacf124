// Package traces holds obslint's traces/ rules. Each rule is a checks.Rule value in
// its own file; Rules lists them in catalogue order.
package traces

import "github.com/obslint/obslint/checks"

// Rules is the traces/ catalogue.
var Rules = []*checks.Rule{}
