package config

import (
	"encoding/json"
	"flag"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

// docs/obslint.schema.json and docs/config.md are generated from the Config
// types: reflection gives the keys and types, the doc comments in config.go
// the descriptions. Regenerate with
//
//	go test ./internal/config -run TestGeneratedDocs -update
var update = flag.Bool("update", false, "rewrite docs/obslint.schema.json and docs/config.md")

const (
	schemaPath    = "../../docs/obslint.schema.json"
	configDocPath = "../../docs/config.md"
	durationRE    = `^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$`
)

func TestGeneratedDocs(t *testing.T) {
	docs := fieldDocs(t)
	schema, err := json.MarshalIndent(buildSchema(docs), "", "  ")
	require.NoError(t, err)
	schema = append(schema, '\n')
	md := buildConfigDoc(docs)
	if *update {
		require.NoError(t, os.WriteFile(schemaPath, schema, 0o644))
		require.NoError(t, os.WriteFile(configDocPath, []byte(md), 0o644))
	}
	got, err := os.ReadFile(schemaPath)
	require.NoError(t, err)
	assert.Equal(t, string(schema), string(got), "docs/obslint.schema.json is stale: go test ./internal/config -run TestGeneratedDocs -update")
	got, err = os.ReadFile(configDocPath)
	require.NoError(t, err)
	assert.Equal(t, md, string(got), "docs/config.md is stale: go test ./internal/config -run TestGeneratedDocs -update")
}

// fieldDocs reads the doc comment of every field of config.go's structs,
// keyed "Type.Field".
func fieldDocs(t *testing.T) map[string]string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), "config.go", nil, parser.ParseComments)
	require.NoError(t, err)
	docs := map[string]string{}
	ast.Inspect(f, func(n ast.Node) bool {
		ts, ok := n.(*ast.TypeSpec)
		if !ok {
			return true
		}
		if st, ok := ts.Type.(*ast.StructType); ok {
			for _, fl := range st.Fields.List {
				for _, name := range fl.Names {
					docs[ts.Name.Name+"."+name.Name] = strings.Join(strings.Fields(fl.Doc.Text()), " ")
				}
			}
		}
		return true
	})
	return docs
}

type schemaObj = map[string]any

func buildSchema(docs map[string]string) schemaObj {
	s := typeSchema(reflect.TypeFor[Config](), docs)
	out := schemaObj{
		"$schema":     "http://json-schema.org/draft-07/schema#",
		"$id":         "https://raw.githubusercontent.com/obslint/obslint/main/docs/obslint.schema.json",
		"title":       "obslint.yaml",
		"description": "How obslint runs, probes and judges a service. Reference: docs/config.md. Generated from internal/config; do not edit.",
	}
	for k, v := range s {
		out[k] = v
	}
	return out
}

func typeSchema(t reflect.Type, docs map[string]string) schemaObj {
	props := schemaObj{}
	for _, f := range yamlFields(t) {
		fs := fieldSchema(f.Type, parseTag(f.Schema), docs)
		if d := docs[t.Name()+"."+f.Go]; d != "" {
			fs["description"] = withFlag(d, f.Flag)
		}
		props[f.Key] = fs
	}
	return schemaObj{"type": "object", "additionalProperties": false, "properties": props}
}

func withFlag(desc, flag string) string {
	switch flag {
	case "":
		return desc
	case "--":
		return desc + " Overridden by the command after -- (obslint run -- CMD)."
	}
	return desc + " Flag: --" + flag + "."
}

func parseTag(tag string) map[string]string {
	out := map[string]string{}
	for kv := range strings.SplitSeq(tag, ",") {
		if k, v, ok := strings.Cut(kv, "="); ok {
			out[k] = v
		}
	}
	return out
}

func fieldSchema(t reflect.Type, tag map[string]string, docs map[string]string) schemaObj {
	switch {
	case t == durationType:
		return schemaObj{"type": "string", "pattern": durationRE}
	case t.Kind() == reflect.Struct:
		return typeSchema(t, docs)
	case t.Kind() == reflect.Slice:
		items := tag
		s := schemaObj{"type": "array"}
		if v, ok := tag["minItems"]; ok {
			s["minItems"] = atoi(v)
			items = without(tag, "minItems")
		}
		s["items"] = fieldSchema(t.Elem(), items, docs)
		return s
	case t.Kind() == reflect.Map:
		s := schemaObj{"type": "object", "additionalProperties": fieldSchema(t.Elem(), without(tag, "keyPattern"), docs)}
		if p, ok := tag["keyPattern"]; ok {
			s["propertyNames"] = schemaObj{"pattern": p}
		}
		return s
	}
	s := schemaObj{"type": "string"}
	if t.Kind() != reflect.String {
		s["type"] = "integer"
	}
	for k, v := range tag {
		switch k {
		case "enum":
			s["enum"] = strings.Split(v, "|")
		case "pattern":
			s["pattern"] = v
		case "minimum", "maximum", "minLength":
			s[k] = atoi(v)
		}
	}
	return s
}

func without(m map[string]string, key string) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		if k != key {
			out[k] = v
		}
	}
	return out
}

func atoi(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil {
		panic(fmt.Sprintf("schema tag: %q is not a number", s))
	}
	return n
}

// buildConfigDoc writes docs/config.md: every key with its type, default
// and the flag that overrides it.
func buildConfigDoc(docs map[string]string) string {
	var b strings.Builder
	b.WriteString(`# obslint.yaml reference

<!-- Generated from internal/config by: go test ./internal/config -run TestGeneratedDocs -update. Do not edit. -->

obslint reads ` + "`obslint.yaml`" + ` from the working directory (or ` + "`--config FILE`" + `). Every key is
optional, and every key is also a flag: a flag given on the command line wins over the file. Lists
given as flags (` + "`--probe`, `--expect-metric`, `--expect-route`, `--expect-log-field`" + `) add to the
file's lists; ` + "`--disable`" + ` and ` + "`--severity`" + ` win for the rules they name.

The file is checked before anything is launched. Unknown keys, wrong types and invalid values are
all reported at once with their key path, file and line, and the closest valid key
(` + "`probes::0: unknown key \"stauts\" at obslint.yaml:3; did you mean \"status\"?`" + `), exit code 2.
Editors that speak JSON Schema (VS Code with the YAML extension, JetBrains IDEs) complete and
check the file with [obslint.schema.json](obslint.schema.json); ` + "`obslint init`" + ` writes a starter
file that points at it.

| key | type | flag | description |
|---|---|---|---|
`)
	for _, f := range Keys() {
		parent := f.Parent.Name()
		desc := docs[parent+"."+f.Go]
		flag := "—"
		switch f.Flag {
		case "":
		case "--":
			flag = "`run -- CMD`"
		default:
			flag = "`--" + f.Flag + "`"
		}
		key := strings.Replace(strings.ReplaceAll(f.Path, "::", "."), "probes.", "probes[].", 1)
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", key, typeName(f.Type), flag, strings.ReplaceAll(desc, "|", `\|`))
	}
	b.WriteString(`
Probe fields (` + "`probes[].method`" + ` …) come together in one ` + "`--probe`" + ` flag:
` + "`--probe 'POST /orders route=/orders status=201 header=Content-Type:application/json body={\"sku\": \"A-1\"}'`" + `
(the body comes last and takes the rest of the value).

## Baselines

` + "`--baseline FILE`" + ` (run and lint) applies a baseline written by
` + "`obslint baseline write --from report.json`" + `: findings matched by rule and subject (never by
message) are listed as ` + "`baselined`" + ` and do not fail the run; entries that no longer occur are
listed as ` + "`stale_baseline`" + ` and fail it at ` + "`--stale-baseline`" + ` severity (default ` + "`error`" + `, so a
fixed problem must be pruned from the baseline, as ESLint requires). Entries for rules that were
not evaluated or are disabled in a run are not stale: nothing was checked.

## Example

` + "```yaml" + `
command: [node, server.js]
profile: node
metrics_path: /metrics
ready: /healthz
probes:
  - {method: GET, path: /users/42, route: /users/:id, status: 200}
  - method: POST
    path: /orders
    route: /orders
    status: 201
    headers: {Content-Type: application/json}
    body: '{"sku": "A-1"}'
expect:
  required_metrics: [orders_created_total]
  routes: [/users/:id, /orders]
  log_fields: [service]
rules:
  disable:
    logs/json: access logs go through the ingress, not stdout
  severity:
    metrics/help: info
timeouts:
  total: 2m
  ready: 30s
limits:
  max_log_lines: 100000
` + "```" + `
`)
	return b.String()
}

func typeName(t reflect.Type) string {
	switch {
	case t == durationType:
		return "duration"
	case t.Kind() == reflect.Slice:
		return "list of " + typeName(t.Elem())
	case t.Kind() == reflect.Map:
		return "map of " + typeName(t.Elem())
	case t.Kind() == reflect.Struct:
		return "mapping"
	case t.Kind() == reflect.String:
		return "string"
	}
	return "integer"
}

// everyKey is a file that sets every key; it must load and pass the schema.
const everyKey = `command: [node, server.js]
url: http://127.0.0.1:3000
metrics_path: /metrics
metrics_url: http://127.0.0.1:9464/metrics
ready: /healthz
profile: node
probes:
  - method: POST
    path: /orders?x=1
    route: /orders
    status: 201
    headers: {Content-Type: application/json}
    body: '{"sku": "A-1"}'
expect:
  duration_metric: http_request_duration_seconds
  required_metrics: [orders_created_total]
  routes: [/orders]
  log_fields: [service, http.method]
rules:
  disable: {logs/json: text logs by design, traces/*: no tracing yet}
  severity: {metrics/help: info}
timeouts: {total: 2m, ready: 30s, probe: 1500ms, spans: 5s, grace: 1s}
limits: {max_log_line_bytes: 4096, max_log_lines: 100, max_scrape_bytes: 1048576, max_spans: 50}
`

func loadSchema(t *testing.T) schemaObj {
	t.Helper()
	b, err := os.ReadFile(schemaPath)
	require.NoError(t, err)
	var s schemaObj
	require.NoError(t, json.Unmarshal(b, &s))
	return s
}

// asJSON decodes YAML into the generic values a JSON Schema judges.
func asJSON(t *testing.T, b []byte) any {
	t.Helper()
	var v any
	require.NoError(t, yaml.Unmarshal(b, &v))
	j, err := json.Marshal(v)
	require.NoError(t, err)
	var out any
	require.NoError(t, json.Unmarshal(j, &out))
	return out
}

// TestSchemaAcceptsRealFiles validates every obslint.yaml in the repo, and
// one that sets every key, against the published schema.
func TestSchemaAcceptsRealFiles(t *testing.T) {
	schema := loadSchema(t)
	files := map[string][]byte{"every key": []byte(everyKey)}
	for _, root := range []string{"../../examples", "../../fixtures/services"} {
		require.NoError(t, filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && (d.Name() == "node_modules" || strings.HasPrefix(d.Name(), ".")) {
				return filepath.SkipDir
			}
			if d.Name() == FileName {
				b, err := os.ReadFile(path)
				files[path] = b
				return err
			}
			return nil
		}))
	}
	require.Greater(t, len(files), 3, "the examples and fixture services have obslint.yaml files")
	for name, b := range files {
		_, err := Parse(name, b)
		require.NoError(t, err, name)
		assert.Empty(t, validate(schema, asJSON(t, b), ""), name)
	}
}

// TestSchemaRejects proves the validator and the schema can fail.
func TestSchemaRejects(t *testing.T) {
	schema := loadSchema(t)
	cases := map[string]string{
		"colour: red\n":                         "colour: not allowed",
		"probes:\n  - {path: /, stauts: 200}\n": "probes.0.stauts: not allowed",
		"probes:\n  - {path: users}\n":          "probes.0.path: does not match",
		"probes:\n  - {path: /, status: 700}\n": "probes.0.status: above 599",
		"profile: ruby\n":                       "profile: not one of",
		"timeouts: {total: 30}\n":               "timeouts.total: want string",
		"rules: {disable: {logs/json: ''}}\n":   "rules.disable.logs/json: shorter than 1",
		"rules: {severity: {LOGS: info}}\n":     "rules.severity: key LOGS does not match",
		"command: []\n":                         "command: fewer than 1 items",
		"expect: {routes: [users]}\n":           "expect.routes.0: does not match",
	}
	for in, want := range cases {
		errs := validate(schema, asJSON(t, []byte(in)), "")
		require.NotEmpty(t, errs, in)
		assert.Contains(t, strings.Join(errs, "\n"), want, in)
	}
}

// TestSchemaKeysLoad builds a file from the schema alone, one sample value
// per key, and loads it: the schema names no key Load would reject.
func TestSchemaKeysLoad(t *testing.T) {
	v := sample(t, loadSchema(t), "")
	b, err := yaml.Marshal(v)
	require.NoError(t, err)
	_, err = Parse("from-schema.yaml", b)
	require.NoError(t, err, "%s", b)
	var paths []string
	for _, f := range Keys() {
		paths = append(paths, f.Path)
	}
	assert.Len(t, paths, countKeys(v.(map[string]any)), "every key of the schema is a key of Config")
}

func countKeys(m map[string]any) int {
	n := 0
	for k, v := range m {
		if strings.Contains(k, "/") {
			continue // a rule ID, not a key
		}
		n++
		switch v := v.(type) {
		case map[string]any:
			n += countKeys(v)
		case []any:
			if len(v) > 0 {
				if mm, ok := v[0].(map[string]any); ok {
					n += countKeys(mm)
				}
			}
		}
	}
	return n
}

func sample(t *testing.T, s schemaObj, path string) any {
	switch s["type"] {
	case "object":
		props, _ := s["properties"].(map[string]any)
		if props == nil {
			return map[string]any{"metrics/help": sample(t, s["additionalProperties"].(map[string]any), path)}
		}
		out := map[string]any{}
		for k, p := range props {
			out[k] = sample(t, p.(map[string]any), path+"."+k)
		}
		return out
	case "array":
		return []any{sample(t, s["items"].(map[string]any), path)}
	case "integer":
		if m, ok := s["minimum"].(float64); ok {
			return int(m)
		}
		return 1
	}
	if e, ok := s["enum"].([]any); ok {
		return e[0]
	}
	switch p, _ := s["pattern"].(string); p {
	case "":
		return "x"
	case durationRE:
		return "1s"
	case "^/":
		return "/x"
	default:
		return "x_total"
	}
}

// validate is the subset of JSON Schema draft-07 the schema uses. It
// returns one message per violation, with a dotted path.
func validate(s schemaObj, v any, path string) []string {
	var errs []string
	fail := func(format string, args ...any) {
		errs = append(errs, strings.TrimPrefix(path, ".")+": "+fmt.Sprintf(format, args...))
	}
	if v == nil {
		return nil // YAML's empty value decodes to the zero value
	}
	switch s["type"] {
	case "object":
		m, ok := v.(map[string]any)
		if !ok {
			fail("want object")
			return errs
		}
		props, _ := s["properties"].(map[string]any)
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			if pn, ok := s["propertyNames"].(map[string]any); ok && !regexp.MustCompile(pn["pattern"].(string)).MatchString(k) {
				fail("key %s does not match %s", k, pn["pattern"])
			}
			switch ps, known := props[k]; {
			case known:
				errs = append(errs, validate(ps.(map[string]any), m[k], path+"."+k)...)
			case s["additionalProperties"] == false:
				errs = append(errs, strings.TrimPrefix(path+"."+k, ".")+": not allowed")
			default:
				if ap, ok := s["additionalProperties"].(map[string]any); ok {
					errs = append(errs, validate(ap, m[k], path+"."+k)...)
				}
			}
		}
	case "array":
		a, ok := v.([]any)
		if !ok {
			fail("want array")
			return errs
		}
		if n, ok := s["minItems"].(float64); ok && len(a) < int(n) {
			fail("fewer than %d items", int(n))
		}
		for i, item := range a {
			errs = append(errs, validate(s["items"].(map[string]any), item, path+"."+strconv.Itoa(i))...)
		}
	case "integer":
		n, ok := v.(float64)
		if !ok || n != float64(int64(n)) {
			fail("want integer")
			return errs
		}
		if lo, ok := s["minimum"].(float64); ok && n < lo {
			fail("below %v", lo)
		}
		if hi, ok := s["maximum"].(float64); ok && n > hi {
			fail("above %v", hi)
		}
	case "string":
		str, ok := v.(string)
		if !ok {
			fail("want string")
			return errs
		}
		if p, ok := s["pattern"].(string); ok && !regexp.MustCompile(p).MatchString(str) {
			fail("does not match %s", p)
		}
		if n, ok := s["minLength"].(float64); ok && len(str) < int(n) {
			fail("shorter than %d", int(n))
		}
		if e, ok := s["enum"].([]any); ok && !slices.Contains(e, any(str)) {
			fail("not one of %v", e)
		}
	}
	return errs
}
