package checks

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
)

func TestFindSecrets(t *testing.T) {
	const canary = "ocnry_0123456789abcdef0123456789abcdef"
	jwt := "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4ifQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
	tests := []struct {
		name     string
		text     string
		canaries []string
		want     []SecretMatch
	}{
		{"nothing", `{"level":"info","message":"GET / 200"}`, []string{canary}, nil},
		{"canary", `{"url":"/x?access_token=` + canary + `"}`, []string{canary}, []SecretMatch{{"canary", canary}}},
		{"empty canary is ignored", "anything", []string{""}, nil},
		{"bearer header keeps the token only", `Authorization: Bearer abcdef123456`, nil, []SecretMatch{{"bearer-token", "abcdef123456"}}},
		{"bearer in JSON", `{"authorization":"Bearer abc.def-ghi"}`, nil, []SecretMatch{{"bearer-token", "abc.def-ghi"}}},
		{"short bearer is not a token", `Authorization: Bearer abc`, nil, nil},
		{"basic auth", `authorization: Basic dXNlcjpwYXNz`, nil, []SecretMatch{{"basic-auth", "dXNlcjpwYXNz"}}},
		{"jwt", "token=" + jwt, nil, []SecretMatch{{"jwt", jwt}}},
		{"aws key", "key AKIAIOSFODNN7EXAMPLE here", nil, []SecretMatch{{"aws-access-token", "AKIAIOSFODNN7EXAMPLE"}}},
		{"github pat", "ghp_abcdefghijklmnopqrstuvwxyz0123456789", nil, []SecretMatch{{"github-pat", "ghp_abcdefghijklmnopqrstuvwxyz0123456789"}}},
		{"stripe", "sk_live_abcdefghij1234", nil, []SecretMatch{{"stripe-access-token", "sk_live_abcdefghij1234"}}},
		{"private key", "-----BEGIN RSA PRIVATE KEY-----\nMIIE", nil, []SecretMatch{{"private-key", "-----BEGIN RSA PRIVATE KEY-----"}}},
		{"canary first, then patterns", "Authorization: Bearer " + canary, []string{canary},
			[]SecretMatch{{"canary", canary}, {"bearer-token", canary}}},
		{"every occurrence", "ghp_abcdefghijklmnopqrstuvwxyz0123456789 ghp_ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", nil,
			[]SecretMatch{{"github-pat", "ghp_abcdefghijklmnopqrstuvwxyz0123456789"}, {"github-pat", "ghp_ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, FindSecrets(tt.text, tt.canaries))
		})
	}
}

func TestSecretKeyAndRedactedRE(t *testing.T) {
	for _, k := range []string{"authorization", "Cookie", "set-cookie", "api_key", "apiKey", "password", "access_token", "client-secret", "private_key"} {
		assert.True(t, SecretKeyRE.MatchString(k), k)
	}
	for _, k := range []string{"user", "token_count", "passwords", "x-request-id", "author"} {
		assert.False(t, SecretKeyRE.MatchString(k), k)
	}
	for _, v := range []string{"[REDACTED]", "redacted", "***", "[Filtered]", "<redacted>", "xxxx", ""} {
		assert.True(t, RedactedRE.MatchString(v), v)
	}
	for _, v := range []string{"hunter2", "Bearer abc", "**a"} {
		assert.False(t, RedactedRE.MatchString(v), v)
	}
}

func TestMask(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", "****(masked)"},
		{"short", "****(masked)"},
		{"12345678", "****(masked)"}, // 8 bytes: too short to show any of it
		{"123456789", "1234****(masked)"},
		{"ocnry_0123456789abcdef", "ocnr****(masked)"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, Mask(tt.in), tt.in)
	}
}

func TestRedact(t *testing.T) {
	const canary = "ocnry_0123456789abcdef0123456789abcdef"
	tests := []struct {
		name, in string
		canaries []string
		want     string
	}{
		{"empty", "", []string{canary}, ""},
		{"nothing to hide", "GET /users/42 200", []string{canary}, "GET /users/42 200"},
		{"canary everywhere", canary + " and again " + canary, []string{canary}, "ocnr****(masked) and again ocnr****(masked)"},
		{"bearer", `{"authorization":"Bearer abcdef123456"}`, nil, `{"authorization":"Bearer abcd****(masked)"}`},
		{"canary in a bearer header", "Authorization: Bearer " + canary, []string{canary}, "Authorization: Bearer ocnr****(masked)"},
		{"short canary", "pw=hunter2!", []string{"hunter2"}, "pw=****(masked)!"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Redact(tt.in, tt.canaries)
			assert.Equal(t, tt.want, got)
			for _, c := range tt.canaries {
				assert.NotContains(t, got, c)
			}
		})
	}
}

func TestExcerpt(t *testing.T) {
	tests := []struct {
		name, in string
		n        int
		want     string
	}{
		{"shorter", "abc", 10, "abc"},
		{"exact", "abcde", 5, "abcde"},
		{"ascii cut", "abcdef", 3, "abc…"},
		{"zero", "abc", 0, "…"},
		{"cut inside a 2-byte rune", "aé", 2, "a…"},             // é is 2 bytes: a=1, é=2..3
		{"cut after a 2-byte rune", "aéb", 3, "aé…"},            // 1+2 bytes fit
		{"cut inside a 4-byte rune", "ab🙂cd", 4, "ab…"},         // 🙂 is 4 bytes at 2..5
		{"cut inside a 3-byte rune", "€€", 4, "€…"},             // € is 3 bytes
		{"only continuation bytes", "\x80\x80\x80\x80", 2, "…"}, // nothing to keep whole
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Excerpt(tt.in, tt.n)
			assert.Equal(t, tt.want, got)
			if utf8.ValidString(tt.in) {
				assert.True(t, utf8.ValidString(got), "%q", got)
			}
			assert.LessOrEqual(t, len(strings.TrimSuffix(got, "…")), tt.n, "the kept part fits in n bytes")
		})
	}
}

func TestCanaryValues(t *testing.T) {
	ev := &Evidence{Canaries: []Canary{{Where: "Authorization header", Value: "a"}, {Where: "query", Value: "b"}}}
	assert.Equal(t, []string{"a", "b"}, ev.CanaryValues())
	assert.Empty(t, (&Evidence{}).CanaryValues())
}
