package e2e

import (
	"context"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/obslint/obslint/internal/launch"
)

// startProcess runs cmd in dir in its own process group with env added to
// this process's environment and its output to stdout and stderr. At
// cleanup the group gets SIGTERM, then SIGKILL after 5 s. The channel is
// closed when the process exits.
func startProcess(t *testing.T, dir string, cmd, env []string, stdout, stderr io.Writer) <-chan struct{} {
	t.Helper()
	c := exec.Command(cmd[0], cmd[1:]...)
	c.Dir = dir
	c.Env = append(os.Environ(), env...)
	c.Stdout, c.Stderr = stdout, stderr
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	require.NoError(t, c.Start(), strings.Join(cmd, " "))
	exited := make(chan struct{})
	go func() { _ = c.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = syscall.Kill(-c.Process.Pid, syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			_ = syscall.Kill(-c.Process.Pid, syscall.SIGKILL)
			<-exited
		}
	})
	return exited
}

// waitHealthy waits up to timeout for url to answer 2xx (launch.WaitReady),
// and fails the test with output() when the process exits first or the time
// is up.
func waitHealthy(t *testing.T, url string, timeout time.Duration, exited <-chan struct{}, output func() string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	start := time.Now()
	if err := launch.WaitReady(ctx, url, exited); err != nil {
		t.Fatalf("%v\n%s", err, output())
	}
	t.Logf("%s answered after %s", url, time.Since(start).Round(time.Millisecond))
}
