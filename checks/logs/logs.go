// Package logs holds obslint's logs/ rules. Each rule is a checks.Rule value in
// its own file; Rules lists them in catalogue order.
//
// The rules read the captured lines (checks.LogLine) and accept the field
// aliases of winston, structlog, pino, ECS and the OpenTelemetry
// trace-context-in-logs spec (shared reference logs-traces §3.4). Findings
// are aggregated per stream and problem, with a count, a share and a few
// example lines, so that their subjects stay stable across runs.
package logs

import "github.com/obslint/obslint/checks"

// Rules is the logs/ catalogue.
var Rules = []*checks.Rule{
	JSON,
	Flushed,
	Timestamp,
	Level,
	Message,
	TraceContext,
	ErrorStructure,
	NoSecrets,
	ExpectedFields,
}
