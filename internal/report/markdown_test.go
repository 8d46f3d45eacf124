package report

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/obslint/obslint/checks"
	"github.com/obslint/obslint/checks/catalogue"
)

func TestEscapeText(t *testing.T) {
	cases := []struct{ in, want string }{
		{"every family has HELP text", "every family has HELP text"},
		{"snake_case names, prometheus_client", "snake_case names, prometheus_client"},
		{"counters end in _total", `counters end in \_total`},
		{"name Counters <name>_total", `name Counters \<name\>\_total`},
		{"resource has telemetry.sdk.*, service.version", `resource has telemetry.sdk.\*, service.version`},
		{"labelNames ['method'] | `x` & y", "labelNames \\['method'\\] \\| \\`x\\` \\& y"},
		{`C:\path`, `C:\\path`},
		{"__name__", `\_\_name\_\_`},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			assert.Equal(t, tc.want, escapeText(tc.in))
		})
	}
}

func TestDemoteHeadings(t *testing.T) {
	cases := []struct{ name, in, want string }{
		{"no headings", "Why.\n\n    # a comment in code\n", "Why.\n\n    # a comment in code\n"},
		{"levels move below ###", "# Why\n## Bad\n### Good\n#### Deep", "#### Why\n##### Bad\n###### Good\n###### Deep"},
		{"empty heading", "##\ntext", "#####\ntext"},
		{"not a heading", "#hashtag\n\\# escaped", "#hashtag\n\\# escaped"},
		{"fenced code is untouched", "```python\n# comment\n```\n## After", "```python\n# comment\n```\n##### After"},
		{"a shorter fence does not close", "````\n```\n# in code\n````\n# out", "````\n```\n# in code\n````\n#### out"},
		{"tilde fences", "~~~\n# in code\n~~~\n# out", "~~~\n# in code\n~~~\n#### out"},
		{"unclosed fence runs to the end", "```\n# in code", "```\n# in code"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, demoteHeadings(tc.in))
		})
	}
}

// TestAnchorOfMatchesRuleAnchor checks that the heading of every rule
// produces the fragment Rule.Anchor links findings to.
func TestAnchorOfMatchesRuleAnchor(t *testing.T) {
	assert.Equal(t, "metricscounter-suffix", anchorOf("metrics/counter-suffix"))
	assert.Equal(t, "correlation", anchorOf("Correlation"))
	assert.Equal(t, "fix-hint_2", anchorOf("Fix hint_2!"))
	for _, r := range catalogue.All() {
		assert.Equal(t, r.Anchor(), "docs/rules.md#"+anchorOf(r.ID), r.ID)
	}
}

func TestNeedWords(t *testing.T) {
	all := []checks.Need{checks.NeedScrape, checks.NeedFamilies, checks.NeedTwoScrapes, checks.NeedLogs,
		checks.NeedTraces, checks.NeedSpans, checks.NeedProbes, checks.NeedTracedProbes}
	for _, n := range all {
		assert.NotEmpty(t, needWords[n], "no words for need %q", n)
	}
	assert.Len(t, needWords, len(all), "needWords names a need the test does not list")
	assert.Equal(t, "`new-need`. Not evaluated without it.", needsText([]checks.Need{"new-need"}))
}

func TestMarkdownIntroNamesRealRules(t *testing.T) {
	for _, id := range markdownExampleIDs {
		_, ok := catalogue.Lookup(id)
		assert.True(t, ok, "the intro's example rule %s is not in the catalogue", id)
		assert.Contains(t, markdownIntro, "    "+id+":")
	}
}

// TestWriteRulesMarkdownSections checks the parts of a rule section the
// golden file cannot show for the sample rules: a Doc's own headings, plain
// text that looks like markdown, an unknown signal.
func TestWriteRulesMarkdownSections(t *testing.T) {
	rules := []*checks.Rule{
		{ID: "traces/span-name", Severity: checks.Warning, Summary: "names are {METHOD} {route}",
			Doc: "## Why\n\n```js\n# not a heading\n```\n", Fix: checks.Fix{Node: "use '<name>'"}},
		{ID: "metrics/help", Summary: "every family has HELP text", Doc: "Help.", Profiles: []string{checks.ProfileNode}},
		{ID: "future/rule", Summary: "a signal not known yet", Doc: "Future."},
	}
	var buf bytes.Buffer
	require.NoError(t, WriteRules(&buf, Markdown, rules))
	out := buf.String()

	assert.Contains(t, out, "##### Why\n\n```js\n# not a heading\n```\n")
	assert.Contains(t, out, "- **Node:** use '\\<name\\>'")
	assert.Contains(t, out, "- **Profiles:** `node` only")
	assert.Contains(t, out, "- **Needs:** no fixed evidence")
	assert.Equal(t, 1, strings.Count(out, "**Fix hint in findings**"), "only a rule with a fix lists hints")

	// Signals come in report order whatever the catalogue order, and an
	// unknown signal is listed last rather than dropped.
	order := []string{"## Metrics\n", "### metrics/help\n", "## Traces\n", "### traces/span-name\n", "## future\n", "### future/rule\n"}
	last := -1
	for _, s := range order {
		i := strings.Index(out, s)
		require.GreaterOrEqual(t, i, 0, "missing %q", s)
		assert.Greater(t, i, last, "%q out of order", s)
		last = i
	}
	for _, link := range []string{"(#metricshelp)", "(#tracesspan-name)", "(#futurerule)", "(#metrics)", "(#future)"} {
		assert.Contains(t, out, link)
	}
}
