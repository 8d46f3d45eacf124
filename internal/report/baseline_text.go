package report

import (
	"fmt"
	"strings"

	"github.com/obslint/obslint/checks"
)

// writeBaseline says what a --baseline file did: how many findings it
// accepted (not listed: they are known debt), and each entry that no longer
// occurs, since a stale entry is a problem of its own.
func writeBaseline(b *strings.Builder, p painter, res checks.Result) {
	if n := len(res.Baselined); n > 0 {
		fmt.Fprintf(b, "baseline: %s accepted as known debt (not counted above)\n", plural(n, "finding"))
	}
	if len(res.StaleBaseline) == 0 {
		return
	}
	fmt.Fprintf(b, "%s\n", p.paint(ansiYellow, "stale baseline entries (no longer found; prune them with obslint baseline write):"))
	for _, e := range res.StaleBaseline {
		count := ""
		if e.Count > 1 {
			count = fmt.Sprintf(" (×%d)", e.Count)
		}
		fmt.Fprintf(b, "  %s %s %s%s\n", p.severity(e.Severity), e.Rule, e.Subject, count)
	}
}
