// Package logsrc reads a running service's log stream for `obslint audit`:
// a file followed from where it ends (like tail -F) or standard input, each
// line stamped with the time it was read, until the audit ends.
package logsrc

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/obslint/obslint/checks"
	"github.com/obslint/obslint/internal/lines"
)

// Defaults for Options fields left zero.
const (
	DefaultPoll     = 50 * time.Millisecond
	DefaultMaxLine  = 1 << 20
	DefaultMaxLines = 200_000
	// stopWait bounds how long Stop waits for a file reader's last read.
	stopWait = 2 * time.Second
	chunk    = 64 << 10
)

// Options bound what a reader keeps.
type Options struct {
	MaxLineBytes int // longer lines are cut and flagged
	MaxLines     int // lines Lines returns (every line is judged)
	// FromStart reads a file from its first byte instead of from its end.
	FromStart bool
	// Poll is how often a file is checked for appends, truncation and
	// rotation.
	Poll time.Duration
}

func (o Options) withDefaults() Options {
	if o.MaxLineBytes <= 0 {
		o.MaxLineBytes = DefaultMaxLine
	}
	if o.MaxLines <= 0 {
		o.MaxLines = DefaultMaxLines
	}
	if o.Poll <= 0 {
		o.Poll = DefaultPoll
	}
	return o
}

// Reader collects lines in the background until Stop.
type Reader struct {
	desc string // "file /var/log/app.log", "standard input"
	stop chan struct{}
	done chan struct{}
	// waitDone: Stop waits for the reader to finish (files), or not at all
	// (stdin: a Read may block for ever on a pipe that stays open).
	waitDone bool

	mu       sync.Mutex
	lines    lineSink
	problems []checks.Problem
	stopped  bool
}

// Describe says where the lines come from, for Captured.LogSource.
func (r *Reader) Describe() string { return r.desc }

// Stop ends reading and returns the problems met. A file is read to its
// current end first; standard input is cut where it is. The lines wait in
// the reader's spool for Judge.
func (r *Reader) Stop() []checks.Problem {
	close(r.stop)
	if r.waitDone {
		t := time.NewTimer(stopWait)
		defer t.Stop()
		select {
		case <-r.done:
		case <-t.C:
			r.problem("%s: the last read did not finish within %s; lines after it are not judged", r.desc, stopWait)
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stopped = true
	r.lines.flush(time.Now())
	return append(r.problems, r.lines.spool.Problems(r.desc)...)
}

// Judge feeds every line read to j and returns how many. Call it after Stop.
func (r *Reader) Judge(j *checks.Judge) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.lines.spool.Judge(j)
}

// Kept returns the first max lines read, parsed (a saved bundle).
func (r *Reader) Kept(max int) []checks.LogLine {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.lines.spool.Kept(max)
}

// Lines returns the first MaxLines lines read, parsed.
func (r *Reader) Lines() []checks.LogLine { return r.Kept(r.lines.maxLines) }

func (r *Reader) problem(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.problems = append(r.problems, checks.Problem{Phase: "logs", Message: fmt.Sprintf(format, args...)})
}

// feed hands read bytes to the line splitter unless the reader stopped.
func (r *Reader) feed(b []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.stopped {
		r.lines.feed(b, time.Now())
	}
}

// flushPartial ends a partial last line (the file was truncated or
// replaced under it).
func (r *Reader) flushPartial() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.stopped {
		r.lines.flush(time.Now())
	}
}

// Stdin reads lines from in (e.g. `kubectl logs -f pod | obslint audit
// --logs -`) in a goroutine. Stop returns at once whatever arrived; the
// goroutine may stay blocked in Read until the process exits.
func Stdin(in io.Reader, opt Options) *Reader {
	opt = opt.withDefaults()
	r := newReader("standard input", "stdin", opt)
	go func() {
		defer close(r.done)
		buf := make([]byte, chunk)
		for {
			n, err := in.Read(buf)
			if n > 0 {
				r.feed(buf[:n])
			}
			if err != nil {
				if !errors.Is(err, io.EOF) {
					r.problem("standard input: %v", err)
				}
				return
			}
			select {
			case <-r.stop:
				return
			default:
			}
		}
	}()
	return r
}

func newReader(desc, source string, opt Options) *Reader {
	return &Reader{
		desc: desc, stop: make(chan struct{}), done: make(chan struct{}),
		lines: lineSink{source: source, maxBytes: opt.MaxLineBytes, maxLines: opt.MaxLines, spool: lines.NewSpool()},
	}
}

// File follows path: from its end (or start with FromStart), through
// appends, truncation (copytruncate) and rotation (the path renamed away and
// a new file created). A path that is not a readable regular file is an
// error: a FIFO would block the open, a directory has no lines.
func File(path string, opt Options) (*Reader, error) {
	opt = opt.withDefaults()
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("--logs %s: %w", path, err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("--logs %s: not a regular file (for a pipe or a stream use --logs - and pipe it in)", path)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("--logs %s: %w", path, err)
	}
	var off int64
	if !opt.FromStart {
		if off, err = f.Seek(0, io.SeekEnd); err != nil {
			_ = f.Close()
			return nil, fmt.Errorf("--logs %s: %w", path, err)
		}
	}
	r := newReader("file "+path, filepath.Base(path), opt)
	r.waitDone = true
	t := &tail{r: r, path: path, f: f, off: off, poll: opt.Poll}
	go t.loop()
	return r, nil
}

type tail struct {
	r    *Reader
	path string
	f    *os.File
	off  int64
	poll time.Duration
}

func (t *tail) loop() {
	defer close(t.r.done)
	defer func() { _ = t.f.Close() }()
	tick := time.NewTicker(t.poll)
	defer tick.Stop()
	for {
		t.check()
		if err := t.drain(); err != nil {
			t.r.problem("%s: reading at offset %d: %v; lines after it are not judged", t.r.desc, t.off, err)
			return
		}
		select {
		case <-t.r.stop:
			// One last look: lines written just before the audit ended.
			t.check()
			if err := t.drain(); err != nil {
				t.r.problem("%s: reading at offset %d: %v", t.r.desc, t.off, err)
			}
			return
		case <-tick.C:
		}
	}
}

// drain reads the open file to its current end.
func (t *tail) drain() error {
	buf := make([]byte, chunk)
	for {
		n, err := t.f.Read(buf)
		if n > 0 {
			t.off += int64(n)
			t.r.feed(buf[:n])
		}
		if errors.Is(err, io.EOF) || (err == nil && n == 0) {
			return nil
		}
		if err != nil {
			return err
		}
		select {
		case <-t.r.stop:
			if n < len(buf) {
				return nil
			}
		default:
		}
	}
}

// check notices truncation (the open file got shorter than what was read)
// and rotation (the path now names another file).
func (t *tail) check() {
	fst, err := t.f.Stat()
	if err != nil {
		return
	}
	pst, perr := os.Stat(t.path)
	if perr == nil && !os.SameFile(fst, pst) {
		// Rotated: finish the old file, then follow the new one from its start.
		if err := t.drain(); err != nil {
			t.r.problem("%s: reading the rotated file: %v", t.r.desc, err)
		}
		t.r.flushPartial()
		nf, err := os.Open(t.path)
		if err != nil {
			return // created but not readable yet: try again next poll
		}
		t.r.problem("%s was rotated during the audit (replaced after %d bytes were read); the rest of the old file was read and the new file is followed from its start", t.r.desc, t.off)
		_ = t.f.Close()
		t.f, t.off = nf, 0
		return
	}
	if fst.Size() < t.off {
		t.r.flushPartial()
		t.r.problem("%s was truncated during the audit (to %d bytes, after %d were read): lines written between the last read and the truncation are lost; reading again from its start", t.r.desc, fst.Size(), t.off)
		if _, err := t.f.Seek(0, io.SeekStart); err == nil {
			t.off = 0
		}
	}
}

// lineSink splits bytes into capped lines as they arrive.
type lineSink struct {
	source   string
	maxBytes int
	maxLines int    // lines Lines returns; every line is spooled
	n        int    // lines seen
	pending  []byte // the line being assembled, at most maxBytes
	seen     bool   // pending has begun (even if empty so far)
	cut      bool   // pending lost bytes past maxBytes
	spool    *lines.Spool
}

func (s *lineSink) feed(b []byte, now time.Time) {
	for len(b) > 0 {
		s.seen = true
		i := bytes.IndexByte(b, '\n')
		part := b
		if i >= 0 {
			part = b[:i]
		}
		take := min(s.maxBytes-len(s.pending), len(part))
		s.pending = append(s.pending, part[:take]...)
		if len(bytes.TrimRight(part[take:], "\r")) > 0 {
			s.cut = true
		}
		if i < 0 {
			return
		}
		s.emit(now)
		b = b[i+1:]
	}
}

// flush ends a last line that has no newline yet.
func (s *lineSink) flush(now time.Time) {
	if s.seen {
		s.emit(now)
	}
}

func (s *lineSink) emit(now time.Time) {
	raw := s.pending
	if !s.cut {
		raw = bytes.TrimRight(raw, "\r")
	}
	s.n++
	clean, invalid := checks.CleanUTF8(string(raw), s.cut)
	s.spool.Add(s.source, s.n, clean, s.cut, invalid, now)
	s.pending, s.seen, s.cut = s.pending[:0], false, false
}
