package checks

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// Every pattern has keywords, and each is lower case: the prefilter compares
// them with the lower-cased text, so an upper-case keyword would never match
// and its pattern would silently never run.
func TestSecretPatternKeywords(t *testing.T) {
	for _, p := range SecretPatterns {
		assert.NotEmpty(t, p.Keywords, p.Name)
		for _, k := range p.Keywords {
			assert.Equal(t, strings.ToLower(k), k, p.Name)
		}
	}
}

// The prefilter must not lose a match: one sample per pattern is found.
func TestSecretPatternSamplesFound(t *testing.T) {
	samples := map[string]string{
		"bearer-token":            `"authorization":"Bearer abcdef123456"`,
		"basic-auth":              `Authorization: Basic dXNlcjpwYXNzd29yZA==`,
		"jwt":                     `token eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U `,
		"aws-access-token":        `key=AKIAIOSFODNN7EXAMPLE end`,
		"github-pat":              "ghp_" + strings.Repeat("a", 36),
		"github-fine-grained-pat": "github_pat_" + strings.Repeat("a", 82),
		"github-oauth":            "gho_" + strings.Repeat("a", 36),
		"gitlab-pat":              "glpat-" + strings.Repeat("a", 20),
		"slack-bot-token":         "xoxb-1234567890-1234567890-abc",
		"stripe-access-token":     "sk_live_" + strings.Repeat("a", 24),
		"gcp-api-key":             "AIza" + strings.Repeat("a", 35) + " ",
		"npm-access-token":        "NPM_" + strings.Repeat("a", 36) + " ",
		"private-key":             "-----BEGIN RSA PRIVATE KEY-----",
	}
	for _, p := range SecretPatterns {
		s, ok := samples[p.Name]
		if !assert.True(t, ok, "no sample for %s", p.Name) {
			continue
		}
		var names []string
		for _, m := range FindSecrets(s, nil) {
			names = append(names, m.Pattern)
		}
		assert.Contains(t, names, p.Name, s)
	}
}
