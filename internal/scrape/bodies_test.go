package scrape

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/obslint/obslint/checks"
)

func TestBodiesKeepOnDiskAndReadBack(t *testing.T) {
	b := NewBodies()
	scrapes := []checks.Scrape{
		checks.NewScrape("u", "before", 200, "text/plain", []byte("up 1\n"), false),
		checks.NewScrape("u", "after", 200, "text/plain", nil, false),
		checks.NewScrape("u", "after-2", 200, "text/plain", []byte("# TYPE x counter\nx_total 2\n"), false),
	}
	for i := range scrapes {
		b.Keep(&scrapes[i])
	}
	assert.Nil(t, scrapes[0].Body, "the body left memory")
	assert.Nil(t, scrapes[1].Load, "an empty body needs no store")
	for i, want := range []string{"up 1\n", "", "# TYPE x counter\nx_total 2\n"} {
		got, err := scrapes[i].ReadBody()
		require.NoError(t, err)
		assert.Equal(t, want, string(got), "scrape %d", i)
		assert.Equal(t, len(want), scrapes[i].Size)
	}
	scrapes[2].Parse()
	require.Len(t, scrapes[2].Families, 1)
	assert.Equal(t, "x_total", scrapes[2].Families[0].GetName())
}
