package checks

import (
	"fmt"
	"strings"
)

// DetectProfile names the stack of the evidence: from the SDK language of
// the spans first, then the runtime's default metrics, then the log shape.
// It returns "" when nothing tells.
func DetectProfile(e *Evidence) (profile, reason string) {
	for _, s := range e.Spans {
		switch lang := s.ResourceAttr("telemetry.sdk.language"); lang {
		case "nodejs", "javascript", "webjs":
			return ProfileNode, fmt.Sprintf("spans carry telemetry.sdk.language=%q", lang)
		case "python":
			return ProfilePython, fmt.Sprintf("spans carry telemetry.sdk.language=%q", lang)
		}
	}
	if sc, ok := e.LastScrape(); ok {
		for _, f := range sc.Families {
			n := f.GetName()
			if strings.HasPrefix(n, "nodejs_") || strings.Contains(n, "_nodejs_") {
				return ProfileNode, fmt.Sprintf("metrics expose the Node.js default %s", n)
			}
			if strings.HasPrefix(n, "python_gc_") || n == "python_info" {
				return ProfilePython, fmt.Sprintf("metrics expose the Python default %s", n)
			}
		}
	}
	var event, message int
	for _, l := range e.Logs {
		if l.Fields == nil {
			continue
		}
		if _, ok := l.Fields["event"]; ok {
			event++
		}
		if _, ok := l.Fields["message"]; ok {
			message++
		}
	}
	switch {
	case event > message:
		return ProfilePython, "log lines carry structlog's \"event\" key"
	case message > event:
		return ProfileNode, "log lines carry winston's \"message\" key"
	}
	return "", "no SDK language, default metrics or log shape to go by"
}

// ResolveProfile fills Target.Profile: a configured profile wins, "auto" or
// empty is detected.
func (e *Evidence) ResolveProfile(configured string) {
	if configured != "" && configured != ProfileAuto {
		e.Target.Profile, e.Target.ProfileReason = configured, "configured (--profile or profile: in obslint.yaml)"
		return
	}
	e.Target.Profile, e.Target.ProfileReason = DetectProfile(e)
}
