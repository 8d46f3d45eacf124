// Package lines reads log streams line by line with a cap on each line, and
// feeds the lines of a stream to a judge, on several cores when it may.
package lines

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"

	"github.com/obslint/obslint/checks"
)

// Reader splits a stream into capped lines. Lines longer than the cap are
// cut and flagged, not buffered whole: memory stays bounded.
type Reader struct {
	r   *bufio.Reader
	max int
	buf []byte
}

// NewReader reads lines of at most maxBytes bytes (negative means 0).
func NewReader(r io.Reader, maxBytes int) *Reader {
	return &Reader{r: bufio.NewReaderSize(r, 64<<10), max: max(maxBytes, 0)}
}

// Next returns the next line without its newline and trailing "\r"s,
// whether it was truncated, and io.EOF after the last line.
func (lr *Reader) Next() (string, bool, error) {
	b, cut, err := lr.next()
	return string(b), cut, err
}

// next is Next with the line in a buffer reused by the next call.
func (lr *Reader) next() ([]byte, bool, error) {
	buf := lr.buf[:0]
	seen := false // any byte of this line, so that a final "\r" is a line
	cut := false  // content past max was dropped
	for {
		chunk, err := lr.r.ReadSlice('\n')
		seen = seen || len(chunk) > 0
		body := chunk
		if err == nil {
			body = chunk[:len(chunk)-1]
		}
		take := min(lr.max-len(buf), len(body))
		buf = append(buf, body[:take]...)
		// Past the cap only "\r"s may follow without cutting the line: they
		// would be trimmed anyway, so a line of exactly max bytes is whole.
		if len(bytes.TrimRight(body[take:], "\r")) > 0 {
			cut = true
		}
		switch {
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case err != nil && !errors.Is(err, io.EOF):
			return nil, false, err
		case err != nil && !seen:
			return nil, false, io.EOF
		}
		if !cut {
			buf = bytes.TrimRight(buf, "\r")
		}
		lr.buf = buf
		return buf, cut, nil
	}
}

// Make turns the n-th line of a stream (1-based) into the line judged.
type Make func(n int, raw string, truncated bool) (checks.LogLine, error)

// Judge feeds every line of r, as mk builds it, to j, and returns how many
// lines it read. With parallel set, consecutive batches of lines are judged
// by forks of j on every core and merged back in order, which gives exactly
// the findings of one pass; mk must then not depend on earlier lines.
func Judge(j *checks.Judge, r io.Reader, maxLine int, parallel bool, mk Make) (int, error) {
	lr := NewReader(r, maxLine)
	n := 0
	next := func() (rawLine, bool, error) {
		raw, cut, err := lr.Next()
		switch {
		case errors.Is(err, io.EOF):
			return rawLine{}, false, nil
		case err != nil:
			return rawLine{}, false, lineError{n + 1, err}
		}
		n++
		return rawLine{n: n, raw: raw, cut: cut}, true, nil
	}
	build := func(r rawLine) (checks.LogLine, error) { return mk(r.n, r.raw, r.cut) }
	return judgeStream(j, parallel, next, func(r rawLine) int { return len(r.raw) }, build)
}

// rawLine is the n-th line of a stream as read.
type rawLine struct {
	n   int
	raw string
	cut bool
}

// judgeStream feeds the items next yields, built into lines, to j: in
// order on this goroutine, or, with parallel set and more than one core, in
// batches judged by forks on every core and merged back in order. size is
// an item's weight in a batch.
func judgeStream[T any](j *checks.Judge, parallel bool, next func() (T, bool, error), size func(T) int, build func(T) (checks.LogLine, error)) (int, error) {
	workers := runtime.GOMAXPROCS(0)
	if !parallel || workers < 2 {
		n := 0
		for {
			item, ok, err := next()
			if err != nil || !ok {
				return n, err
			}
			l, err := build(item)
			if err != nil {
				return n, err
			}
			n++
			j.Line(&l)
		}
	}
	return judgeParallel(j, next, size, build, workers)
}

// Batches of consecutive lines handed to one core: large enough that
// merging judges costs nothing beside judging, small enough to bound the
// memory in flight (a few batches per core).
const (
	batchLines = 4096
	batchBytes = 4 << 20
)

// batch is consecutive items, the first of them the stream's item first
// (from 0).
type batch[T any] struct {
	seq   int
	first int
	items []T
	size  int
}

// judged is a batch's fork, or the error that stopped it.
type judged struct {
	seq int
	j   *checks.Judge
	err error
}

func judgeParallel[T any](j *checks.Judge, next func() (T, bool, error), size func(T) int, build func(T) (checks.LogLine, error), workers int) (int, error) {
	work := make(chan *batch[T], workers)
	done := make(chan judged, workers)
	stop := make(chan struct{})
	var total int
	var readErr error
	go func() {
		defer close(work)
		b := &batch[T]{}
		send := func() bool {
			select {
			case work <- b:
				b = &batch[T]{seq: b.seq + 1, first: total}
				return true
			case <-stop:
				return false
			}
		}
		for {
			item, ok, err := next()
			if err != nil {
				readErr = err
				return
			}
			if !ok {
				break
			}
			total++
			b.items, b.size = append(b.items, item), b.size+size(item)
			if (len(b.items) >= batchLines || b.size >= batchBytes) && !send() {
				return
			}
		}
		if len(b.items) > 0 {
			send()
		}
	}()
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for b := range work {
				f := j.Fork(b.first)
				var err error
				for _, item := range b.items {
					var l checks.LogLine
					if l, err = build(item); err != nil {
						break
					}
					f.Line(&l)
				}
				done <- judged{b.seq, f, err}
			}
		})
	}
	go func() { wg.Wait(); close(done) }()
	// Merge in order: a batch judged early waits for those before it.
	waiting := map[int]judged{}
	want := 0
	var failed error
	for jd := range done {
		waiting[jd.seq] = jd
		for {
			jd, ok := waiting[want]
			if !ok {
				break
			}
			delete(waiting, want)
			want++
			switch {
			case failed != nil:
			case jd.err != nil:
				failed = jd.err
				close(stop)
			default:
				j.Merge(jd.j)
			}
		}
	}
	// done is closed: the reader has stopped, and total and readErr are set.
	if failed != nil {
		return total, failed
	}
	return total, readErr
}

// lineError is a read error at a line of the stream.
type lineError struct {
	n   int
	err error
}

func (e lineError) Error() string { return fmt.Sprintf("line %d: %v", e.n, e.err) }

func (e lineError) Unwrap() error { return e.err }
