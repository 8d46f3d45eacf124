package config

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// FieldError is one problem with one key. Its text follows one shape,
// "probes::0: unknown key "stauts" at obslint.yaml:3; did you mean "status"?":
// the key path, what is wrong, where, and a hint.
type FieldError struct {
	Path string // key path, "probes::0::status"; "" for the top level
	Msg  string
	File string // empty when the value came from a flag
	Line int
	Hint string
}

func (e *FieldError) Error() string {
	var b strings.Builder
	if e.Path != "" {
		b.WriteString(e.Path + ": ")
	}
	b.WriteString(e.Msg)
	if e.File != "" && e.Line > 0 {
		fmt.Fprintf(&b, " at %s:%d", e.File, e.Line)
	} else if e.File != "" {
		fmt.Fprintf(&b, " in %s", e.File)
	}
	if e.Hint != "" {
		b.WriteString("; " + e.Hint)
	}
	return b.String()
}

// Source remembers the file a config came from and the line of each key, so
// problems found after decoding (an unknown rule ID) can still name a line.
type Source struct {
	File  string
	lines map[string]int
}

// Line returns the line of a key path, or of its nearest parent that is in
// the file; 0 when none is.
func (s *Source) Line(path string) int {
	if s == nil {
		return 0
	}
	for {
		if n, ok := s.lines[path]; ok {
			return n
		}
		i := strings.LastIndex(path, "::")
		if i < 0 {
			return 0
		}
		path = path[:i]
	}
}

// Errorf returns a FieldError for a key of this config, located in the file.
func (s *Source) Errorf(path, hint, format string, args ...any) error {
	e := &FieldError{Path: path, Msg: fmt.Sprintf(format, args...), Hint: hint}
	if s != nil {
		e.File, e.Line = s.File, s.Line(path)
	}
	return e
}

// annotate locates every FieldError in a (joined) error.
func (s *Source) annotate(err error) error {
	var out []error
	for _, e := range unjoin(err) {
		var fe *FieldError
		if errors.As(e, &fe) && fe.File == "" {
			c := *fe
			c.File, c.Line = s.File, s.Line(fe.Path)
			e = &c
		}
		out = append(out, e)
	}
	return errors.Join(out...)
}

func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// checker walks the YAML tree beside the Config type before anything is
// decoded: yaml.v3 stops a mapping at its first type error and words its
// messages in Go types, where users need key paths.
type checker struct {
	src  *Source
	errs []error
}

// checkNode checks a whole document against Config.
func checkNode(src *Source, doc *yaml.Node) error {
	c := &checker{src: src}
	root := doc
	if doc.Kind == yaml.DocumentNode && len(doc.Content) > 0 {
		root = doc.Content[0]
	}
	c.walk(root, reflect.TypeFor[Config](), "")
	return errors.Join(c.errs...)
}

func (c *checker) fail(path string, line int, hint, format string, args ...any) {
	c.errs = append(c.errs, &FieldError{Path: path, Msg: fmt.Sprintf(format, args...),
		File: c.src.File, Line: line, Hint: hint})
}

var durationType = reflect.TypeFor[Duration]()

func (c *checker) walk(n *yaml.Node, t reflect.Type, path string) {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return // an empty value is the zero value
	}
	switch {
	case t == durationType:
		c.leaf(n, t, path)
	case t.Kind() == reflect.Struct:
		c.mapping(n, t, path)
	case t.Kind() == reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			c.fail(path, n.Line, "", "want a list, e.g. %s, got %s", listExample(path), describe(n))
			return
		}
		for i, item := range n.Content {
			p := join(path, strconv.Itoa(i))
			c.src.lines[p] = item.Line
			c.walk(item, t.Elem(), p)
		}
	case t.Kind() == reflect.Map:
		if n.Kind != yaml.MappingNode {
			c.fail(path, n.Line, "", "want a mapping of key: value, got %s", describe(n))
			return
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			p := join(path, k.Value)
			c.src.lines[p] = k.Line
			c.walk(n.Content[i+1], t.Elem(), p)
		}
	default:
		c.leaf(n, t, path)
	}
}

func (c *checker) mapping(n *yaml.Node, t reflect.Type, path string) {
	if n.Kind != yaml.MappingNode {
		c.fail(path, n.Line, "", "want a mapping of key: value, got %s", describe(n))
		return
	}
	fields := yamlFields(t)
	keys := make([]string, len(fields))
	for i, f := range fields {
		keys[i] = f.Key
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		idx := slices.IndexFunc(fields, func(f Field) bool { return f.Key == k.Value })
		if idx < 0 {
			hint := "valid keys: " + strings.Join(keys, ", ")
			if s := closestKey(k.Value, keys); s != "" {
				hint = fmt.Sprintf("did you mean %q?", s)
			}
			c.fail(path, k.Line, hint, "unknown key %q", k.Value)
			continue
		}
		p := join(path, k.Value)
		c.src.lines[p] = k.Line
		c.walk(v, fields[idx].Type, p)
	}
}

// leaf checks a scalar by decoding it alone into its Go type.
func (c *checker) leaf(n *yaml.Node, t reflect.Type, path string) {
	want := kindName(t)
	if n.Kind != yaml.ScalarNode {
		c.fail(path, n.Line, "", "want %s, got %s", want, describe(n))
		return
	}
	if err := n.Decode(reflect.New(t).Interface()); err != nil {
		msg := fmt.Sprintf("want %s, got %q", want, n.Value)
		if t == durationType {
			msg = err.Error()
		}
		c.fail(path, n.Line, "", "%s", msg)
	}
}

func kindName(t reflect.Type) string {
	switch {
	case t == durationType:
		return "a duration like 30s or 2m"
	case t.Kind() == reflect.String:
		return "a string"
	case t.Kind() >= reflect.Int && t.Kind() <= reflect.Int64:
		return "an integer"
	case t.Kind() == reflect.Bool:
		return "true or false"
	}
	return t.String()
}

func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "a list"
	case yaml.MappingNode:
		return "a mapping"
	}
	return strconv.Quote(n.Value)
}

func listExample(path string) string {
	switch path {
	case "command":
		return "[node, server.js]"
	case "probes":
		return "[{path: /users/42, route: /users/:id}]"
	}
	return "[a, b]"
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "::" + key
}

// closestKey suggests the valid key nearest to a misspelt one, if it is near
// enough to be the one meant.
func closestKey(s string, keys []string) string {
	best, bestDist := "", -1
	for _, k := range keys {
		if d := EditDistance(s, k); bestDist < 0 || d < bestDist {
			best, bestDist = k, d
		}
	}
	if bestDist < 0 || bestDist > max(2, len(s)/3) {
		return ""
	}
	return best
}

// EditDistance is the Levenshtein distance between a and b, in runes: the
// one "did you mean" measure for config keys here and rule IDs in the CLI.
func EditDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
