package checks

import (
	"regexp"
	"strings"
)

// SecretPattern is a well-known token shape. Patterns come from gitleaks
// v8.30.1 and Nosey Parker's http rules (see shared reference logs-traces §3.6),
// ported to RE2. Group 1, when present, is the secret itself. Keywords are
// lower-case strings every match contains: as in gitleaks, a text holding
// none of them is not searched with the regexp, which is what makes scanning
// every log line affordable.
type SecretPattern struct {
	Name     string
	Keywords []string
	RE       *regexp.Regexp
}

// SecretPatterns are scanned by logs/no-secrets and used by Redact.
var SecretPatterns = []SecretPattern{
	{"bearer-token", []string{"authorization"}, regexp.MustCompile(`(?i)Authorization(?::\s+|.{1,5})Bearer\s+([A-Za-z0-9._~+/-]{6,}=*)`)},
	{"basic-auth", []string{"authorization"}, regexp.MustCompile(`(?i)Authorization(?::\s+|.{1,5})Basic\s+([A-Za-z0-9+/]{6,}={0,2})`)},
	{"jwt", []string{".ey"}, regexp.MustCompile(`\b(ey[a-zA-Z0-9]{17,}\.ey[a-zA-Z0-9/\\_-]{17,}\.(?:[a-zA-Z0-9/\\_-]{10,}={0,2})?)`)},
	{"aws-access-token", []string{"a3t", "akia", "asia", "abia", "acca"}, regexp.MustCompile(`\b((?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16})\b`)},
	{"github-pat", []string{"ghp_"}, regexp.MustCompile(`(ghp_[0-9a-zA-Z]{36})`)},
	{"github-fine-grained-pat", []string{"github_pat_"}, regexp.MustCompile(`(github_pat_\w{82})`)},
	{"github-oauth", []string{"gho_"}, regexp.MustCompile(`(gho_[0-9a-zA-Z]{36})`)},
	{"gitlab-pat", []string{"glpat-"}, regexp.MustCompile(`(glpat-[\w-]{20})`)},
	{"slack-bot-token", []string{"xoxb-"}, regexp.MustCompile(`(xoxb-[0-9]{10,13}-[0-9]{10,13}[a-zA-Z0-9-]*)`)},
	{"stripe-access-token", []string{"sk_", "rk_"}, regexp.MustCompile(`\b((?:sk|rk)_(?:test|live|prod)_[a-zA-Z0-9]{10,99})`)},
	{"gcp-api-key", []string{"aiza"}, regexp.MustCompile(`\b(AIza[\w-]{35})`)},
	{"npm-access-token", []string{"npm_"}, regexp.MustCompile(`(?i)\b(npm_[a-z0-9]{36})`)},
	{"private-key", []string{"private key"}, regexp.MustCompile(`(?i)(-----BEGIN[ A-Z0-9_-]{0,100}PRIVATE KEY(?: BLOCK)?-----)`)},
}

// SecretKeyRE matches field names that must hold only a redaction marker.
var SecretKeyRE = regexp.MustCompile(`(?i)^(authorization|proxy-authorization|cookie|set-cookie|x-api-key|api[-_]?key|apikey|password|passwd|pwd|secret|client[-_]?secret|token|access[-_]?token|refresh[-_]?token|id[-_]?token|private[-_]?key)$`)

// RedactedRE matches values that are already masked.
var RedactedRE = regexp.MustCompile(`(?i)^(\[?redacted\]?|\*+|\[filtered\]|<redacted>|x+|)$`)

// SecretMatch is one secret found in a text.
type SecretMatch struct {
	Pattern string // pattern name, or "canary"
	Value   string // the secret itself (never print it: use Mask)
}

// FindSecrets returns the canaries and well-known secrets in s.
func FindSecrets(s string, canaries []string) []SecretMatch {
	var out []SecretMatch
	for _, c := range canaries {
		if c != "" && strings.Contains(s, c) {
			out = append(out, SecretMatch{Pattern: "canary", Value: c})
		}
	}
	found := secretKeywords.find(s)
	for i, p := range SecretPatterns {
		if len(p.Keywords) > 0 && found&secretKeywordBits[i] == 0 {
			continue
		}
		for _, m := range p.RE.FindAllStringSubmatch(s, -1) {
			v := m[0]
			if len(m) > 1 && m[1] != "" {
				v = m[1]
			}
			out = append(out, SecretMatch{Pattern: p.Name, Value: v})
		}
	}
	return out
}

// secretKeywords finds the keywords of every pattern in one pass;
// secretKeywordBits[i] are the bits of pattern i's keywords.
var secretKeywords, secretKeywordBits = func() (*keywordSet, []uint64) {
	var words []string
	bits := make([]uint64, len(SecretPatterns))
	for i, p := range SecretPatterns {
		for _, w := range p.Keywords {
			bits[i] |= 1 << len(words)
			words = append(words, w)
		}
	}
	return newKeywordSet(words), bits
}()

// Mask hides a secret, keeping enough of its head to recognise it.
func Mask(v string) string {
	keep := 4
	if len(v) <= 8 {
		keep = 0
	}
	return v[:keep] + "****(masked)"
}

// Redact masks every canary and well-known secret in s.
func Redact(s string, canaries []string) string {
	if s == "" {
		return s
	}
	for _, m := range FindSecrets(s, canaries) {
		s = strings.ReplaceAll(s, m.Value, Mask(m.Value))
	}
	return s
}

// Excerpt shortens s to at most n bytes, on a rune boundary.
func Excerpt(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !isRuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }

func (e *Evidence) secretValues() []string {
	var out []string
	for _, c := range e.Canaries {
		out = append(out, c.Value)
	}
	return out
}

// CanaryValues returns the canary secrets sent with the probes.
func (e *Evidence) CanaryValues() []string { return e.secretValues() }
