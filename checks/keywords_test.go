package checks

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestKeywordSet(t *testing.T) {
	words := []string{"authorization", ".ey", "akia", "ghp_", "private key", "sk_", "rk_", "a3t"}
	k := newKeywordSet(words)
	for _, s := range []string{
		"", "plain", "AUTHORIZATION: Bearer x", "x.eyJ", "aakia", "ghp", "-----BEGIN RSA PRIVATE KEY-----",
		"risk_", "drk_sk_", "A3TX", "authorizatio", "\u212Aey", "PRIVATE \u212AEY", "é akia", "aaaaakiakia",
	} {
		var want uint64
		lower := strings.ToLower(s)
		for i, w := range words {
			if strings.Contains(lower, w) {
				want |= 1 << i
			}
		}
		assert.Equal(t, want, k.find(s), "%q", s)
	}
}

func FuzzKeywordSet(f *testing.F) {
	for _, s := range []string{"Authorization", "x.ey", "ghp_gho_", "\u212A"} {
		f.Add(s)
	}
	var words []string
	for _, p := range SecretPatterns {
		words = append(words, p.Keywords...)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var want uint64
		lower := strings.ToLower(s)
		for i, w := range words {
			if strings.Contains(lower, w) {
				want |= 1 << i
			}
		}
		if got := secretKeywords.find(s); got != want {
			t.Fatalf("find(%q) = %b, want %b", s, got, want)
		}
	})
}
