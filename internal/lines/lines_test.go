package lines

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/obslint/obslint/checks"
	"github.com/obslint/obslint/checks/catalogue"
)

type line struct {
	Text      string
	Truncated bool
}

// readAll drains a Reader, failing on anything but io.EOF.
func readAll(t *testing.T, lr *Reader) []line {
	t.Helper()
	var out []line
	for range 1_000_000 { // bounded: a reader that never ends fails the test
		s, cut, err := lr.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		require.NoError(t, err)
		out = append(out, line{s, cut})
	}
	t.Fatal("Reader did not reach EOF")
	return nil
}

func TestReader(t *testing.T) {
	long := strings.Repeat("x", 100_000) // longer than the 64 KiB buffer
	tests := []struct {
		name string
		in   string
		max  int
		want []line
	}{
		{"lines", "a\nb\n", 10, []line{{"a", false}, {"b", false}}},
		{"CRLF", "a\r\nb\r\n", 10, []line{{"a", false}, {"b", false}}},
		{"no final newline", "a\nb", 10, []line{{"a", false}, {"b", false}}},
		{"CR at EOF", "a\r", 10, []line{{"a", false}}},
		{"empty input", "", 10, nil},
		{"blank lines", "\n\n", 10, []line{{"", false}, {"", false}}},
		{"cut", "abcdef\nxy\n", 3, []line{{"abc", true}, {"xy", false}}},
		{"exactly max", "abc\nabcd\n", 3, []line{{"abc", false}, {"abc", true}}},
		{"exactly max with CRLF", "abc\r\n", 3, []line{{"abc", false}}},
		{"one past max with CRLF", "abcd\r\n", 3, []line{{"abc", true}}},
		{"exactly max at EOF", "abc", 3, []line{{"abc", false}}},
		{"cut at EOF", "abcd", 3, []line{{"abc", true}}},
		{"zero max", "a\n\n", 0, []line{{"", true}, {"", false}}},
		{"negative max", "ab\n", -5, []line{{"", true}}},
		{"long line within max", long + "\nz\n", 200_000, []line{{long, false}, {"z", false}}},
		{"long line cut", long + "\nz\n", 10, []line{{"xxxxxxxxxx", true}, {"z", false}}},
		{"CRLF across the buffer edge", long[:65535] + "\r\n", 65535, []line{{long[:65535], false}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// One byte per Read, too, so that no case depends on chunking.
			for _, r := range []io.Reader{strings.NewReader(tt.in), &oneByteReader{s: tt.in}} {
				assert.Equal(t, tt.want, readAll(t, NewReader(r, tt.max)))
			}
		})
	}
}

type oneByteReader struct{ s string }

func (r *oneByteReader) Read(p []byte) (int, error) {
	if r.s == "" {
		return 0, io.EOF
	}
	if len(p) == 0 {
		return 0, nil
	}
	p[0] = r.s[0]
	r.s = r.s[1:]
	return 1, nil
}

// xReader generates n bytes of 'x' and then tail, without holding them.
type xReader struct {
	n    int64
	tail string
}

func (r *xReader) Read(p []byte) (int, error) {
	if r.n > 0 {
		k := min(int64(len(p)), r.n)
		for i := range k {
			p[i] = 'x'
		}
		r.n -= k
		return int(k), nil
	}
	if r.tail == "" {
		return 0, io.EOF
	}
	k := copy(p, r.tail)
	r.tail = r.tail[k:]
	return k, nil
}

func TestReaderHugeLineStaysBounded(t *testing.T) {
	const size = 50 << 20
	lr := NewReader(&xReader{n: size, tail: "\nnext line\n"}, 1024)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	first, cut, err := lr.Next()
	runtime.ReadMemStats(&after)
	require.NoError(t, err)
	assert.True(t, cut)
	assert.Equal(t, strings.Repeat("x", 1024), first)
	allocated := after.TotalAlloc - before.TotalAlloc
	assert.Less(t, allocated, uint64(4<<20), "reading a 50 MiB line allocated %d bytes", allocated)

	next, cut, err := lr.Next()
	require.NoError(t, err)
	assert.False(t, cut)
	assert.Equal(t, "next line", next)
	_, _, err = lr.Next()
	assert.ErrorIs(t, err, io.EOF)
}

type failingReader struct{ data string }

func (r *failingReader) Read(p []byte) (int, error) {
	if r.data == "" {
		return 0, errors.New("disk on fire")
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}

func TestReaderError(t *testing.T) {
	lr := NewReader(&failingReader{data: "whole\npartial"}, 100)
	s, _, err := lr.Next()
	require.NoError(t, err)
	assert.Equal(t, "whole", s)
	_, _, err = lr.Next()
	assert.EqualError(t, err, "disk on fire")
}

func FuzzReader(f *testing.F) {
	f.Add([]byte("a\nb\r\nc"), 1)
	f.Add([]byte("abc\r\n\r\n\n"), 3)
	f.Add([]byte("\r\r\n"), 0)
	f.Add([]byte(strings.Repeat("y", 70_000)+"\nz"), 65_536)
	f.Fuzz(func(t *testing.T, data []byte, maxBytes int) {
		maxBytes = min(max(maxBytes, -1), 100_000)
		lr := NewReader(bytes.NewReader(data), maxBytes)
		// The expected lines: split on "\n", a final empty piece is no line,
		// a line ends without its "\r"s, content past max is cut and flagged.
		pieces := strings.Split(string(data), "\n")
		if pieces[len(pieces)-1] == "" {
			pieces = pieces[:len(pieces)-1]
		}
		for i, p := range pieces {
			got, cut, err := lr.Next()
			if err != nil {
				t.Fatalf("line %d: %v", i+1, err)
			}
			want := strings.TrimRight(p, "\r")
			limit := max(maxBytes, 0)
			if len(want) > limit {
				if !cut || got != p[:limit] {
					t.Fatalf("line %d: got (%q, %v), want (%q, true)", i+1, got, cut, p[:limit])
				}
				continue
			}
			if cut || got != want {
				t.Fatalf("line %d: got (%q, %v), want (%q, false)", i+1, got, cut, want)
			}
		}
		if _, _, err := lr.Next(); !errors.Is(err, io.EOF) {
			t.Fatalf("after %d lines: got %v, want io.EOF", len(pieces), err)
		}
	})
}

// TestParallelJudgeEqualsSerial judges a log of mixed lines (JSON with and
// without problems, stack traces and pretty-printed objects that straddle
// the batch boundaries, blank and long lines) on every core and on one: the
// results must be identical.
func TestParallelJudgeEqualsSerial(t *testing.T) {
	if runtime.GOMAXPROCS(0) < 2 {
		t.Skip("needs two cores to take the parallel path")
	}
	var b strings.Builder
	for i := range 3*batchLines + 123 {
		switch {
		case i%997 == 0:
			for k := range 40 { // a Node crash that crosses batch ends now and then
				fmt.Fprintf(&b, "    at frame%d (/app/x.js:%d:1)\n", k, k)
			}
		case i%1499 == 0:
			b.WriteString("{\n  \"a\": 1,\n\n  \"b\": [2]\n}\n")
		case i%13 == 0:
			fmt.Fprintf(&b, `{"message":"no level %d","timestamp":"2026-11-25 19:10:19"}`+"\n", i)
		case i%17 == 0:
			b.WriteString("\n")
		case i%31 == 0:
			fmt.Fprintf(&b, `{"level":"info","message":"%s"}`+"\n", strings.Repeat("x", 300))
		default:
			fmt.Fprintf(&b, `{"level":"info","message":"ok %d","timestamp":"2026-11-25T19:10:19Z","password":"p%d"}`+"\n", i, i%3)
		}
	}
	text := b.String()
	judge := func(parallel bool) checks.Result {
		ev := &checks.Evidence{Captured: checks.Captured{Logs: true}}
		j := checks.NewJudge(ev, catalogue.All(), checks.Options{ResolveProfile: true})
		mk := func(n int, raw string, cut bool) (checks.LogLine, error) {
			return checks.NewLogLine("app.log", n, raw, cut, time.Time{}), nil
		}
		n, err := Judge(j, strings.NewReader(text), 256, parallel, mk)
		require.NoError(t, err)
		require.Equal(t, strings.Count(text, "\n"), n)
		return j.Result()
	}
	serial, parallel := judge(false), judge(true)
	require.NotEmpty(t, serial.Findings)
	assert.Equal(t, serial, parallel)
}

// TestJudgeStopsOnABadLine: an error building a line ends the judging with
// that error, on the serial and the parallel path.
func TestJudgeStopsOnABadLine(t *testing.T) {
	text := strings.Repeat("ok\n", 3*batchLines) + "bad\n" + strings.Repeat("ok\n", batchLines)
	for _, parallel := range []bool{false, true} {
		j := checks.NewJudge(&checks.Evidence{Captured: checks.Captured{Logs: true}}, catalogue.All(), checks.Options{})
		_, err := Judge(j, strings.NewReader(text), 64, parallel, func(n int, raw string, cut bool) (checks.LogLine, error) {
			if raw == "bad" {
				return checks.LogLine{}, fmt.Errorf("line %d: not a record", n)
			}
			return checks.NewLogLine("x", n, raw, cut, time.Time{}), nil
		})
		require.Error(t, err, "parallel=%v", parallel)
		assert.Contains(t, err.Error(), fmt.Sprintf("line %d: not a record", 3*batchLines+1))
	}
}
