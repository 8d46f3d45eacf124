// Package traces holds obslint's traces/ rules. Each rule is a checks.Rule value in
// its own file; Rules lists them in catalogue order.
//
// The per-probe rules find a probe's server span with one matcher,
// ProbeServerSpan, so that a broken propagation is blamed once.
package traces

import "github.com/obslint/obslint/checks"

// Rules is the traces/ catalogue.
var Rules = []*checks.Rule{
	Received,
	ServiceName,
	Resource,
	ServerSpan,
	Propagation,
	HTTPSemconv,
	SpanName,
	Status,
	Structure,
	ExpectedRoutes,
}
