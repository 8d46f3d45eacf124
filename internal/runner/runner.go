// Package runner is the `run` front door: it launches the service with its
// OTel SDK pointed at the embedded receiver, probes, scrapes, waits for spans,
// stops the service and returns the evidence.
package runner

import (
	"context"
	"errors"
	"time"

	"github.com/obslint/obslint/checks"
	"github.com/obslint/obslint/internal/config"
	"github.com/obslint/obslint/internal/offline"
)

// Settings is one `obslint run`.
type Settings struct {
	Config  config.Config
	Command []string // the command to launch (after --)
	Dir     string   // its working directory
	Limits  offline.Limits
	// Progress is told each phase ("starting", "probing 3/7", …); may be nil.
	Progress func(phase string)
}

// Timing is how long one phase took.
type Timing struct {
	Phase    string
	Duration time.Duration
}

// Capture is what a run gathered.
type Capture struct {
	Evidence *checks.Evidence
	Timings  []Timing
}

// ErrCapture marks errors that mean the service could not be judged at all
// (it did not start, never got ready): exit code 2.
var ErrCapture = errors.New("capture failed")

// Run launches, probes, scrapes and stops the service.
func Run(ctx context.Context, s Settings) (*Capture, error) {
	return nil, errors.New("runner: not implemented yet")
}
