package logs

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"github.com/obslint/obslint/checks"
)

// JSON is logs/json.
var JSON = &checks.Rule{
	ID:       "logs/json",
	Severity: checks.Error,
	Summary:  "every log line is one JSON object",
	Doc: `Log pipelines (Loki, Elasticsearch, Cloud Logging, the OpenTelemetry Collector's
filelog receiver with a json parser) split a stream on newlines and parse each line on its own.
A line that is not one JSON object is stored as an opaque string: its level, trace id and fields
are lost, and a multi-line stack trace becomes a dozen unrelated entries.

The rule counts, per stream, the lines that are not one JSON object and names the usual
producers: uvicorn's own access and startup lines, Node.js uncaught-exception traces, Python
tracebacks, OpenTelemetry diagnostic output, ` + "`logging.basicConfig`" + ` text, structlog's
ConsoleRenderer and pretty-printed (multi-line) JSON. Lines longer than the capture limit are
cut and reported too, and so are lines that are not valid UTF-8: JSON text must be UTF-8
(RFC 8259), and pipelines replace such bytes or drop the line. They come from a stream encoded
otherwise (` + "`PYTHONIOENCODING=latin-1`" + `, a Latin-1 locale with ` + "`ensure_ascii=False`" + `) or from raw
bytes written to the stream (a Node ` + "`Buffer`" + ` read from a file or a request). An empty stream passes.

**Node (winston)**

Bad: ` + "`format.prettyPrint()`" + `, ` + "`format.simple()`" + `, ` + "`console.log(obj)`" + `, or an uncaught exception:

    info: user logged in {"userId":42}
    /app/server.js:12
        throw new Error('boom');

Good: ` + "`format.combine(format.errors({ stack: true }), format.timestamp(), format.json())`" + `:

    {"level":"info","message":"user logged in","timestamp":"2026-11-25T19:10:19.878Z","userId":42}

**Python (structlog)**

Bad: structlog's default ConsoleRenderer, and uvicorn's own loggers left on their text format:

    2026-11-25 19:10:19 [info     ] user logged in   user_id=42
    INFO:     127.0.0.1:5000 - "GET /users/42 HTTP/1.1" 200 OK

Good: ` + "`structlog.processors.JSONRenderer()`" + ` as the last processor, and uvicorn started with a
` + "`log_config`" + ` whose formatter is ` + "`structlog.stdlib.ProcessorFormatter`" + ` (or ` + "`--no-access-log`" + `):

    {"user_id": 42, "event": "user logged in", "level": "info", "timestamp": "2026-11-25T19:10:42.123456Z"}

**Fix**: render every logger, including the web server's and third-party ones, through one JSON
formatter; catch uncaught exceptions and log them as JSON; never pretty-print; write UTF-8 only.`,
	Fix: checks.Fix{
		Node:   "Use format.json() (no prettyPrint/simple/colorize) on every transport, and log uncaught exceptions through winston (exceptionHandlers) instead of letting Node print them.",
		Python: "End the structlog chain with JSONRenderer(), and route uvicorn's and the stdlib's loggers through structlog.stdlib.ProcessorFormatter (log_config=…), or disable uvicorn's access log.",
	},
	Needs: []checks.Need{checks.NeedLogs},
	Logs:  newJSONJudge,
}

type jsonJudge struct {
	t      tally
	totals counts
	limit  counts // the longest truncated line per source
	runs   textRuns
}

func newJSONJudge(*checks.Evidence) checks.LogJudge {
	j := &jsonJudge{totals: counts{}, limit: counts{}}
	j.runs = newTextRuns(func(l *checks.LogLine, kind string) {
		j.t.add(l.Source, "not JSON", kind, l, func() string { return excerpt(l.Raw) })
	})
	return j
}

func (j *jsonJudge) Line(l *checks.LogLine) {
	j.runs.line(l)
	if isBlank(*l) {
		return
	}
	j.totals[l.Source]++
	if l.InvalidUTF8 {
		j.t.add(l.Source, "invalid UTF-8", "", l, func() string { return excerpt(l.Raw) })
	}
	if l.Truncated {
		j.limit[l.Source] = max(j.limit[l.Source], len(l.Raw))
		j.t.add(l.Source, "truncated", "", l, func() string { return excerpt(l.Raw) })
	}
}

func (j *jsonJudge) Merge(later checks.LogJudge) {
	o := later.(*jsonJudge)
	j.t.merge(&o.t)
	j.totals.merge(o.totals)
	for src, n := range o.limit {
		j.limit[src] = max(j.limit[src], n)
	}
	j.runs.merge(&o.runs)
}

func (j *jsonJudge) Finish(p *checks.Pass) {
	j.runs.finish()
	j.t.report(p, func(g *group) string {
		n := share(g.N, j.totals[g.Source], "lines on "+g.Source)
		switch g.Problem {
		case "truncated":
			return fmt.Sprintf("%s are longer than the %s line limit and were cut", n, byteSize(j.limit[g.Source]))
		case "invalid UTF-8":
			return n + " are not valid UTF-8 (JSON must be UTF-8)"
		}
		return n + " are not one JSON object"
	})
}

// isBlank: empty lines carry nothing and are not counted.
func isBlank(l checks.LogLine) bool { return !l.Truncated && strings.TrimSpace(l.Raw) == "" }

func byteSize(n int) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d-byte", n)
}

// Kinds of non-JSON lines, each with the hint shown beside it.
const (
	kindUvicorn     = "uvicorn access/default log text"
	kindNodeStack   = "Node.js stack-trace text"
	kindPyTraceback = "Python traceback text"
	kindOTelDiag    = "OpenTelemetry diagnostic output"
	kindBasicConfig = "Python logging.basicConfig text"
	kindConsole     = "structlog ConsoleRenderer output"
	kindPrettyJSON  = "pretty-printed (multi-line) JSON"
	kindMultiObject = "multi-line object text"
	kindConsoleLog  = "a JavaScript object printed with console.log"
	kindNotObject   = "a JSON value that is not an object"
	kindInvalidJSON = "invalid JSON"
	kindPlainText   = "plain text"
)

// maxMultiLineSpan bounds how far a multi-line object is followed.
const maxMultiLineSpan = 500

var kindHints = map[string]string{
	kindUvicorn:     "uvicorn's own loggers: pass log_config with a JSON formatter, or --no-access-log",
	kindNodeStack:   "an uncaught exception or console.error(err): log errors through winston with format.errors({ stack: true })",
	kindPyTraceback: "an unhandled exception printed by the stdlib: render it with structlog's format_exc_info/dict_tracebacks",
	kindOTelDiag:    "SDK diagnostics on the same stream: lower OTEL_LOG_LEVEL or send diag output elsewhere",
	kindBasicConfig: "stdlib logging with its default text format: route it through structlog.stdlib.ProcessorFormatter",
	kindConsole:     "structlog's default renderer: end the chain with JSONRenderer()",
	kindPrettyJSON:  "one object must fit on one line: drop prettyPrint()/indent=",
	kindMultiObject: "console.log/print of an object: log through the JSON logger",
	kindConsoleLog:  "use the JSON logger, not console.log",
}

var (
	uvicornRE     = regexp.MustCompile(`^(?:TRACE|DEBUG|INFO|WARNING|ERROR|CRITICAL):\s{2,}\S`)
	basicConfigRE = regexp.MustCompile(`^(?:(?:DEBUG|INFO|WARNING|ERROR|CRITICAL):[^\s:]+:|\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (?:DEBUG|INFO|WARNING|ERROR|CRITICAL) )`)
	consoleRE     = regexp.MustCompile(`^(?:\S+(?: \d\d:\d\d:\d\d\S*)? )?\[\s*(?:debug|info|warning|warn|error|critical|exception|fatal)\s*\] `)
	otelRE        = regexp.MustCompile(`(?i)@opentelemetry/|opentelemetry|OTLPExporterError|\botlp\b`)
	pyStackRE     = regexp.MustCompile(`^(?:Traceback \(most recent call last\):|\s+File ".*", line \d+)`)
	nodeStackRE   = regexp.MustCompile(`^(?:\s+at \S|Node\.js v\d+)`)
	consoleLogRE  = regexp.MustCompile(`^\{ ['"]?[\w$]+['"]?: `)
)

// isText: a non-blank, untruncated line that is not a JSON object.
func isText(l checks.LogLine) bool { return l.Fields == nil && !l.Truncated && !isBlank(l) }

func classifyRun(run []checks.LogLine, kinds []string) {
	markMultiLine(run, kinds)
	flavour := ""
	for _, l := range run {
		switch {
		case pyStackRE.MatchString(l.Raw):
			flavour = kindPyTraceback
		case flavour == "" && nodeStackRE.MatchString(l.Raw):
			flavour = kindNodeStack
		}
	}
	for i, l := range run {
		if kinds[i] != "" || isBlank(l) {
			continue
		}
		kinds[i] = classifyLine(stripANSI(l.Raw), flavour)
	}
}

// markMultiLine finds objects spread over several lines: a line opening with
// "{" up to the line where the braces balance again. Valid JSON across those
// lines is pretty-printed JSON; anything else (util.inspect, repr) is object
// text.
func markMultiLine(run []checks.LogLine, kinds []string) {
	for i := 0; i < len(run); i++ {
		if !strings.HasPrefix(strings.TrimSpace(run[i].Raw), "{") {
			continue
		}
		var d braceDepth
		for j := i; j < len(run) && j-i < maxMultiLineSpan; j++ {
			if d.feed(run[j].Raw) > 0 {
				continue
			}
			if j == i {
				break // a one-line broken object, not a multi-line one
			}
			kind := kindMultiObject
			if json.Valid([]byte(joinRaw(run[i : j+1]))) {
				kind = kindPrettyJSON
			}
			for k := i; k <= j; k++ {
				kinds[k] = kind
			}
			i = j
			break
		}
	}
}

// braceDepth counts open braces and brackets outside string literals.
type braceDepth struct {
	depth   int
	inStr   bool
	escaped bool
	quote   byte
}

func (d *braceDepth) feed(s string) int {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case d.escaped:
			d.escaped = false
		case d.inStr && c == '\\':
			d.escaped = true
		case d.inStr:
			d.inStr = c != d.quote
		case c == '"' || c == '\'':
			d.inStr, d.quote = true, c
		case c == '{' || c == '[':
			d.depth++
		case c == '}' || c == ']':
			d.depth--
		}
	}
	// No string literal spans lines in JSON; resetting keeps a stray quote
	// from swallowing the rest of the run.
	d.inStr, d.escaped = false, false
	if d.depth < 0 {
		d.depth = 0
	}
	return d.depth
}

func joinRaw(lines []checks.LogLine) string {
	var b strings.Builder
	for _, l := range lines {
		b.WriteString(l.Raw)
		b.WriteByte('\n')
	}
	return b.String()
}

func classifyLine(s, flavour string) string {
	t := strings.TrimSpace(s)
	switch {
	case uvicornRE.MatchString(s):
		return kindUvicorn
	case basicConfigRE.MatchString(s):
		return kindBasicConfig
	case consoleRE.MatchString(s):
		return kindConsole
	case otelRE.MatchString(s) && !nodeStackRE.MatchString(s):
		return kindOTelDiag
	case flavour != "":
		return flavour
	case consoleLogRE.MatchString(t):
		return kindConsoleLog
	case strings.HasPrefix(t, "{"):
		return kindInvalidJSON
	case json.Valid([]byte(t)):
		return kindNotObject
	}
	return kindPlainText
}
