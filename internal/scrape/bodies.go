package scrape

import (
	"fmt"
	"os"
	"sync"

	"github.com/obslint/obslint/checks"
)

// Bodies keeps the bodies of a capture's scrapes in an unlinked temporary
// file until the judge reads them back one at a time (checks.Scrape.Load):
// thirteen scrapes of a 32 MiB exposition then cost disk, not memory. When
// no temporary file can be made, bodies stay in memory.
type Bodies struct {
	mu   sync.Mutex
	file *os.File
	size int64
	err  error
}

// NewBodies makes an empty store; its file is made on first use.
func NewBodies() *Bodies { return &Bodies{} }

// Keep moves s.Body into the store and sets s.Load to read it back.
func (b *Bodies) Keep(s *checks.Scrape) {
	if len(s.Body) == 0 {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.file == nil && b.err == nil {
		if b.file, b.err = os.CreateTemp("", "obslint-scrapes-*"); b.err == nil {
			// Unlinked at once: the file goes with the process however it ends.
			_ = os.Remove(b.file.Name())
		}
	}
	if b.err != nil {
		return // kept in memory
	}
	off, n := b.size, len(s.Body)
	if _, err := b.file.WriteAt(s.Body, off); err != nil {
		return // kept in memory
	}
	b.size += int64(n)
	f := b.file
	s.Body = nil
	s.Load = func() ([]byte, error) {
		body := make([]byte, n)
		if _, err := f.ReadAt(body, off); err != nil {
			return nil, fmt.Errorf("reading the spooled exposition back: %w", err)
		}
		return body, nil
	}
}
