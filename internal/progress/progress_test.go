package progress

import (
	"bytes"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// clock is a fake time source the test advances by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// lockedBuffer lets the test read what the ticker goroutine writes.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string { b.mu.Lock(); defer b.mu.Unlock(); return b.buf.String() }

func newClock() *clock {
	return &clock{t: time.Date(2026, 11, 25, 21, 0, 0, 0, time.FixedZone("CET", 3600))}
}

func TestPlainLines(t *testing.T) {
	c := newClock()
	var buf bytes.Buffer
	d := newDisplay(&buf, false, c.now, 0)
	d.Phase("starting")
	c.add(2 * time.Second)
	d.Phase("ready")
	d.Phase("ready") // repeats add nothing to a log
	c.add(90 * time.Second)
	d.Done()
	d.Phase("late") // ignored after Done
	d.Done()

	assert.Equal(t, ""+
		"2026-11-25T20:00:00Z obslint: starting\n"+
		"2026-11-25T20:00:02Z obslint: ready\n"+
		"2026-11-25T20:01:32Z obslint: done (1m32s)\n", buf.String())
}

func TestTerminalRewritesOneLine(t *testing.T) {
	c := newClock()
	var buf bytes.Buffer
	d := newDisplay(&buf, true, c.now, 0)
	d.Phase("starting")
	c.add(4200 * time.Millisecond)
	d.Phase("probing 3/7")
	d.Done()

	assert.Equal(t, ""+
		"\r\x1b[2Kobslint: starting (0.0s)"+
		"\r\x1b[2Kobslint: probing 3/7 (4.2s)"+
		"\r\x1b[2K", buf.String())
	assert.NotContains(t, buf.String(), "\n", "a terminal display never scrolls")
}

func TestTerminalTruncatesLongPhase(t *testing.T) {
	var buf bytes.Buffer
	d := newDisplay(&buf, true, newClock().now, 0)
	d.Phase(strings.Repeat("x", 200))
	line := strings.TrimPrefix(buf.String(), clearLine)
	assert.Less(t, len([]rune(line)), 90)
	assert.Contains(t, line, "…")
}

func TestTerminalRefreshesElapsed(t *testing.T) {
	c := newClock()
	var buf lockedBuffer
	d := newDisplay(&buf, true, c.now, time.Millisecond)
	defer d.Done()
	d.Phase("waiting for spans")
	c.add(3 * time.Second)
	assert.Eventually(t, func() bool {
		return strings.Contains(buf.String(), "waiting for spans (3.0s)")
	}, 5*time.Second, time.Millisecond)
}

func TestDoneStopsRefresh(t *testing.T) {
	var buf lockedBuffer
	d := newDisplay(&buf, true, newClock().now, time.Millisecond)
	d.Phase("probing")
	d.Done()
	after := buf.String()
	time.Sleep(20 * time.Millisecond)
	assert.Equal(t, after, buf.String())
	assert.True(t, strings.HasSuffix(after, clearLine))
}

func TestConcurrentUse(t *testing.T) {
	for _, tty := range []bool{false, true} {
		var buf lockedBuffer
		d := newDisplay(&buf, tty, time.Now, time.Millisecond)
		var wg sync.WaitGroup
		for i := range 8 {
			wg.Go(func() {
				for j := range 50 {
					d.Phase(strings.Repeat("p", i+j%3))
				}
			})
		}
		wg.Wait()
		d.Done()
		assert.NotEmpty(t, buf.String())
	}
}

func TestNilDisplayIsSilent(t *testing.T) {
	var d *Display
	assert.NotPanics(t, func() { d.Phase("x"); d.Done() })
}

func TestElapsed(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0:                        "0.0s",
		4200 * time.Millisecond:  "4.2s",
		59900 * time.Millisecond: "59.9s",
		time.Minute:              "1m00s",
		62*time.Second + 600*1e6: "1m03s",
		125 * time.Minute:        "125m00s",
	} {
		assert.Equal(t, want, elapsed(d), d.String())
	}
}

func TestIsTerminal(t *testing.T) {
	assert.False(t, IsTerminal(&bytes.Buffer{}))
	f, err := os.CreateTemp(t.TempDir(), "out")
	require.NoError(t, err)
	defer f.Close()
	assert.False(t, IsTerminal(f), "a regular file is not a terminal")
}

func TestDoneWithoutPhaseWritesNothing(t *testing.T) {
	for _, tty := range []bool{false, true} {
		var buf bytes.Buffer
		d := newDisplay(&buf, tty, newClock().now, 0)
		d.Done()
		assert.Empty(t, buf.String(), "tty=%v", tty)
	}
}
