package checks

import (
	"fmt"
	"strings"
)

// DetectProfile names the stack of the evidence: from the SDK language of
// the spans first, then the runtime's default metrics, then the log shape.
// It returns "" when nothing tells.
func DetectProfile(e *Evidence) (profile, reason string) {
	var shape logShape
	for _, l := range e.Logs {
		shape.add(l.Fields)
	}
	return detectProfile(e, shape)
}

// detectProfile is DetectProfile with the log shape counted while the
// lines flowed past.
func detectProfile(e *Evidence, shape logShape) (profile, reason string) {
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
func (e *Evidence) resolveProfile(configured string, shape logShape) {
	if configured != "" && configured != ProfileAuto {
		e.Target.Profile, e.Target.ProfileReason = configured, "configured (--profile or profile: in obslint.yaml)"
		return
	}
	e.Target.Profile, e.Target.ProfileReason = detectProfile(e, shape)
}
