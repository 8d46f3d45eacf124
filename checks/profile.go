package checks

import (
	"fmt"
	"strings"

	dto "github.com/prometheus/client_model/go"
)

// DetectProfile names the stack of the evidence: from the SDK language of
// the spans first, then the runtime's default metrics, then the log shape.
// It returns "" when nothing tells.
func DetectProfile(e *Evidence) (profile, reason string) {
	var shape logShape
	for _, l := range e.Logs {
		shape.add(l.Fields)
	}
	var stack [2]string
	if sc, ok := e.LastScrape(); ok {
		stack[0], stack[1] = metricsProfile(sc.Families)
	}
	var lang [2]string
	for i := 0; i < len(e.Spans) && lang[0] == ""; i++ {
		lang = spanLanguage(&e.Spans[i])
	}
	return detectProfile(lang, shape, stack)
}

// metricsProfile names the stack whose runtime defaults a scrape exposes.
func metricsProfile(fams []*dto.MetricFamily) (profile, reason string) {
	for _, f := range fams {
		n := f.GetName()
		if strings.HasPrefix(n, "nodejs_") || strings.Contains(n, "_nodejs_") {
			return ProfileNode, fmt.Sprintf("metrics expose the Node.js default %s", n)
		}
		if strings.HasPrefix(n, "python_gc_") || n == "python_info" {
			return ProfilePython, fmt.Sprintf("metrics expose the Python default %s", n)
		}
	}
	return "", ""
}

// detectProfile is DetectProfile with what the first span that names an
// SDK language said (spanLanguage), the log shape counted while the lines
// flowed past, and what the last parsed scrape said (metricsProfile).
func detectProfile(lang [2]string, shape logShape, stack [2]string) (profile, reason string) {
	if lang[0] != "" {
		return lang[0], lang[1]
	}
	if stack[0] != "" {
		return stack[0], stack[1]
	}
	switch {
	case shape.event > shape.message:
		return ProfilePython, "log lines carry structlog's \"event\" key"
	case shape.message > shape.event:
		return ProfileNode, "log lines carry winston's \"message\" key"
	}
	return "", "no SDK language, default metrics or log shape to go by"
}

// resolveProfile fills Target.Profile: a configured profile wins, "auto" or
// empty is detected.
func (e *Evidence) resolveProfile(configured string, lang [2]string, shape logShape, stack [2]string) {
	if configured != "" && configured != ProfileAuto {
		e.Target.Profile, e.Target.ProfileReason = configured, "configured (--profile or profile: in obslint.yaml)"
		return
	}
	e.Target.Profile, e.Target.ProfileReason = detectProfile(lang, shape, stack)
}
