package scrape

import (
	"github.com/obslint/obslint/checks"
	"github.com/obslint/obslint/internal/spool"
)

// Bodies keeps the bodies of a capture's scrapes in a spool (an unlinked
// temporary file) until the judge reads them back one at a time
// (checks.Scrape.Load): thirteen scrapes of a 32 MiB exposition then cost
// disk, not memory.
type Bodies struct{ blobs *spool.Blobs }

// NewBodies makes an empty store; its file is made on first use.
func NewBodies() *Bodies { return &Bodies{blobs: spool.New("obslint-scrapes-")} }

// Keep moves s.Body into the store and sets s.Load to read it back.
func (b *Bodies) Keep(s *checks.Scrape) {
	if len(s.Body) == 0 {
		return
	}
	i := b.blobs.Add(s.Body)
	s.Body = nil
	s.Load = func() ([]byte, error) { return b.blobs.Get(i) }
}
