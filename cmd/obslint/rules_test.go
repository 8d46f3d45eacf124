package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/obslint/obslint/checks/catalogue"
)

// rulesDoc is the generated rule reference that every finding links to.
var rulesDoc = filepath.Join("..", "..", "docs", "rules.md")

// readRulesDoc reads docs/rules.md before obslint() moves the test into a
// temporary directory.
func readRulesDoc(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(rulesDoc)
	require.NoError(t, err, "docs/rules.md is missing: run `make docs`")
	return string(b)
}

// TestRulesDoc keeps docs/rules.md in step with the rules' docs in code: it
// must be byte for byte what `obslint rules --format markdown` prints.
func TestRulesDoc(t *testing.T) {
	want := readRulesDoc(t)
	o := obslint(t, nil, "", "rules", "--format", "markdown")
	require.Equal(t, exitOK, o.code, o.stderr)
	if o.stdout != want {
		t.Fatalf("docs/rules.md is stale: run `make docs`\n%s", firstDifference(want, o.stdout))
	}
}

// firstDifference names the first line where the file and the rendering
// part, so a stale doc says which rule changed.
func firstDifference(file, rendered string) string {
	a, b := strings.Split(file, "\n"), strings.Split(rendered, "\n")
	for i := range max(len(a), len(b)) {
		var x, y string
		if i < len(a) {
			x = a[i]
		}
		if i < len(b) {
			y = b[i]
		}
		if x != y {
			return "first difference at line " + strconv.Itoa(i+1) + ":\n  docs/rules.md: " + x + "\n  rendered:      " + y
		}
	}
	return ""
}

// TestRulesDocAnchors checks the promise of Rule.Anchor: on GitHub, every
// rule's fragment names the heading of that rule's own section, and every
// in-page link of the doc leads to a heading.
func TestRulesDocAnchors(t *testing.T) {
	doc := readRulesDoc(t)
	headings := githubAnchors(doc)
	for _, r := range catalogue.All() {
		frag, ok := strings.CutPrefix(r.Anchor(), "docs/rules.md#")
		require.True(t, ok, r.Anchor())
		assert.Equal(t, r.ID, headings[frag], "%s links to #%s, which is not the heading of its section", r.ID, frag)
	}
	links := regexp.MustCompile(`\]\(#([^)\s]+)\)`).FindAllStringSubmatch(doc, -1)
	require.NotEmpty(t, links, "the contents link to the rules")
	for _, m := range links {
		_, ok := headings[m[1]]
		assert.True(t, ok, "link to #%s leads nowhere", m[1])
	}
}

func TestGithubAnchors(t *testing.T) {
	doc := "# obslint rules\n## Metrics\n### metrics/counter-suffix\n" +
		"```\n# not a heading\n```\n    # nor this\n" +
		"#### Bad\n#### Bad\n##### Fix: `x` & y ##\n#nospace\n"
	assert.Equal(t, map[string]string{
		"obslint-rules":         "obslint rules",
		"metrics":               "Metrics",
		"metricscounter-suffix": "metrics/counter-suffix",
		"bad":                   "Bad",
		"bad-1":                 "Bad",
		"fix-x--y":              "Fix: `x` & y",
	}, githubAnchors(doc))
}

// githubAnchors maps the fragment GitHub gives each heading of a markdown
// document to the heading's text. It follows github-slugger: lower-case;
// drop punctuation (but "-" and "_"), symbols and other non-word runes; each
// space becomes "-"; a repeated slug gets "-1", "-2"… Headings in code are
// not headings.
func githubAnchors(doc string) map[string]string {
	heading := regexp.MustCompile(`^ {0,3}#{1,6}(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$`)
	fence := regexp.MustCompile("^ {0,3}(```+|~~~+)")
	out := map[string]string{}
	seen := map[string]int{}
	open := ""
	for _, line := range strings.Split(doc, "\n") {
		if m := fence.FindStringSubmatch(line); m != nil {
			switch {
			case open == "":
				open = m[1]
			case m[1][0] == open[0] && len(m[1]) >= len(open) && strings.TrimSpace(line) == m[1]:
				open = ""
			}
			continue
		}
		m := heading.FindStringSubmatch(line)
		if open != "" || m == nil {
			continue
		}
		text := m[1]
		slug := githubSlug(text)
		if n, dup := seen[slug]; dup {
			seen[slug] = n + 1
			slug += "-" + strconv.Itoa(n+1)
		}
		seen[slug] = 0
		out[slug] = text
	}
	return out
}

func githubSlug(text string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(text)) {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-' || unicode.Is(unicode.Pc, r) || unicode.IsLetter(r) || unicode.IsMark(r) || unicode.In(r, unicode.Nd, unicode.Nl):
			b.WriteRune(r)
		}
	}
	return b.String()
}

func TestRulesMarkdownFormat(t *testing.T) {
	o := obslint(t, fakeApp(), "", "rules", "--format", "markdown")
	require.Equal(t, exitOK, o.code, o.stderr)
	assert.Contains(t, o.stdout, "\n### metrics/always-fails\n")
	assert.Contains(t, o.stdout, "| [logs/needs-logs](#logsneeds-logs) | error | needs logs |")

	prom := writeFile(t, "x.prom", exposition)
	// For lint and run, markdown is the step summary of a result, not the
	// rule reference; the other way round, sarif cannot list rules.
	o = obslint(t, fakeApp(), "", "lint", "--metrics", prom, "--format", "markdown")
	assert.Equal(t, exitOK, o.code, o.stderr)
	assert.Contains(t, o.stdout, "| [metrics/always-fails](")
	assert.NotContains(t, o.stdout, "\n### metrics/always-fails\n")
	o = obslint(t, fakeApp(), "", "rules", "--format", "sarif")
	assert.Equal(t, exitError, o.code)
	assert.Contains(t, o.stderr, `format "sarif" is not available for rules (valid: text, json, markdown)`)
}
