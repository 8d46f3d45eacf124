// Package bundle reads recorded telemetry (files, fixture cases, evidence
// bundles) into Evidence, and writes bundles: the `lint` front door, the
// rule fixtures (checks/checktest) and `--save-evidence` share one format.
// Spans and log lines are left to stream into the judge (Input.Spans,
// Input.Judge) unless Load or LoadDir is asked to hold them.
//
// A directory of recorded evidence (a fixture case or a bundle) may hold:
//
//	metrics.prom | metrics-1.prom, metrics-2.prom …   one scrape each, in order
//	                                                  (.om/.openmetrics: OpenMetrics)
//	scrapes.json      [{"file","phase","status","content_type","error"}] overrides
//	logs.jsonl        raw log lines, as the service wrote them
//	logs.capture.jsonl {"time","source","raw","invalid_utf8"} per line, as `run`
//	                  captured them (invalid_utf8: the raw bytes were not UTF-8)
//	traces.json       OTLP JSON (one ExportTraceServiceRequest, or one per line)
//	probes.json       {"probes":[checks.Probe…], "canaries":[checks.Canary…]}
//	evidence.json     {"target":…, "expect":…, "captured":…, "problems":…,
//	                   "stopped": RFC 3339 time obslint asked the service to stop,
//	                   "log_records": […], "otlp_metrics": […]}
//	README.txt        what a bundle is (ignored when loading)
//
// WriteDir writes a bundle in this format (`run` and `audit` --save-evidence);
// its logs.capture.jsonl lines also carry "line" and "truncated", and its
// scrapes.json entries "url", "time", "duration", "truncated" and
// "not_parsed" (a non-2xx answer whose body was kept but not parsed).
package bundle

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/obslint/obslint/checks"
	"github.com/obslint/obslint/internal/limits"
	"github.com/obslint/obslint/internal/lines"
)

// Content types for recorded scrapes.
const (
	TextContentType        = "text/plain; version=0.0.4; charset=utf-8"
	OpenMetricsContentType = "application/openmetrics-text; version=1.0.0; charset=utf-8"
)

// Files names the recorded inputs of `obslint lint`. "-" reads stdin.
type Files struct {
	Metrics []string
	Logs    string
	Traces  string
	Probes  string
}

// Input is recorded evidence whose spans and log lines are still to be
// read: Spans and Judge stream them through the rules, Load keeps them in
// Evidence.Spans and Evidence.Logs.
type Input struct {
	Evidence *checks.Evidence
	// tracesPath is the trace file, read one request at a time as it is
	// judged; traces is standard input's, read whole (it cannot be read
	// twice).
	tracesPath, tracesName string
	traces                 []byte
	logs                   string // the log file, "-" for stdin, "" for none
	lim                    limits.Limits
	stdin                  io.Reader
}

// Load reads the files into evidence, keeping at most lim.MaxLines log
// lines in Evidence.Logs (rule fixtures, bundles in tests). Errors name the
// file and what is wrong; a file that cannot be read at all is an error, bad
// content is evidence.
func Load(f Files, lim limits.Limits, stdin io.Reader) (*checks.Evidence, error) {
	in, err := Open(f, lim, stdin)
	if err != nil {
		return nil, err
	}
	return in.keep()
}

// Open reads every file but the log lines, which are left to Judge.
func Open(f Files, lim limits.Limits, stdin io.Reader) (*Input, error) {
	ev := &checks.Evidence{}
	in := &Input{Evidence: ev, lim: lim, stdin: stdin}
	for i, path := range f.Metrics {
		body, truncated, err := readCapped(path, lim.MaxScrapeBytes, stdin)
		if err != nil {
			return nil, err
		}
		ev.Scrapes = append(ev.Scrapes, checks.NewScrape(displayName(path), fmt.Sprintf("scrape-%d", i+1), 200, contentTypeFor(path), body, truncated))
		ev.Captured.Metrics = true
		if truncated {
			ev.Problems = append(ev.Problems, checks.Problem{Phase: "limit", Message: fmt.Sprintf("%s: exposition larger than %d bytes, truncated", displayName(path), lim.MaxScrapeBytes)})
		}
	}
	if f.Logs != "" {
		if f.Logs != "-" {
			if _, err := os.Stat(f.Logs); err != nil {
				return nil, err
			}
		}
		in.logs = f.Logs
		ev.Captured.Logs = true
		ev.Captured.LogSource = "file " + displayName(f.Logs)
	}
	if f.Traces != "" {
		if err := in.readTraces(f.Traces, stdin); err != nil {
			return nil, err
		}
	}
	if f.Probes != "" {
		if err := loadProbes(ev, f.Probes); err != nil {
			return nil, err
		}
	}
	return in, nil
}

// LoadDir reads a directory of recorded evidence (see the package doc),
// keeping its log lines like Load.
func LoadDir(dir string, lim limits.Limits) (*checks.Evidence, error) {
	in, err := OpenDir(dir, lim)
	if err != nil {
		return nil, err
	}
	return in.keep()
}

// OpenDir is LoadDir with the log lines left to Judge.
func OpenDir(dir string, lim limits.Limits) (*Input, error) {
	var f Files
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var metrics []string
	for _, e := range entries {
		n := e.Name()
		if strings.HasPrefix(n, "metrics") && (strings.HasSuffix(n, ".prom") || strings.HasSuffix(n, ".om") || strings.HasSuffix(n, ".openmetrics") || strings.HasSuffix(n, ".txt")) {
			metrics = append(metrics, filepath.Join(dir, n))
		}
	}
	sort.Slice(metrics, func(i, j int) bool { return scrapeIndex(metrics[i]) < scrapeIndex(metrics[j]) })
	f.Metrics = metrics
	for _, name := range []string{"logs.capture.jsonl", "logs.jsonl", "logs.txt", "logs.log"} {
		if exists(filepath.Join(dir, name)) {
			f.Logs = filepath.Join(dir, name)
			break
		}
	}
	if exists(filepath.Join(dir, "traces.json")) {
		f.Traces = filepath.Join(dir, "traces.json")
	}
	if exists(filepath.Join(dir, "probes.json")) {
		f.Probes = filepath.Join(dir, "probes.json")
	}
	in, err := Open(f, lim, nil)
	if err != nil {
		return nil, err
	}
	if err := applyScrapeOverrides(in.Evidence, dir, metrics); err != nil {
		return nil, err
	}
	if err := applyEvidenceFile(in.Evidence, filepath.Join(dir, "evidence.json")); err != nil {
		return nil, err
	}
	return in, nil
}

func scrapeIndex(path string) int {
	base := filepath.Base(path)
	var n int
	if _, err := fmt.Sscanf(strings.TrimPrefix(base, "metrics-"), "%d", &n); err != nil {
		return 0
	}
	return n
}

func exists(p string) bool { _, err := os.Stat(p); return err == nil }

func displayName(path string) string {
	if path == "-" {
		return "stdin"
	}
	return path
}

func contentTypeFor(path string) string {
	if strings.HasSuffix(path, ".om") || strings.HasSuffix(path, ".openmetrics") {
		return OpenMetricsContentType
	}
	return TextContentType
}

func readCapped(path string, max int64, stdin io.Reader) ([]byte, bool, error) {
	var r io.Reader
	if path == "-" {
		if stdin == nil {
			return nil, false, errors.New("stdin: no standard input")
		}
		r = stdin
	} else {
		f, err := os.Open(path)
		if err != nil {
			return nil, false, err
		}
		defer f.Close()
		r = f
	}
	body, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return nil, false, fmt.Errorf("%s: %w", displayName(path), err)
	}
	if int64(len(body)) > max {
		return body[:max], true, nil
	}
	return body, false, nil
}

type capturedLine struct {
	Time        time.Time `json:"time"`
	Source      string    `json:"source"`
	Raw         string    `json:"raw"`
	InvalidUTF8 bool      `json:"invalid_utf8"`
	// Line is the line number in its source (0: count them); Truncated
	// says the line was cut at the line limit when it was captured.
	Line      int  `json:"line,omitempty"`
	Truncated bool `json:"truncated,omitempty"`
}

// Judge feeds every log line to j, on every core for a plain log file, and
// returns how many it read. A captured file (logs.capture.jsonl) is read in
// order: its lines are numbered per source.
func (in *Input) Judge(j *checks.Judge) (int, error) {
	if in.logs == "" {
		return 0, nil
	}
	r, closeFn, err := in.open()
	if err != nil {
		return 0, err
	}
	defer closeFn()
	mk, parallel := in.lineMaker()
	n, err := lines.Judge(j, r, in.lim.MaxLineBytes, parallel, mk)
	if err != nil {
		return n, fmt.Errorf("%s: %w", displayName(in.logs), err)
	}
	return n, nil
}

// keep reads the spans into Evidence.Spans, and the log lines into
// Evidence.Logs, up to lim.MaxLines.
func (in *Input) keep() (*checks.Evidence, error) {
	ev := in.Evidence
	if err := in.eachSpan(func(s *checks.Span) { ev.Spans = append(ev.Spans, *s) }); err != nil {
		return nil, err
	}
	if in.logs == "" {
		return ev, nil
	}
	r, closeFn, err := in.open()
	if err != nil {
		return nil, err
	}
	defer closeFn()
	mk, _ := in.lineMaker()
	lr := lines.NewReader(r, in.lim.MaxLineBytes)
	dropped := 0
	for n := 1; ; n++ {
		raw, truncated, err := lr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: line %d: %w", displayName(in.logs), n, err)
		}
		l, err := mk(n, raw, truncated)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", displayName(in.logs), err)
		}
		if len(ev.Logs) >= in.lim.MaxLines {
			dropped++
			continue
		}
		ev.Logs = append(ev.Logs, l)
	}
	if dropped > 0 {
		ev.Problems = append(ev.Problems, checks.Problem{Phase: "limit", Message: fmt.Sprintf("%s: %d log lines past the limit of %d were not kept", displayName(in.logs), dropped, in.lim.MaxLines)})
	}
	return ev, nil
}

func (in *Input) open() (io.Reader, func(), error) {
	if in.logs == "-" {
		if in.stdin == nil {
			return nil, nil, errors.New("stdin: no standard input")
		}
		return in.stdin, func() {}, nil
	}
	f, err := os.Open(in.logs)
	if err != nil {
		return nil, nil, err
	}
	return f, func() { f.Close() }, nil
}

// lineMaker builds the lines of the log file, and says whether they may be
// built apart from each other.
func (in *Input) lineMaker() (lines.Make, bool) {
	path := in.logs
	if strings.HasSuffix(path, ".capture.jsonl") {
		counts := map[string]int{}
		return func(n int, raw string, _ bool) (checks.LogLine, error) {
			var c capturedLine
			if err := json.Unmarshal([]byte(raw), &c); err != nil {
				return checks.LogLine{}, fmt.Errorf("line %d: not a captured log record: %v", n, err)
			}
			counts[c.Source]++
			// A JSON string cannot hold invalid bytes: the decoder made them
			// U+FFFD, so the record itself says whether there were any.
			invalid := c.InvalidUTF8 || !utf8.ValidString(raw)
			return checks.CapturedLogLine(c.Source, cmp.Or(c.Line, counts[c.Source]), c.Raw, c.Truncated, invalid, c.Time), nil
		}, false
	}
	src := displayName(path)
	if path != "-" {
		src = filepath.Base(path)
	}
	return func(n int, raw string, truncated bool) (checks.LogLine, error) {
		return checks.NewLogLine(src, n, raw, truncated, time.Time{}), nil
	}, true
}

// readTraces reads the trace file (OTLP JSON), to be parsed as it is
// judged: a file of 256 MiB holds one request's spans at a time, not all.
func (in *Input) readTraces(path string, stdin io.Reader) error {
	in.tracesName = displayName(path)
	if path != "-" {
		if _, err := os.Stat(path); err != nil {
			return err
		}
		in.tracesPath = path
	} else {
		body, truncated, err := readCapped(path, maxTraceBytes, stdin)
		if err != nil {
			return err
		}
		if truncated {
			return fmt.Errorf("%s: larger than 256 MiB", displayName(path))
		}
		in.traces = body
	}
	in.Evidence.Captured.Traces = true
	in.Evidence.Captured.TraceSource = "file " + displayName(path)
	return nil
}

// Spans feeds every span of the trace file to j, one export request at a
// time, and returns how many.
func (in *Input) Spans(j *checks.Judge) (int, error) {
	n := 0
	err := in.eachSpan(func(s *checks.Span) { n++; j.Span(s) })
	return n, err
}

// eachSpan calls fn with every span of the trace file, borrowed.
func (in *Input) eachSpan(fn func(*checks.Span)) error {
	each := func(td ptrace.Traces) {
		spans := checks.SpansFromTraces(td)
		for i := range spans {
			fn(&spans[i])
		}
	}
	var err error
	switch {
	case in.tracesPath != "":
		err = eachTracesFile(in.tracesPath, each)
	case in.traces != nil:
		err = eachTraces(in.traces, each)
	}
	if err != nil {
		return fmt.Errorf("%s: %v", in.tracesName, err)
	}
	return nil
}

// maxTraceBytes bounds a trace file read whole (standard input, or one
// pretty-printed request) and one line of a file of requests.
const maxTraceBytes = 256 << 20

// eachTracesFile is eachTraces reading a file one line at a time: a file
// of many requests holds one of them in memory, not all.
func eachTracesFile(path string, fn func(ptrace.Traces)) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	var u ptrace.JSONUnmarshaler
	br := bufio.NewReaderSize(f, 1<<20)
	parsed := 0
	for n := 1; ; n++ {
		line, rerr := readLine(br, maxTraceBytes)
		if rerr != nil && !errors.Is(rerr, io.EOF) {
			return fmt.Errorf("line %d: %w", n, rerr)
		}
		if len(bytes.TrimSpace(line)) > 0 {
			if d := jsonDepth(line); d > maxJSONDepth {
				return fmt.Errorf("line %d: JSON nested more than %d levels deep: not OTLP traces", n, maxJSONDepth)
			}
			td, err := u.UnmarshalTraces(line)
			switch {
			case err != nil && parsed > 0:
				return fmt.Errorf("line %d: not OTLP JSON traces: %v", n, err)
			case err != nil:
				// Not one request per line: one request in the whole file.
				body, truncated, err := readCapped(path, maxTraceBytes, nil)
				if err != nil {
					return err
				}
				if truncated {
					return errors.New("larger than 256 MiB and not one request per line")
				}
				return eachTraces(body, fn)
			}
			parsed++
			fn(td)
		}
		if rerr != nil {
			return nil
		}
	}
}

// maxJSONDepth bounds the nesting of a trace file's JSON: an export request
// with attribute values nested as deep as the judge keeps them
// (checks.MaxValueDepth) needs about 140 levels. The decoder builds
// whatever depth it is given, so a deeper document is refused before.
const maxJSONDepth = 256

// jsonDepth is the deepest nesting of objects and arrays in b, strings
// skipped; it stops counting past maxJSONDepth.
func jsonDepth(b []byte) int {
	depth, deepest, inString := 0, 0, false
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch {
		case inString:
			if c == '\\' {
				i++
			} else if c == '"' {
				inString = false
			}
		case c == '"':
			inString = true
		case c == '{' || c == '[':
			if depth++; depth > deepest {
				deepest = depth
				if deepest > maxJSONDepth {
					return deepest
				}
			}
		case c == '}' || c == ']':
			depth--
		}
	}
	return deepest
}

// readLine reads up to and without the next newline, at most max bytes.
func readLine(br *bufio.Reader, max int) ([]byte, error) {
	var line []byte
	for {
		part, err := br.ReadSlice('\n')
		if len(line)+len(part) > max {
			return nil, fmt.Errorf("longer than %d MiB", max>>20)
		}
		line = append(line, part...)
		if !errors.Is(err, bufio.ErrBufferFull) {
			return bytes.TrimSuffix(line, []byte("\n")), err
		}
	}
}

// eachTraces reads OTLP JSON: one export request per line, as the
// collector's file exporter writes, or one request in the whole file, e.g.
// pretty-printed. Lines are tried first because the JSON unmarshaler stops
// after the first object and silently ignores the rest of the input.
func eachTraces(body []byte, fn func(ptrace.Traces)) error {
	if d := jsonDepth(body); d > maxJSONDepth {
		return fmt.Errorf("JSON nested more than %d levels deep: not OTLP traces", maxJSONDepth)
	}
	var u ptrace.JSONUnmarshaler
	parsed := 0
	for i, line := range bytes.Split(body, []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		td, err := u.UnmarshalTraces(line)
		if err != nil && parsed > 0 {
			return fmt.Errorf("line %d: not OTLP JSON traces: %v", i+1, err)
		}
		if err != nil {
			td, err := u.UnmarshalTraces(body)
			if err != nil {
				return fmt.Errorf("not OTLP JSON traces: %v", err)
			}
			fn(td)
			return nil
		}
		parsed++
		fn(td)
	}
	return nil
}

type probesFile struct {
	Probes   []checks.Probe  `json:"probes"`
	Canaries []checks.Canary `json:"canaries"`
}

func loadProbes(ev *checks.Evidence, path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var pf probesFile
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&pf); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	ev.Probes, ev.Canaries = pf.Probes, pf.Canaries
	ev.Captured.Probes = true
	return nil
}

type scrapeOverride struct {
	File        string `json:"file"`
	Phase       string `json:"phase"`
	Status      int    `json:"status"`
	ContentType string `json:"content_type"`
	Error       string `json:"error"`
	// What a bundle records beyond the fixture essentials.
	URL       string        `json:"url,omitempty"`
	Time      time.Time     `json:"time,omitzero"`
	Duration  time.Duration `json:"duration,omitempty"`
	Truncated bool          `json:"truncated,omitempty"`
	// NotParsed: the answer was not 2xx, so the body was kept but not
	// parsed as an exposition (as internal/scrape does).
	NotParsed bool `json:"not_parsed,omitempty"`
}

func applyScrapeOverrides(ev *checks.Evidence, dir string, files []string) error {
	path := filepath.Join(dir, "scrapes.json")
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var ovs []scrapeOverride
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&ovs); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	byFile := map[string]int{}
	for i, f := range files {
		byFile[filepath.Base(f)] = i
	}
	var out []checks.Scrape
	for i, o := range ovs {
		var s checks.Scrape
		if o.File != "" {
			idx, ok := byFile[o.File]
			if !ok {
				return fmt.Errorf("%s: entry %d: no file %q", path, i, o.File)
			}
			s = ev.Scrapes[idx]
		}
		if o.ContentType != "" || o.File == "" {
			s = checks.NewScrape(s.URL, s.Phase, s.Status, o.ContentType, s.Body, s.Truncated)
		}
		if o.Phase != "" {
			s.Phase = o.Phase
		}
		if o.Status != 0 {
			s.Status = o.Status
		}
		if o.Error != "" {
			s = checks.Scrape{URL: s.URL, Phase: s.Phase, Status: o.Status, Err: o.Error}
		}
		if o.URL != "" {
			s.URL = o.URL
		}
		if !o.Time.IsZero() {
			s.Time, s.Duration = o.Time, o.Duration
		}
		s.Truncated = s.Truncated || o.Truncated
		s.NotParsed = o.NotParsed
		out = append(out, s)
	}
	ev.Scrapes = out
	ev.Captured.Metrics = true
	return nil
}

type evidenceFile struct {
	Target   *checks.Target       `json:"target"`
	Expect   *checks.Expectations `json:"expect"`
	Captured *checks.Captured     `json:"captured"`
	Problems []checks.Problem     `json:"problems"`
	Stopped  time.Time            `json:"stopped"`
	// LogRecords and OTLPMetrics are what the embedded receiver got over
	// OTLP besides spans (bundles only).
	LogRecords  []checks.LogRecord  `json:"log_records,omitempty"`
	OTLPMetrics []checks.OTLPMetric `json:"otlp_metrics,omitempty"`
}

func applyEvidenceFile(ev *checks.Evidence, path string) error {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var ef evidenceFile
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&ef); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if ef.Target != nil {
		ev.Target = *ef.Target
	}
	if ef.Expect != nil {
		ev.Expect = *ef.Expect
	}
	if ef.Captured != nil {
		ev.Captured = *ef.Captured
	}
	ev.Problems = append(ev.Problems, ef.Problems...)
	ev.Stopped = ef.Stopped
	ev.LogRecords = append(ev.LogRecords, ef.LogRecords...)
	ev.OTLPMetrics = append(ev.OTLPMetrics, ef.OTLPMetrics...)
	return nil
}
