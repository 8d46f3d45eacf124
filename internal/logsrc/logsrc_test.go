package logsrc

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/obslint/obslint/checks"
)

var fast = Options{Poll: 5 * time.Millisecond}

func raws(lines []checks.LogLine) []string {
	out := []string{}
	for _, l := range lines {
		out = append(out, l.Raw)
	}
	return out
}

func appendTo(t *testing.T, path, s string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o644)
	require.NoError(t, err)
	_, err = f.WriteString(s)
	require.NoError(t, err)
	require.NoError(t, f.Close())
}

// settle lets the poller see what was written.
func settle() { time.Sleep(60 * time.Millisecond) }

func TestFileFromEnd(t *testing.T) {
	path := filepath.Join(t.TempDir(), "app.log")
	appendTo(t, path, `{"message":"before the audit"}`+"\n")
	r, err := File(path, fast)
	require.NoError(t, err)
	assert.Equal(t, "file "+path, r.Describe())
	appendTo(t, path, `{"message":"one"}`+"\n"+`{"message":"tw`)
	settle()
	appendTo(t, path, `o"}`+"\r\nlast without newline")
	problems := r.Stop()
	lines := r.Lines()
	assert.Empty(t, problems)
	assert.Equal(t, []string{`{"message":"one"}`, `{"message":"two"}`, "last without newline"}, raws(lines))
	assert.Equal(t, "app.log", lines[0].Source)
	assert.Equal(t, []int{1, 2, 3}, []int{lines[0].N, lines[1].N, lines[2].N})
	assert.Equal(t, "one", lines[0].Fields["message"])
	assert.False(t, lines[0].Time.IsZero(), "lines are stamped with the time they were read")
	assert.False(t, lines[1].Time.Before(lines[0].Time))
}

func TestFileFromStart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "app.log")
	appendTo(t, path, "a\nb\n")
	r, err := File(path, Options{FromStart: true, Poll: 5 * time.Millisecond})
	require.NoError(t, err)
	appendTo(t, path, "c\n")
	settle()
	r.Stop()
	lines := r.Lines()
	assert.Equal(t, []string{"a", "b", "c"}, raws(lines))
}

func TestFileTruncated(t *testing.T) {
	path := filepath.Join(t.TempDir(), "app.log")
	appendTo(t, path, strings.Repeat("old line\n", 10))
	r, err := File(path, fast)
	require.NoError(t, err)
	appendTo(t, path, "during 1\n")
	settle()
	require.NoError(t, os.Truncate(path, 0)) // logrotate copytruncate
	settle()
	appendTo(t, path, "after truncation\n")
	settle()
	problems := r.Stop()
	lines := r.Lines()
	assert.Equal(t, []string{"during 1", "after truncation"}, raws(lines))
	assert.Equal(t, 2, lines[1].N, "line numbers go on after a truncation, so subjects stay unique")
	require.Len(t, problems, 1)
	assert.Equal(t, "logs", problems[0].Phase)
	assert.Contains(t, problems[0].Message, "file "+path+" was truncated during the audit (to 0 bytes, after 99 were read)")
}

func TestFileRotated(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	appendTo(t, path, "")
	r, err := File(path, fast)
	require.NoError(t, err)
	appendTo(t, path, "old 1\n")
	settle()
	require.NoError(t, os.Rename(path, path+".1"))
	appendTo(t, path+".1", "old 2, written after the rename\n")
	appendTo(t, path, "new 1\n")
	settle()
	appendTo(t, path, "new 2\n")
	settle()
	problems := r.Stop()
	lines := r.Lines()
	assert.Equal(t, []string{"old 1", "old 2, written after the rename", "new 1", "new 2"}, raws(lines))
	require.Len(t, problems, 1)
	assert.Contains(t, problems[0].Message, "file "+path+" was rotated during the audit")
}

func TestFileLimits(t *testing.T) {
	path := filepath.Join(t.TempDir(), "app.log")
	appendTo(t, path, "")
	r, err := File(path, Options{MaxLineBytes: 4, MaxLines: 2, Poll: 5 * time.Millisecond})
	require.NoError(t, err)
	appendTo(t, path, "abcdefgh\nab\r\nthird\nfourth\n")
	settle()
	problems := r.Stop()
	lines := r.Lines()
	require.Len(t, lines, 2)
	assert.Equal(t, "abcd", lines[0].Raw)
	assert.True(t, lines[0].Truncated)
	assert.Equal(t, "ab", lines[1].Raw)
	assert.False(t, lines[1].Truncated)
	assert.Empty(t, problems, "lines past MaxLines are not kept, but they are judged")
	j := checks.NewJudge(&checks.Evidence{Captured: checks.Captured{Logs: true}}, nil, checks.Options{})
	n, err := r.Judge(j)
	require.NoError(t, err)
	assert.Equal(t, 4, n)
}

func TestFileBadInput(t *testing.T) {
	dir := t.TempDir()
	_, err := File(filepath.Join(dir, "missing.log"), fast)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "--logs "+filepath.Join(dir, "missing.log")+": ")

	_, err = File(dir, fast)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "not a regular file")

	fifo := filepath.Join(dir, "fifo")
	require.NoError(t, syscall.Mkfifo(fifo, 0o600))
	done := make(chan error, 1)
	go func() { _, err := File(fifo, fast); done <- err }()
	select {
	case err := <-done:
		require.Error(t, err)
		assert.Contains(t, err.Error(), "use --logs - and pipe it in")
	case <-time.After(2 * time.Second):
		t.Fatal("opening a FIFO blocked")
	}
}

func TestStdin(t *testing.T) {
	r := Stdin(strings.NewReader("{\"a\":1}\nplain\npartial"), fast)
	assert.Equal(t, "standard input", r.Describe())
	settle()
	problems := r.Stop()
	lines := r.Lines()
	assert.Empty(t, problems)
	assert.Equal(t, []string{`{"a":1}`, "plain", "partial"}, raws(lines))
	assert.Equal(t, "stdin", lines[0].Source)
}

func TestStdinThatStaysOpenDoesNotBlockStop(t *testing.T) {
	pr, pw := io.Pipe()
	defer pw.Close()
	r := Stdin(pr, fast)
	_, err := pw.Write([]byte("first\nsecond\n"))
	require.NoError(t, err)
	settle()
	start := time.Now()
	r.Stop()
	lines := r.Lines()
	assert.Less(t, time.Since(start), time.Second, "Stop must not wait for the input to close")
	assert.Equal(t, []string{"first", "second"}, raws(lines))

	// Lines written after Stop are not taken, and writing does not block for ever.
	go func() { _, _ = pw.Write([]byte("late\n")) }()
	time.Sleep(20 * time.Millisecond)
	assert.Len(t, lines, 2)
}
