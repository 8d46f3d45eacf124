// Package launch runs the service under test in its own process group and
// captures stdout and stderr line by line as its log stream.
package launch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/obslint/obslint/checks"
	"github.com/obslint/obslint/internal/limits"
	"github.com/obslint/obslint/internal/lines"
)

// Defaults for Options fields left zero, and fixed bounds.
const (
	// DefaultGrace is how long a service gets between SIGTERM and SIGKILL
	// when its context ends. Node's SDK needs about a second to flush with a
	// receiver up (reference/logs-traces.md, appendix item 7).
	DefaultGrace = 5 * time.Second
	// drainTimeout bounds the wait for the output readers after the process
	// group is gone; a daemonised grandchild may keep a pipe open forever.
	drainTimeout = 2 * time.Second
	// tailKeep and tailLineBytes bound the raw lines kept for error messages,
	// independent of MaxLines so the tail is the real end of the output.
	tailKeep      = 200
	tailLineBytes = 4 << 10
)

// Options say what to run and how much output to keep.
type Options struct {
	Command []string // program and arguments; Command[0] is looked up in PATH
	Dir     string   // working directory; "" is the current one
	// Env is added to os.Environ(); later entries win.
	Env []string
	// MaxLineBytes cuts longer lines (flagged Truncated); MaxLines bounds the
	// lines kept, further ones are counted. Zero means limits.Default.
	MaxLineBytes, MaxLines int
}

// Process is a running (or exited) service.
type Process struct {
	cmd      *exec.Cmd
	pgid     int
	opt      Options
	done     chan struct{} // closed when the process exited
	exitCode int           // set before done is closed
	readers  sync.WaitGroup
	pipes    []*os.File // read ends, closed when draining gives up

	mu        sync.Mutex
	spool     *lines.Spool
	counts    map[string]int // lines seen per source
	truncated int
	tail      []string // ring of the last tailKeep raw lines
	tailNext  int
	readErrs  []string

	stopOnce sync.Once
	stopErr  error
}

// Start launches the command in its own process group. When ctx ends before
// the process exits, the group is stopped as by Stop(DefaultGrace).
func Start(ctx context.Context, opt Options) (*Process, error) {
	if len(opt.Command) == 0 {
		return nil, errors.New("launch: no command given")
	}
	if opt.MaxLineBytes <= 0 {
		opt.MaxLineBytes = limits.Default.MaxLineBytes
	}
	if opt.MaxLines <= 0 {
		opt.MaxLines = limits.Default.MaxLines
	}
	cmd := exec.Command(opt.Command[0], opt.Command[1:]...)
	cmd.Dir = opt.Dir
	cmd.Env = append(os.Environ(), opt.Env...)
	// Own group: Stop signals the service and every child it forked (npm
	// start → sh → node), not just the leader.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}

	p := &Process{cmd: cmd, opt: opt, done: make(chan struct{}), exitCode: -1, counts: map[string]int{}, spool: lines.NewSpool()}
	// Plain pipes, not cmd.StdoutPipe: Wait would close those under the
	// readers, and it could not tell when children still hold them.
	outR, outW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		closeAll(outR, outW)
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = outW, errW
	if err := cmd.Start(); err != nil {
		closeAll(outR, outW, errR, errW)
		return nil, fmt.Errorf("starting %s: %w", strings.Join(opt.Command, " "), err)
	}
	closeAll(outW, errW) // the child has its copies; EOF comes when it (and its children) close them
	p.pgid = cmd.Process.Pid
	p.pipes = []*os.File{outR, errR}
	p.readers.Add(2)
	go p.read("stdout", outR)
	go p.read("stderr", errR)
	go p.wait()
	go func() {
		select {
		case <-ctx.Done():
			_ = p.Stop(DefaultGrace)
		case <-p.done:
		}
	}()
	return p, nil
}

func closeAll(fs ...*os.File) {
	for _, f := range fs {
		_ = f.Close()
	}
}

func (p *Process) wait() {
	_ = p.cmd.Wait() // the exit status is in ProcessState either way
	p.mu.Lock()
	p.exitCode = p.cmd.ProcessState.ExitCode() // -1 when killed by a signal
	p.mu.Unlock()
	close(p.done)
}

// read captures one stream until EOF or until the pipe is closed under it.
func (p *Process) read(source string, r io.Reader) {
	defer p.readers.Done()
	lr := lines.NewReader(r, p.opt.MaxLineBytes)
	for {
		raw, truncated, err := lr.Next()
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, os.ErrClosed) {
				p.mu.Lock()
				p.readErrs = append(p.readErrs, fmt.Sprintf("reading %s: %v", source, err))
				p.mu.Unlock()
			}
			return
		}
		p.add(source, raw, truncated, time.Now())
	}
}

func (p *Process) add(source, raw string, truncated bool, at time.Time) {
	// Keep what the service wrote, but as valid UTF-8: reports and JSON
	// output must not carry broken bytes. The line remembers it was not.
	raw, invalid := checks.CleanUTF8(raw, truncated)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.counts[source]++
	p.pushTail(raw)
	if truncated {
		p.truncated++
	}
	p.spool.Add(source, p.counts[source], raw, truncated, invalid, at)
}

func (p *Process) pushTail(raw string) {
	if len(raw) > tailLineBytes {
		raw = strings.ToValidUTF8(raw[:tailLineBytes], "") + "…"
	}
	if len(p.tail) < tailKeep {
		p.tail = append(p.tail, raw)
		return
	}
	p.tail[p.tailNext] = raw
	p.tailNext = (p.tailNext + 1) % tailKeep
}

// Lines returns the first MaxLines captured lines so far, in read order,
// parsed.
func (p *Process) Lines() []checks.LogLine {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.spool.Kept(p.opt.MaxLines)
}

// Judge feeds every captured line to j, in read order, and returns how
// many; a line read meanwhile waits. Call it once the output is drained
// (after Stop).
func (p *Process) Judge(j *checks.Judge) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.spool.Judge(j)
}

// Kept returns the first max captured lines, parsed (a saved bundle).
func (p *Process) Kept(max int) []checks.LogLine {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.spool.Kept(max)
}

// Tail returns the last n raw lines (at most 200, each cut at 4 KiB), also
// when MaxLines was hit: it is for error messages.
func (p *Process) Tail(n int) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	ordered := append(append([]string(nil), p.tail[p.tailNext:]...), p.tail[:p.tailNext]...)
	if n < len(ordered) {
		ordered = ordered[len(ordered)-max(n, 0):]
	}
	return ordered
}

// Done is closed when the process has exited.
func (p *Process) Done() <-chan struct{} { return p.done }

// ExitCode is the exit status, -1 while running or when killed by a signal.
func (p *Process) ExitCode() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.exitCode
}

// Pid is the process id of the leader (and the process group id).
func (p *Process) Pid() int { return p.pgid }

// Problems reports the limits hit and read errors.
func (p *Process) Problems() []checks.Problem {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := p.spool.Problems("stdout/stderr")
	if p.truncated > 0 {
		out = append(out, checks.Problem{Phase: "limit", Message: fmt.Sprintf("%d log lines longer than %d bytes were truncated", p.truncated, p.opt.MaxLineBytes)})
	}
	for _, e := range p.readErrs {
		out = append(out, checks.Problem{Phase: "logs", Message: e})
	}
	return out
}

// Stop sends SIGTERM to the whole process group, waits up to grace for the
// leader to exit, then SIGKILLs the group, and waits (bounded) for the output
// to drain. It is idempotent and safe after the process exited on its own:
// children left in the group are still stopped.
func (p *Process) Stop(grace time.Duration) error {
	p.stopOnce.Do(func() { p.stopErr = p.stop(grace) })
	return p.stopErr
}

func (p *Process) stop(grace time.Duration) error {
	var errs []error
	if err := p.signalGroup(syscall.SIGTERM); err != nil {
		errs = append(errs, err)
	}
	t := time.NewTimer(grace)
	select {
	case <-p.done:
	case <-t.C:
	}
	t.Stop()
	// SIGKILL the group even when the leader exited: children it left behind
	// would otherwise hold the pipes and outlive the run.
	if err := p.signalGroup(syscall.SIGKILL); err != nil {
		errs = append(errs, err)
	}
	select {
	case <-p.done:
	case <-time.After(drainTimeout):
		errs = append(errs, fmt.Errorf("process %d did not exit after SIGKILL", p.pgid))
	}
	p.drain()
	return errors.Join(errs...)
}

// signalGroup signals every process in the group; a group that is already
// gone is not an error.
func (p *Process) signalGroup(sig syscall.Signal) error {
	err := syscall.Kill(-p.pgid, sig)
	if err == nil || errors.Is(err, syscall.ESRCH) {
		return nil
	}
	return fmt.Errorf("sending %v to process group %d: %w", sig, p.pgid, err)
}

// drain waits for the readers to reach EOF, then closes the read ends to
// unblock them if something outside the group still holds the pipes.
func (p *Process) drain() {
	drained := make(chan struct{})
	go func() { p.readers.Wait(); close(drained) }()
	select {
	case <-drained:
	case <-time.After(drainTimeout):
		p.mu.Lock()
		p.readErrs = append(p.readErrs, "output still open after the service stopped (a process outside its group holds it); stopped reading")
		p.mu.Unlock()
	}
	closeAll(p.pipes...)
}
