// Package spool keeps what a capture gathers (scrape bodies, batches of
// spans) on disk until the judge reads it back, one piece at a time: a
// capture then costs disk, not memory. The pieces go to one unlinked
// temporary file, which disappears with the process however it ends. When
// no temporary file can be made, they stay in memory.
package spool

import (
	"fmt"
	"os"
	"sync"
)

// Blobs is an append-only list of byte strings. It is safe for concurrent
// use.
type Blobs struct {
	// prefix names the temporary file, e.g. "obslint-spans-".
	prefix string

	mu    sync.Mutex
	file  *os.File
	size  int64
	err   error
	items []item
}

// item is where one blob is: in the file, or in memory.
type item struct {
	off int64
	n   int
	mem []byte
}

// New makes an empty spool; its file is made on first use, named after
// prefix.
func New(prefix string) *Blobs { return &Blobs{prefix: prefix} }

// Add appends a copy of p and returns its index.
func (b *Blobs) Add(p []byte) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.file == nil && b.err == nil {
		if b.file, b.err = os.CreateTemp("", b.prefix+"*"); b.err == nil {
			_ = os.Remove(b.file.Name())
		}
	}
	it := item{off: b.size, n: len(p)}
	if b.err == nil {
		if _, err := b.file.WriteAt(p, b.size); err == nil {
			b.size += int64(len(p))
		} else {
			it.mem = append([]byte(nil), p...)
		}
	} else {
		it.mem = append([]byte(nil), p...)
	}
	b.items = append(b.items, it)
	return len(b.items) - 1
}

// Len is the number of blobs.
func (b *Blobs) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.items)
}

// Get reads blob i back into a new slice.
func (b *Blobs) Get(i int) ([]byte, error) {
	b.mu.Lock()
	it, f := b.items[i], b.file
	b.mu.Unlock()
	if it.mem != nil || it.n == 0 {
		return it.mem, nil
	}
	p := make([]byte, it.n)
	if _, err := f.ReadAt(p, it.off); err != nil {
		return nil, fmt.Errorf("reading spooled data back: %w", err)
	}
	return p, nil
}

// Close frees the file's disk now (it is unlinked already); the blobs in
// it cannot be read back afterwards.
func (b *Blobs) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	var err error
	if b.file != nil {
		err = b.file.Close()
	}
	// Blobs added from now on stay in memory.
	b.file, b.err = nil, os.ErrClosed
	return err
}
