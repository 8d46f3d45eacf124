// Package logs holds obslint's logs/ rules. Each rule is a checks.Rule value in
// its own file; Rules lists them in catalogue order.
package logs

import "github.com/obslint/obslint/checks"

// Rules is the logs/ catalogue.
var Rules = []*checks.Rule{}
