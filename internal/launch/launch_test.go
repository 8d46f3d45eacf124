package launch

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/obslint/obslint/checks"
)

func startSh(t *testing.T, script string, opt Options) *Process {
	t.Helper()
	opt.Command = []string{"sh", "-c", script}
	p, err := Start(t.Context(), opt)
	require.NoError(t, err)
	t.Cleanup(func() { _ = p.Stop(time.Second) })
	return p
}

// finish waits for the process to exit on its own, then drains its output.
func finish(t *testing.T, p *Process) {
	t.Helper()
	select {
	case <-p.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("process did not exit")
	}
	require.NoError(t, p.Stop(time.Second))
}

// waitForLine polls until a line with this raw text was captured.
func waitForLine(t *testing.T, p *Process, raw string) {
	t.Helper()
	require.Eventually(t, func() bool {
		for _, l := range p.Lines() {
			if l.Raw == raw {
				return true
			}
		}
		return false
	}, 10*time.Second, 10*time.Millisecond, "no line %q", raw)
}

func TestCapturesLinesWithSourcesAndOrder(t *testing.T) {
	p := startSh(t, `echo '{"level":"info","msg":"one"}'; sleep 0.1; echo oops >&2; sleep 0.1; echo two; printf 'no newline'`, Options{})
	finish(t, p)
	assert.Equal(t, 0, p.ExitCode())

	lines := p.Lines()
	require.Len(t, lines, 4)
	type got struct {
		Source string
		N      int
		Raw    string
	}
	var gotLines []got
	for _, l := range lines {
		gotLines = append(gotLines, got{l.Source, l.N, l.Raw})
		assert.False(t, l.Time.IsZero())
		assert.False(t, l.Truncated)
	}
	assert.Equal(t, []got{
		{"stdout", 1, `{"level":"info","msg":"one"}`},
		{"stderr", 1, "oops"},
		{"stdout", 2, "two"},
		{"stdout", 3, "no newline"},
	}, gotLines)
	assert.Equal(t, "info", lines[0].Fields["level"])
	assert.Nil(t, lines[1].Fields)
	assert.Equal(t, "not a JSON object", lines[1].ParseErr)
	assert.True(t, !lines[0].Time.After(lines[2].Time), "read order is time order")
	assert.Empty(t, p.Problems())
	assert.Equal(t, []string{"two", "no newline"}, p.Tail(2))
}

func TestExitCodeAndEnvAndDir(t *testing.T) {
	dir := t.TempDir()
	p := startSh(t, `echo "$OBSLINT_A $OBSLINT_B"; pwd; exit 3`, Options{
		Dir: dir,
		Env: []string{"OBSLINT_A=first", "OBSLINT_B=x", "OBSLINT_A=second"},
	})
	finish(t, p)
	assert.Equal(t, 3, p.ExitCode())
	lines := p.Lines()
	require.Len(t, lines, 2)
	assert.Equal(t, "second x", lines[0].Raw, "later Env entries win")
	assert.Equal(t, dir, lines[1].Raw)
}

func TestStartErrors(t *testing.T) {
	_, err := Start(t.Context(), Options{})
	require.Error(t, err)
	_, err = Start(t.Context(), Options{Command: []string{"/nonexistent/obslint-no-such-binary"}})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "obslint-no-such-binary")
}

func TestHugeLineIsTruncatedWithBoundedMemory(t *testing.T) {
	const lineBytes = 64 << 20
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	p := startSh(t, fmt.Sprintf(`head -c %d /dev/zero | tr '\0' x; echo; echo after`, lineBytes), Options{MaxLineBytes: 1024})
	finish(t, p)
	runtime.ReadMemStats(&after)

	lines := p.Lines()
	require.Len(t, lines, 2)
	assert.Len(t, lines[0].Raw, 1024)
	assert.True(t, lines[0].Truncated)
	assert.Equal(t, "after", lines[1].Raw)
	assert.False(t, lines[1].Truncated)
	assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(lineBytes/4), "the line must not be buffered whole")
	assert.Equal(t, "1 log lines longer than 1024 bytes were truncated", p.Problems()[0].Message)
}

func TestNonUTF8IsKeptValid(t *testing.T) {
	p := startSh(t, `printf '\377\376{"msg":"caf\303\251"}\n\200\n{"msg":"caf\303\251"}\n{"msg":"caf\351"}\n'`, Options{})
	finish(t, p)
	lines := p.Lines()
	require.Len(t, lines, 4)
	for _, l := range lines {
		assert.True(t, utf8.ValidString(l.Raw), "%q", l.Raw)
	}
	assert.Equal(t, "\uFFFD{\"msg\":\"café\"}", lines[0].Raw)
	assert.Equal(t, "not a JSON object", lines[0].ParseErr)
	assert.Equal(t, []bool{true, true, false, true}, []bool{lines[0].InvalidUTF8, lines[1].InvalidUTF8, lines[2].InvalidUTF8, lines[3].InvalidUTF8},
		"the lines with a byte that is not UTF-8 are flagged")
	assert.Equal(t, map[string]any{"msg": "caf\uFFFD"}, lines[3].Fields, "Latin-1 JSON still parses, flagged")
}

// A line cut at the limit inside a character is not the service's fault.
func TestTruncationInsideACharacterIsNotInvalidUTF8(t *testing.T) {
	p := startSh(t, `printf 'ab\342\202\254\n'`, Options{MaxLineBytes: 4}) // "ab€" cut after the euro sign's first two bytes
	finish(t, p)
	lines := p.Lines()
	require.Len(t, lines, 1)
	assert.Equal(t, "ab", lines[0].Raw)
	assert.True(t, lines[0].Truncated)
	assert.False(t, lines[0].InvalidUTF8)
}

func TestMaxLinesBoundsKeptNotJudgedAndTailStaysCurrent(t *testing.T) {
	const n = 20_000 // past what the spool holds in memory
	p := startSh(t, fmt.Sprintf(`seq 1 %d`, n), Options{MaxLines: 10})
	finish(t, p)
	lines := p.Lines()
	require.Len(t, lines, 10)
	assert.Equal(t, "10", lines[9].Raw)
	assert.Equal(t, []string{"19998", "19999", "20000"}, p.Tail(3))
	assert.Empty(t, p.Problems())
	j := checks.NewJudge(&checks.Evidence{Captured: checks.Captured{Logs: true}}, nil, checks.Options{})
	got, err := p.Judge(j)
	require.NoError(t, err)
	assert.Equal(t, n, got, "every line is judged, whatever MaxLines keeps")
}

func TestStopKillsProcessIgnoringSIGTERM(t *testing.T) {
	p := startSh(t, `trap '' TERM; echo ready; while :; do sleep 0.05; done`, Options{})
	waitForLine(t, p, "ready")
	start := time.Now()
	require.NoError(t, p.Stop(300*time.Millisecond))
	took := time.Since(start)
	assert.GreaterOrEqual(t, took, 300*time.Millisecond, "SIGTERM was ignored, so the grace must run out")
	assert.Less(t, took, 3*time.Second)
	select {
	case <-p.Done():
	default:
		t.Fatal("not exited after Stop")
	}
	assert.Equal(t, -1, p.ExitCode(), "killed by a signal")
	require.NoError(t, p.Stop(time.Second), "idempotent")
}

func TestStopGracefulExitIsPrompt(t *testing.T) {
	p := startSh(t, `trap 'echo bye; exit 0' TERM; echo ready; while :; do sleep 0.05; done`, Options{})
	waitForLine(t, p, "ready")
	start := time.Now()
	require.NoError(t, p.Stop(10*time.Second))
	assert.Less(t, time.Since(start), 5*time.Second, "must not wait out the grace")
	assert.Equal(t, 0, p.ExitCode())
	// The shell may also report its killed sleep on stderr; look at stdout.
	var stdout []string
	for _, l := range p.Lines() {
		if l.Source == "stdout" {
			stdout = append(stdout, l.Raw)
		}
	}
	assert.Equal(t, []string{"ready", "bye"}, stdout, "output written on SIGTERM is drained")
}

func TestStopKillsChildrenInGroup(t *testing.T) {
	// The leader dies on SIGTERM at once; its child ignores SIGTERM and must
	// still be killed by the SIGKILL to the group.
	p := startSh(t, `sh -c "trap '' TERM; echo child \$\$; while :; do sleep 0.05; done" & wait`, Options{})
	require.Eventually(t, func() bool { return len(p.Lines()) > 0 }, 10*time.Second, 10*time.Millisecond)
	f := strings.Fields(p.Lines()[0].Raw)
	require.Len(t, f, 2)
	child, err := strconv.Atoi(f[1])
	require.NoError(t, err)
	require.True(t, alive(child))

	require.NoError(t, p.Stop(2*time.Second))
	assert.Eventually(t, func() bool { return !alive(child) }, 5*time.Second, 20*time.Millisecond, "child %d survived", child)
}

// alive reports whether pid runs; a zombie (no reaper in a container) is dead.
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}

func TestStopAfterExitIsSafe(t *testing.T) {
	p := startSh(t, `true`, Options{})
	<-p.Done()
	start := time.Now()
	require.NoError(t, p.Stop(5*time.Second))
	assert.Less(t, time.Since(start), 2*time.Second)
}

func TestContextCancelStopsProcess(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	p, err := Start(ctx, Options{Command: []string{"sh", "-c", "sleep 30"}})
	require.NoError(t, err)
	cancel()
	select {
	case <-p.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("cancelling ctx did not stop the process")
	}
}

func TestWaitReadyFailsFastWhenServiceExits(t *testing.T) {
	port, err := FreePort()
	require.NoError(t, err)
	p := startSh(t, `echo 'cannot bind' >&2; exit 7`, Options{})
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	start := time.Now()
	err = WaitReady(ctx, fmt.Sprintf("http://127.0.0.1:%d/", port), p.Done())
	require.ErrorIs(t, err, ErrExited)
	assert.Less(t, time.Since(start), 5*time.Second)
	require.NoError(t, p.Stop(time.Second))
	assert.Equal(t, 7, p.ExitCode())
	assert.Equal(t, []string{"cannot bind"}, p.Tail(5))
}

func TestWaitReadyHTTP(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/never" || calls.Add(1) < 3 {
			http.Error(w, "starting", http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()

	t.Run("ready after a few 503s", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		require.NoError(t, WaitReady(ctx, srv.URL+"/health", nil))
		assert.GreaterOrEqual(t, calls.Load(), int32(3))
	})
	t.Run("never ready times out", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
		defer cancel()
		start := time.Now()
		err := WaitReady(ctx, srv.URL+"/never", nil)
		require.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Contains(t, err.Error(), "503")
		assert.Less(t, time.Since(start), 2*time.Second)
	})
}

func TestWaitReadyHangingServerIsBounded(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	go func() { // accept and never answer
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { c.Close() })
		}
	}()
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = WaitReady(ctx, "http://"+l.Addr().String()+"/", nil)
	require.Error(t, err)
	assert.Less(t, time.Since(start), 2*time.Second)
}

func TestWaitReadyTCP(t *testing.T) {
	port, err := FreePort()
	require.NoError(t, err)
	target := fmt.Sprintf("tcp://127.0.0.1:%d", port)

	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	require.Error(t, WaitReady(ctx, target, nil), "nothing listens yet")

	l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	require.NoError(t, err)
	defer l.Close()
	ctx2, cancel2 := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel2()
	require.NoError(t, WaitReady(ctx2, target, nil))
}

func TestWaitReadyBadTarget(t *testing.T) {
	for _, target := range []string{"localhost:8080", "ftp://x/", "tcp://nohost", "http://[::1"} {
		err := WaitReady(t.Context(), target, nil)
		require.Error(t, err, target)
		assert.False(t, errors.Is(err, ErrExited))
		assert.Contains(t, err.Error(), target)
	}
}

func TestFreePort(t *testing.T) {
	port, err := FreePort()
	require.NoError(t, err)
	l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	require.NoError(t, err, "the port must be bindable")
	require.NoError(t, l.Close())
}
