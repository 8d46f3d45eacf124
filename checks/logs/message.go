package logs

import (
	"fmt"
	"slices"
	"strings"

	"github.com/obslint/obslint/checks"
)

// Message is logs/message.
var Message = &checks.Rule{
	ID:       "logs/message",
	Severity: checks.Error,
	Summary:  "log lines carry a non-empty message string",
	Doc: `The message is what a person reads in every log view and what full-text search indexes.
A line without one shows as an empty row; ` + "`\"[object Object]\"`" + ` or ` + "`\"undefined\"`" + ` mean the
value was lost before it was written.

The message key depends on the stack: ` + "`message`" + ` for winston (pino's ` + "`msg`" + ` is accepted on the
node profile), ` + "`event`" + ` for structlog (` + "`message`" + ` too, for ` + "`EventRenamer(\"message\")`" + `), and any of
` + "`message`, `msg`, `event`, `body`, `@message`" + ` when the profile is unknown.

**Node (winston)**

Bad: ` + "`logger.error(err)`" + ` without ` + "`format.errors()`" + ` (an Error's message is not enumerable), or
an object interpolated into a string:

    {"level":"error","timestamp":"2026-11-25T19:10:19.878Z"}
    {"level":"info","message":"[object Object]","timestamp":"2026-11-25T19:10:19.879Z"}

Good: ` + "`format.errors({ stack: true })`" + ` first in the chain, objects passed as meta:

    {"level":"error","message":"boom","stack":"Error: boom\n    at …","timestamp":"2026-11-25T19:10:19.878Z"}

**Python (structlog)**

Bad: an empty event, or a dict passed as the event:

    {"event": "", "level": "info", "timestamp": "2026-11-25T19:10:42.123456Z"}

Good: a short constant event with the data as key-value pairs:

    {"user_id": 42, "event": "user.login", "level": "info", "timestamp": "2026-11-25T19:10:42.123456Z"}

**Fix**: always log a constant, human-readable message and pass data as fields.`,
	Fix: checks.Fix{
		Node:   "Put format.errors({ stack: true }) first in the format chain and pass objects as meta (logger.info('msg', {obj})), not inside the message.",
		Python: "Log a non-empty event string (log.info(\"user.login\", user_id=42)); keep EventRenamer, if used, just before the renderer.",
	},
	Needs: []checks.Need{checks.NeedLogs},
	Logs:  newMessageJudge,
}

// messageKeys are the message keys of each profile, in lookup order.
func messageKeys(profile string) []string {
	switch profile {
	case checks.ProfileNode:
		return []string{"message", "msg"}
	case checks.ProfilePython:
		return []string{"event", "message"}
	}
	return []string{"message", "msg", "event", "body", "Body", "@message"}
}

// allMessageKeys is every alias of §3.4, to say which key a line used when
// it is not the profile's.
var allMessageKeys = messageKeys("")

type messageJudge struct {
	byProfile
	keys [len(profiles)][]string
}

func newMessageJudge(*checks.Evidence) checks.LogJudge {
	j := &messageJudge{byProfile: byProfile{totals: counts{}}}
	for i, p := range profiles {
		j.keys[i] = messageKeys(p)
	}
	return j
}

func (j *messageJudge) Line(l *checks.LogLine) {
	if l.Fields == nil {
		return
	}
	j.totals[l.Source]++
	for i := range profiles {
		key, v, ok := first(l.Fields, j.keys[i])
		if !ok {
			j.by[i].add(l.Source, "missing", missingMessageKind(l.Fields, j.keys[i]), l, func() string { return excerpt(l.Raw) })
			continue
		}
		if problem := messageProblem(v); problem != "" {
			j.by[i].add(fieldSubject(l.Source, key), key, problem, l, func() string { return key + "=" + valueText(v) })
		}
	}
}

func (j *messageJudge) Merge(later checks.LogJudge) { j.merge(&later.(*messageJudge).byProfile) }

func (j *messageJudge) Finish(p *checks.Pass) {
	if len(j.totals) == 0 {
		p.Skip("no JSON log line to read a message from (see logs/json)")
		return
	}
	i := profileIndex(p.Target.Profile)
	t := j.by[i]
	t.report(p, func(g *group) string {
		n := share(g.N, j.totals[g.Source], "JSON lines on "+g.Source)
		if g.Problem == "missing" {
			return fmt.Sprintf("%s carry no message (%s)", n, strings.Join(j.keys[i], " or "))
		}
		return fmt.Sprintf("%s have an unusable %s", n, g.Problem)
	})
}

// missingMessageKind explains a line without the profile's message key.
func missingMessageKind(fields map[string]any, keys []string) string {
	for _, k := range allMessageKeys {
		if v, ok := fields[k]; ok && v != nil && !slices.Contains(keys, k) {
			return fmt.Sprintf("message under %q, which this profile does not read", k)
		}
	}
	if isErrorLevel(fields) {
		return "error line without a message (winston drops an Error's message unless format.errors() is used)"
	}
	return "no message key"
}

// messageProblem says what is wrong with a message value, "" if nothing.
func messageProblem(v any) string {
	s, ok := v.(string)
	switch {
	case !ok:
		return "value that is not a string"
	case strings.TrimSpace(s) == "":
		return "empty message"
	case strings.Contains(s, "[object Object]"):
		return `"[object Object]" (an object turned into a string)`
	case slices.Contains([]string{"undefined", "null", "None", "NaN"}, strings.TrimSpace(s)):
		return fmt.Sprintf("%q literal (a missing value turned into a string)", strings.TrimSpace(s))
	}
	return ""
}
