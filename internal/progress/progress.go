// Package progress shows which phase a run is in: a one-line display
// rewritten in place on a terminal, plain timestamped lines elsewhere (CI
// logs), so the same calls read well in both.
package progress

import (
	"fmt"
	"io"
	"sync"
	"time"

	"golang.org/x/term"
)

const (
	// refreshEvery keeps the elapsed time moving on a terminal while a
	// phase (waiting for spans…) lasts.
	refreshEvery = 200 * time.Millisecond
	// maxPhaseLen keeps the line short enough not to wrap: a wrapped line
	// cannot be cleared with \r.
	maxPhaseLen = 64
	prefix      = "obslint: "
	clearLine   = "\r\x1b[2K"
)

// Display shows the current phase. It is safe for concurrent use, and a nil
// *Display shows nothing, so callers need no "if progress" branches.
type Display struct {
	mu    sync.Mutex
	w     io.Writer
	tty   bool
	now   func() time.Time
	start time.Time
	phase string
	done  bool
	stop  chan struct{}
}

// New returns a display writing to w; tty selects the in-place form (see
// IsTerminal). Call Done when finished.
func New(w io.Writer, tty bool) *Display {
	return newDisplay(w, tty, time.Now, refreshEvery)
}

func newDisplay(w io.Writer, tty bool, now func() time.Time, refresh time.Duration) *Display {
	d := &Display{w: w, tty: tty, now: now, start: now()}
	if tty && refresh > 0 {
		d.stop = make(chan struct{})
		go d.tick(refresh)
	}
	return d
}

// IsTerminal reports whether w is a terminal (an *os.File on a TTY).
func IsTerminal(w io.Writer) bool {
	f, ok := w.(interface{ Fd() uintptr })
	return ok && term.IsTerminal(int(f.Fd()))
}

// Phase shows a new phase, e.g. "probing 3/7".
func (d *Display) Phase(msg string) {
	if d == nil {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.done {
		return
	}
	if !d.tty && msg == d.phase {
		return // a repeated phase adds nothing to a log
	}
	d.phase = msg
	if d.tty {
		d.redraw()
		return
	}
	fmt.Fprintf(d.w, "%s %s%s\n", d.now().UTC().Format(time.RFC3339), prefix, msg)
}

// Done ends the display: on a terminal it clears the line so the report
// starts clean; otherwise it logs the total time. It writes nothing if no
// phase was shown; later calls do nothing.
func (d *Display) Done() {
	if d == nil {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.done {
		return
	}
	d.done = true
	if d.stop != nil {
		close(d.stop)
	}
	switch {
	case d.phase == "":
		return // nothing was shown, so nothing to clear or conclude
	case d.tty:
		io.WriteString(d.w, clearLine)
		return
	}
	now := d.now()
	fmt.Fprintf(d.w, "%s %sdone (%s)\n", now.UTC().Format(time.RFC3339), prefix, elapsed(now.Sub(d.start)))
}

func (d *Display) tick(every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-d.stop:
			return
		case <-t.C:
			d.mu.Lock()
			if !d.done && d.phase != "" {
				d.redraw()
			}
			d.mu.Unlock()
		}
	}
}

// redraw rewrites the terminal line; d.mu must be held.
func (d *Display) redraw() {
	msg := d.phase
	if r := []rune(msg); len(r) > maxPhaseLen {
		msg = string(r[:maxPhaseLen-1]) + "…"
	}
	fmt.Fprintf(d.w, "%s%s%s (%s)", clearLine, prefix, msg, elapsed(d.now().Sub(d.start)))
}

// elapsed reads "4.2s" under a minute and "1m02s" above.
func elapsed(d time.Duration) string {
	if d < time.Minute {
		return fmt.Sprintf("%.1fs", d.Seconds())
	}
	d = d.Round(time.Second)
	return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
}
