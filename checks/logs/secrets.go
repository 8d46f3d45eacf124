package logs

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/obslint/obslint/checks"
)

// NoSecrets is logs/no-secrets.
var NoSecrets = &checks.Rule{
	ID:       "logs/no-secrets",
	Severity: checks.Error,
	Summary:  "no secret, token or canary appears in any log line",
	Doc: `Logs are copied to more places, kept longer and read by more people than any secret
store. A bearer token in a request log is a working credential for everyone with log access.

obslint sends fake secrets (canaries) with every probe, as an ` + "`Authorization: Bearer`" + ` header
and as a query parameter with a secret name, and reports any line that contains one. It also
scans every line, raw and parsed (nested values included), for well-known token shapes (bearer
and basic credentials, JWTs, private keys, AWS, GitHub, GitLab, Slack, Stripe, GCP and npm
tokens, from gitleaks and Nosey Parker), and flags fields named like a secret
(` + "`authorization`, `cookie`, `password`, `token`, `api_key`" + ` …) that hold anything but a redaction
marker (` + "`[REDACTED]`, `***`, `[Filtered]`" + `). Reports show only a masked prefix of the value.

**Node (winston)**

Bad: logging the request headers or the full URL:

    {"headers":{"authorization":"Bearer eyJhbGciOi…"},"level":"info","message":"request","url":"/users/42?access_token=…"}

Good: a redaction format before ` + "`format.json()`" + `, and the path without the query string:

    {"headers":{"authorization":"[REDACTED]"},"level":"info","message":"request","path":"/users/42"}

**Python (structlog)**

Bad: binding the request headers, or ` + "`dict_tracebacks`" + ` with ` + "`show_locals=True`" + ` (the default) dumping a
local variable that holds a password:

    {"event": "login failed", "password": "hunter2hunter2", "level": "warning"}

Good: a processor that drops or masks secret keys before the renderer:

    {"event": "login failed", "password": "[REDACTED]", "level": "warning"}

**Fix**: never log headers, query strings or credentials wholesale; add a redaction step to the
logger and rotate any credential that was logged.`,
	Fix: checks.Fix{
		Node:   "Add a winston format that replaces secret keys (authorization, cookie, password, token) with \"[REDACTED]\", and log req.path instead of req.url; rotate any leaked credential.",
		Python: "Add a structlog processor that masks secret keys before JSONRenderer, log the path without the query, and use ExceptionDictTransformer(show_locals=False); rotate any leaked credential.",
	},
	Needs: []checks.Need{checks.NeedLogs},
	Logs:  newSecretsJudge,
}

// A leak found on one line: where (a field path, or "" for the raw text)
// and which kind of secret.
type leak struct {
	path  string
	kind  string
	value string
}

type secretsJudge struct {
	canaries   []string
	sent       []checks.Canary
	secretKeys keyCache
	totals     counts
	t          tally
}

func newSecretsJudge(ev *checks.Evidence) checks.LogJudge {
	return &secretsJudge{canaries: ev.CanaryValues(), sent: ev.Canaries, secretKeys: keyCache{}, totals: counts{}}
}

func (j *secretsJudge) Line(l *checks.LogLine) {
	j.totals[l.Source]++
	for _, g := range groupLeaks(lineLeaks(l, j.canaries, j.sent, j.secretKeys)) {
		subject := l.Source + " text"
		if g.path != "" {
			subject = fieldSubject(l.Source, g.path)
		}
		j.t.add(subject, "secret", strings.Join(g.kinds, ", "), l, g.evidence)
	}
}

func (j *secretsJudge) Merge(later checks.LogJudge) {
	o := later.(*secretsJudge)
	j.totals.merge(o.totals)
	j.t.merge(&o.t)
}

func (j *secretsJudge) Finish(p *checks.Pass) {
	j.t.report(p, func(g *group) string {
		where := "in their text"
		if _, path, ok := strings.Cut(g.Subject, " field "); ok {
			where = "in field " + path
		}
		return fmt.Sprintf("%s carry a secret %s", share(g.N, j.totals[g.Source], "lines on "+g.Source), where)
	})
}

// lineLeaks finds every secret in one line.
func lineLeaks(l *checks.LogLine, canaries []string, sent []checks.Canary, secretKeys keyCache) []leak {
	if l.Fields == nil {
		var out []leak
		for _, m := range findSecrets(l.Raw, canaries) {
			out = append(out, leak{kind: kindName(m, sent), value: m.Value})
		}
		return out
	}
	escaped := strings.Contains(l.Raw, `\`)
	matches := findSecrets(l.Raw, canaries)
	secretKey := l.SecretKey || !l.KeysKnown && hasSecretKey(l.Fields, secretKeys, 0)
	if !escaped && len(matches) == 0 && !secretKey {
		return nil // the common line: nothing to attribute, no field to look at
	}
	leaves := flatten(l.Fields, secretKeys)
	var out []leak
	for _, lf := range leaves {
		if lf.secretKey && !lf.redacted() {
			out = append(out, leak{path: lf.path, kind: "secret-named field", value: lf.text})
		}
	}
	// One scan of the raw line (it sees "authorization":"Bearer …" across
	// key and value) and, when the line has escapes, one of the unescaped
	// values (JSON escaping can hide a secret); each match is attributed to
	// the field holding it.
	if escaped {
		var texts strings.Builder
		for _, lf := range leaves {
			texts.WriteString(lf.key + "\n" + lf.text + "\n")
		}
		matches = append(matches, findSecrets(texts.String(), canaries)...)
	}
	seen := map[string]bool{}
	for _, m := range matches {
		if seen[m.Pattern+"\x00"+m.Value] {
			continue
		}
		seen[m.Pattern+"\x00"+m.Value] = true
		out = append(out, leak{path: holder(leaves, m.Value), kind: kindName(m, sent), value: m.Value})
	}
	return out
}

// findSecrets is checks.FindSecrets without values that are already masked
// ("Bearer REDACTED" matches the bearer pattern).
func findSecrets(s string, canaries []string) []checks.SecretMatch {
	var out []checks.SecretMatch
	for _, m := range checks.FindSecrets(s, canaries) {
		if !isRedacted(m.Value) {
			out = append(out, m)
		}
	}
	return out
}

// holder names the field whose key or value contains v, "" if none does.
func holder(leaves []leaf, v string) string {
	for _, lf := range leaves {
		if strings.Contains(lf.text, v) || strings.Contains(lf.key, v) {
			return lf.path
		}
	}
	return ""
}

// leakGroup is the leaks of one line in one place.
type leakGroup struct {
	path   string
	kinds  []string
	values []string
}

func (g leakGroup) evidence() string {
	parts := make([]string, len(g.values))
	for i, v := range g.values {
		parts[i] = checks.Mask(v)
	}
	at := "text"
	if g.path != "" {
		at = g.path
	}
	return at + ": " + strings.Join(parts, ", ")
}

// groupLeaks merges the leaks of one line by place, so a line counts once
// per field however many patterns matched there.
func groupLeaks(leaks []leak) []leakGroup {
	byPath := map[string]*leakGroup{}
	var order []string
	for _, lk := range leaks {
		g, ok := byPath[lk.path]
		if !ok {
			g = &leakGroup{path: lk.path}
			byPath[lk.path] = g
			order = append(order, lk.path)
		}
		if !slices.Contains(g.kinds, lk.kind) {
			g.kinds = append(g.kinds, lk.kind)
		}
		if !slices.Contains(g.values, lk.value) && len(g.values) < maxExamples {
			g.values = append(g.values, lk.value)
		}
	}
	sort.Strings(order)
	out := make([]leakGroup, len(order))
	for i, path := range order {
		out[i] = *byPath[path]
		sort.Strings(out[i].kinds)
	}
	return out
}

// kindName names a match: its pattern, or how the canary was sent.
func kindName(m checks.SecretMatch, sent []checks.Canary) string {
	if m.Pattern != "canary" {
		return m.Pattern
	}
	for _, c := range sent {
		if c.Value == m.Value && c.Where != "" {
			return "canary sent as " + c.Where
		}
	}
	return "canary"
}

// leaf is one scalar value of a parsed line.
type leaf struct {
	path      string // dotted, "[]" for array elements: headers.authorization
	key       string // the last key
	text      string // the value as text
	secretKey bool   // the key must only hold a redaction marker
	scalar    bool   // a string or number, not a bool
}

func (lf leaf) redacted() bool { return !lf.scalar || isRedacted(lf.text) }

// Bounds on the walk of one parsed line.
const (
	maxDepth  = 32
	maxLeaves = 10_000
)

// isTraceID reports whether v looks like a trace or span id (16 or 32 hex
// digits), which must never be taken for a secret (shared reference
// logs-traces §3.6, exclusions).
func isTraceID(v string) bool {
	if len(v) != 16 && len(v) != 32 {
		return false
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// hasSecretKey reports whether any key of a parsed line, at any depth, names
// a secret: only then must its leaves be listed.
func hasSecretKey(v any, keys keyCache, depth int) bool {
	if depth > maxDepth {
		return false
	}
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			if keys.secret(k) || hasSecretKey(e, keys, depth+1) {
				return true
			}
		}
	case []any:
		for _, e := range v {
			if hasSecretKey(e, keys, depth+1) {
				return true
			}
		}
	}
	return false
}

// keyCache remembers which keys name secrets: a stream repeats the same
// few keys on every line.
type keyCache map[string]bool

func (c keyCache) secret(key string) bool {
	v, ok := c[key]
	if !ok {
		v = checks.SecretKeyRE.MatchString(key)
		if len(c) < maxLeaves {
			c[key] = v
		}
	}
	return v
}

// flatten lists the scalar leaves of a parsed line in key order.
func flatten(fields map[string]any, keys keyCache) []leaf {
	var out []leaf
	var walk func(path, key string, v any, depth int)
	walk = func(path, key string, v any, depth int) {
		if depth > maxDepth || len(out) >= maxLeaves {
			return
		}
		switch v := v.(type) {
		case map[string]any:
			keys := make([]string, 0, len(v))
			for k := range v {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				walk(joinPath(path, k), k, v[k], depth+1)
			}
		case []any:
			for _, e := range v {
				walk(path+"[]", key, e, depth+1)
			}
		case string:
			if isTraceKey(key) && isTraceID(v) {
				return
			}
			out = append(out, leaf{path: path, key: key, text: v, secretKey: keys.secret(key), scalar: true})
		case json.Number:
			out = append(out, leaf{path: path, key: key, text: v.String(), secretKey: keys.secret(key), scalar: true})
		case bool:
			out = append(out, leaf{path: path, key: key, text: fmt.Sprint(v)})
		}
	}
	walk("", "", fields, 0)
	return out
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// isTraceKey: keys that hold trace context ids.
func isTraceKey(key string) bool {
	k := strings.ToLower(key)
	return strings.Contains(k, "trace") || strings.Contains(k, "span") || k == "id"
}
