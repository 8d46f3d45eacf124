package lines

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/obslint/obslint/checks"
)

// Bounds of a spool: lines past memLines go to a temporary file, and lines
// past maxSpoolBytes of file are counted, not judged (and reported).
const (
	memLines      = 8192
	maxSpoolBytes = 4 << 30
)

// Spool keeps the lines a capture reads (a service's stdout and stderr, a
// followed log file) until the judge reads them, which it can only do once
// the spans and probes they are judged against are in: the first lines in
// memory, the rest in a temporary file, as the raw text they were read as.
// A chatty service costs disk, not memory, and every line it wrote is
// judged. A Spool is not safe for concurrent use.
type Spool struct {
	mem     []checks.LogLine // raw: Fields are parsed when judged
	file    *os.File
	w       *bufio.Writer
	spilled int   // lines in the file
	size    int64 // bytes in the file
	over    int   // lines past maxSpoolBytes, not kept at all
	err     error // the first write error; lines after it are lost
	lost    int
	buf     []byte
}

// NewSpool returns an empty spool; its file is made when first needed.
func NewSpool() *Spool { return &Spool{} }

// Add keeps a line as read: raw already valid UTF-8 (invalid says it was
// not), n its number in its source, at when it was read.
func (s *Spool) Add(source string, n int, raw string, truncated, invalid bool, at time.Time) {
	if len(s.mem) < memLines {
		s.mem = append(s.mem, checks.LogLine{Source: source, N: n, Time: at, Raw: raw, Truncated: truncated, InvalidUTF8: invalid})
		return
	}
	switch {
	case s.err != nil:
		s.lost++
		return
	case s.size >= maxSpoolBytes:
		s.over++
		return
	}
	if s.file == nil {
		if s.file, s.err = os.CreateTemp("", "obslint-lines-*"); s.err != nil {
			s.lost++
			return
		}
		// Unlinked at once: the file goes with the process however it ends.
		_ = os.Remove(s.file.Name())
		s.w = bufio.NewWriterSize(s.file, 256<<10)
	}
	b := s.buf[:0]
	b = binary.AppendUvarint(b, uint64(len(source)))
	b = append(b, source...)
	b = binary.AppendUvarint(b, uint64(n))
	b = binary.AppendVarint(b, at.UnixNano())
	var flags byte
	if truncated {
		flags |= 1
	}
	if invalid {
		flags |= 2
	}
	if at.IsZero() {
		flags |= 4
	}
	b = append(b, flags)
	b = binary.AppendUvarint(b, uint64(len(raw)))
	b = append(b, raw...)
	s.buf = b
	if _, s.err = s.w.Write(b); s.err != nil {
		s.lost++
		return
	}
	s.spilled++
	s.size += int64(len(b))
}

// Len is how many lines were added and kept for the judge.
func (s *Spool) Len() int { return len(s.mem) + s.spilled }

// Problems are the lines the spool could not keep.
func (s *Spool) Problems(desc string) []checks.Problem {
	var out []checks.Problem
	if s.over > 0 {
		out = append(out, checks.Problem{Phase: "limit", Message: fmt.Sprintf("%s: %d log lines past %d GiB of spooled lines were not judged", desc, s.over, maxSpoolBytes>>30)})
	}
	if s.lost > 0 {
		out = append(out, checks.Problem{Phase: "logs", Message: fmt.Sprintf("%s: %d log lines could not be spooled to disk and were not judged: %v", desc, s.lost, s.err)})
	}
	return out
}

// records returns a function that yields every line as it was added, not
// yet parsed, in order.
func (s *Spool) records() (func() (checks.LogLine, bool, error), error) {
	i := 0
	var r *bufio.Reader
	if s.spilled > 0 {
		if err := s.w.Flush(); err != nil {
			return nil, err
		}
		r = bufio.NewReaderSize(io.NewSectionReader(s.file, 0, s.size), 256<<10)
	}
	return func() (checks.LogLine, bool, error) {
		switch {
		case i < len(s.mem):
			i++
			return s.mem[i-1], true, nil
		case i < len(s.mem)+s.spilled:
			i++
			l, err := readRecord(r)
			if err != nil {
				return l, false, fmt.Errorf("reading spooled log lines: %w", err)
			}
			return l, true, nil
		}
		return checks.LogLine{}, false, nil
	}, nil
}

// Judge feeds every line to j, parsed, on every core, and returns how many.
func (s *Spool) Judge(j *checks.Judge) (int, error) {
	next, err := s.records()
	if err != nil {
		return 0, err
	}
	size := func(l checks.LogLine) int { return len(l.Raw) }
	build := func(l checks.LogLine) (checks.LogLine, error) { return parsed(l), nil }
	return judgeStream(j, true, next, size, build)
}

// Kept returns the first max lines, parsed: what a saved bundle holds.
func (s *Spool) Kept(max int) []checks.LogLine {
	next, err := s.records()
	if err != nil {
		return nil
	}
	var out []checks.LogLine
	for len(out) < max {
		l, ok, err := next()
		if err != nil || !ok {
			break
		}
		out = append(out, parsed(l))
	}
	return out
}

// Close releases the file.
func (s *Spool) Close() error {
	if s.file == nil {
		return nil
	}
	err := s.file.Close()
	s.file = nil
	return err
}

func parsed(l checks.LogLine) checks.LogLine {
	return checks.CapturedLogLine(l.Source, l.N, l.Raw, l.Truncated, l.InvalidUTF8, l.Time)
}

func readRecord(r *bufio.Reader) (checks.LogLine, error) {
	var l checks.LogLine
	text := func() (string, error) {
		n, err := binary.ReadUvarint(r)
		if err != nil {
			return "", err
		}
		b := make([]byte, n)
		_, err = io.ReadFull(r, b)
		return string(b), err
	}
	var err error
	if l.Source, err = text(); err != nil {
		return l, err
	}
	n, err := binary.ReadUvarint(r)
	if err != nil {
		return l, err
	}
	at, err := binary.ReadVarint(r)
	if err != nil {
		return l, err
	}
	flags, err := r.ReadByte()
	if err != nil {
		return l, err
	}
	if l.Raw, err = text(); err != nil {
		return l, err
	}
	l.N = int(n)
	if flags&4 == 0 {
		l.Time = time.Unix(0, at)
	}
	l.Truncated, l.InvalidUTF8 = flags&1 != 0, flags&2 != 0
	return l, nil
}
