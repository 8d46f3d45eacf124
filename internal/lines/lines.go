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

// Batches of consecutive lines handed to one core: large enough that
// merging judges costs nothing beside judging, small enough to bound the
// memory in flight (a few batches per core).
const (
	batchLines = 4096
	batchBytes = 4 << 20
)

// Judge feeds every line of r, as mk builds it, to j, and returns how many
// lines it read. With parallel set, consecutive batches of lines are judged
// by forks of j on every core and merged back in order, which gives exactly
// the findings of one pass; mk must then not depend on earlier lines.
func Judge(j *checks.Judge, r io.Reader, maxLine int, parallel bool, mk Make) (int, error) {
	lr := NewReader(r, maxLine)
	workers := runtime.GOMAXPROCS(0)
	if !parallel || workers < 2 {
		return judgeSerial(j, lr, mk)
	}
	return judgeParallel(j, lr, mk, workers)
}

func judgeSerial(j *checks.Judge, lr *Reader, mk Make) (int, error) {
	for n := 1; ; n++ {
		raw, cut, err := lr.Next()
		if errors.Is(err, io.EOF) {
			return n - 1, nil
		}
		if err != nil {
			return n - 1, lineError{n, err}
		}
		l, err := mk(n, raw, cut)
		if err != nil {
			return n - 1, err
		}
		j.Line(&l)
	}
}

// batch is consecutive lines, the first of them line first+1.
type batch struct {
	seq   int
	first int
	raw   []string
	cut   []bool
	size  int
}

// judged is a batch's fork, or the error that stopped it.
type judged struct {
	seq int
	j   *checks.Judge
	err error
}

func judgeParallel(j *checks.Judge, lr *Reader, mk Make, workers int) (int, error) {
	work := make(chan *batch, workers)
	done := make(chan judged, workers)
	stop := make(chan struct{})
	var total int
	var readErr error
	go func() {
		defer close(work)
		b := &batch{}
		send := func() bool {
			select {
			case work <- b:
				b = &batch{seq: b.seq + 1, first: total}
				return true
			case <-stop:
				return false
			}
		}
		for {
			raw, cut, err := lr.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				readErr = lineError{total + 1, err}
				return
			}
			total++
			b.raw, b.cut, b.size = append(b.raw, raw), append(b.cut, cut), b.size+len(raw)
			if (len(b.raw) >= batchLines || b.size >= batchBytes) && !send() {
				return
			}
		}
		if len(b.raw) > 0 {
			send()
		}
	}()
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for b := range work {
				f := j.Fork(b.first)
				var err error
				for i, raw := range b.raw {
					var l checks.LogLine
					if l, err = mk(b.first+i+1, raw, b.cut[i]); err != nil {
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
	next := 0
	var failed error
	for jd := range done {
		waiting[jd.seq] = jd
		for {
			jd, ok := waiting[next]
			if !ok {
				break
			}
			delete(waiting, next)
			next++
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
