package logs

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/obslint/obslint/checks"
)

// Level is logs/level.
var Level = &checks.Rule{
	ID:       "logs/level",
	Severity: checks.Error,
	Summary:  "log lines carry a level known to the stack, without colour codes",
	Doc: `Alerting, sampling and retention all key on the level: "all error lines of service X",
"drop debug after a day". A line without a level is usually treated as INFO, so an error logged
that way never pages anyone; an unknown or colourised value (` + "`\\u001b[31merror\\u001b[39m`" + `)
matches no filter at all.

The rule reads the first of ` + "`level`, `log.level`, `severity`, `levelname`" + ` and checks the value
against the profile's levels, case-insensitively: winston's npm levels (` + "`error warn info http verbose debug silly`" + `)
for Node, structlog/stdlib names (` + "`debug info warning error critical`" + `, plus ` + "`exception`" + ` and ` + "`fatal`" + `) for
Python, and their union with the syslog and OpenTelemetry names when the profile is unknown.
pino's numeric levels (10–60) are accepted outside the Python profile.

**Node (winston)**

Bad: ` + "`format.colorize()`" + ` before ` + "`format.json()`" + `, or a custom level set the pipeline does not know:

    {"level":"\u001b[32minfo\u001b[39m","message":"hello","timestamp":"2026-11-25T19:10:19.878Z"}

Good: plain npm levels (colour only in a console-only format, never in JSON):

    {"level":"info","message":"hello","timestamp":"2026-11-25T19:10:19.878Z"}

**Python (structlog)**

Bad: no ` + "`add_log_level`" + ` processor, so lines carry no level at all:

    {"event": "hello", "timestamp": "2026-11-25T19:10:42.123456Z"}

Good: ` + "`structlog.processors.add_log_level`" + ` in the chain:

    {"event": "hello", "level": "info", "timestamp": "2026-11-25T19:10:42.123456Z"}

**Fix**: add the level processor, keep the standard level names, never colourise JSON.`,
	Fix: checks.Fix{
		Node:   "Keep winston's npm levels and remove format.colorize() from the JSON format.",
		Python: "Add structlog.processors.add_log_level (or structlog.stdlib.add_log_level) to the processor chain.",
	},
	Needs: []checks.Need{checks.NeedLogs},
	Logs:  newLevelJudge,
}

// Level names per profile (shared reference logs-traces §1.3, §2.2, §3.1).
var (
	npmLevels     = []string{"error", "warn", "info", "http", "verbose", "debug", "silly"}
	pythonLevels  = []string{"debug", "info", "warning", "error", "critical", "exception", "fatal"}
	syslogLevels  = []string{"emerg", "alert", "crit", "error", "warning", "notice", "info", "debug"}
	otherLevels   = []string{"trace", "fatal", "informational", "err", "emergency", "panic", "warn"}
	pinoLevels    = []string{"10", "20", "30", "40", "50", "60"}
	errorLevelSet = []string{"error", "err", "critical", "crit", "fatal", "alert", "emerg", "emergency", "panic", "exception", "50", "60"}
)

// knownLevels is what the profile accepts; unknown takes the union.
func knownLevels(profile string) []string {
	switch profile {
	case checks.ProfileNode:
		return slices.Concat(npmLevels, pinoLevels)
	case checks.ProfilePython:
		return pythonLevels
	}
	return slices.Concat(npmLevels, pythonLevels, syslogLevels, otherLevels, pinoLevels)
}

// profiles are the stacks whose conventions differ for a rule: the profile
// is resolved once every line was seen, so such a rule judges each line by
// each of them and reports by the one resolved.
var profiles = [...]string{"", checks.ProfileNode, checks.ProfilePython}

// profileIndex is the position of the resolved profile in profiles.
func profileIndex(profile string) int {
	for i, p := range profiles {
		if p == profile {
			return i
		}
	}
	return 0
}

// byProfile is the state of a rule that reads one field of every JSON line
// by each profile's conventions: the JSON lines per source, and a tally per
// profile.
type byProfile struct {
	totals counts
	by     [len(profiles)]tally
}

func (b *byProfile) merge(o *byProfile) {
	b.totals.merge(o.totals)
	for i := range b.by {
		b.by[i].merge(&o.by[i])
	}
}

type levelJudge struct {
	byProfile
	known [len(profiles)][]string
}

func newLevelJudge(*checks.Evidence) checks.LogJudge {
	j := &levelJudge{byProfile: byProfile{totals: counts{}}}
	for i, p := range profiles {
		j.known[i] = knownLevels(p)
	}
	return j
}

func (j *levelJudge) Line(l *checks.LogLine) {
	if l.Fields == nil {
		return
	}
	j.totals[l.Source]++
	key, v, ok := first(l.Fields, levelKeys)
	if !ok {
		for i := range profiles {
			j.by[i].add(l.Source, "missing", "", l, func() string { return excerpt(l.Raw) })
		}
		return
	}
	for i, profile := range profiles {
		if problem := levelProblem(v, j.known[i], profile); problem != "" {
			j.by[i].add(fieldSubject(l.Source, key), key, problem, l, func() string { return key + "=" + valueText(v) })
		}
	}
}

func (j *levelJudge) Merge(later checks.LogJudge) { j.merge(&later.(*levelJudge).byProfile) }

func (j *levelJudge) Finish(p *checks.Pass) {
	if len(j.totals) == 0 {
		p.Skip("no JSON log line to read a level from (see logs/json)")
		return
	}
	t := j.by[profileIndex(p.Target.Profile)]
	t.report(p, func(g *group) string {
		n := share(g.N, j.totals[g.Source], "JSON lines on "+g.Source)
		if g.Problem == "missing" {
			return n + " carry no level field (" + strings.Join(levelKeys[:4], ", ") + ")"
		}
		return fmt.Sprintf("%s have a %s the %s does not know", n, g.Problem, profileName(p.Target.Profile))
	})
}

func profileName(profile string) string {
	switch profile {
	case checks.ProfileNode:
		return "node profile (winston npm levels)"
	case checks.ProfilePython:
		return "python profile (structlog/stdlib levels)"
	}
	return "union of known level sets"
}

// levelProblem says what is wrong with a level value, "" if nothing.
func levelProblem(v any, known []string, profile string) string {
	s, ok := levelText(v)
	switch {
	case !ok:
		return "value that is not a string"
	case strings.Contains(s, "\x1b["):
		return "value with ANSI colour escapes (format.colorize())"
	case !slices.Contains(known, strings.ToLower(strings.TrimSpace(s))):
		if profile == checks.ProfileNode && slices.Contains(pythonLevels, strings.ToLower(s)) {
			return "Python-style level name"
		}
		return "level name outside the set"
	}
	return ""
}

// levelText returns a level as text; only pino writes numbers.
func levelText(v any) (string, bool) {
	switch v := v.(type) {
	case string:
		return v, true
	case json.Number:
		return v.String(), true
	}
	return "", false
}

// isErrorLevel reports whether a line's level is error or worse.
func isErrorLevel(fields map[string]any) bool {
	_, v, ok := first(fields, levelKeys)
	if !ok {
		return false
	}
	s, ok := levelText(v)
	return ok && slices.Contains(errorLevelSet, strings.ToLower(stripANSI(strings.TrimSpace(s))))
}
