package launch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"
)

// pollInterval is the pause between readiness attempts: short enough not to
// add noticeable latency, long enough not to flood a booting service.
const pollInterval = 75 * time.Millisecond

// attemptTimeout bounds one readiness attempt, so a service that accepts
// connections but never answers still lets the loop notice ctx and done.
const attemptTimeout = 2 * time.Second

// ErrExited is returned by WaitReady when the service exited first.
var ErrExited = errors.New("the service exited before it was ready")

// WaitReady polls target until it is ready: "http://…" or "https://…" until
// a GET answers 2xx, "tcp://host:port" until a connection succeeds. It
// returns an error wrapping ErrExited as soon as done is closed, and the
// last failure when ctx ends.
func WaitReady(ctx context.Context, target string, done <-chan struct{}) error {
	attempt, err := readinessCheck(target)
	if err != nil {
		return err
	}
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	var last error
	for {
		actx, cancel := context.WithTimeout(ctx, attemptTimeout)
		err := attempt(actx)
		cancel()
		if err == nil {
			return nil
		}
		// An attempt cut short by ctx says nothing about the service; keep
		// the failure before it for the error message.
		if last == nil || ctx.Err() == nil {
			last = err
		}
		select {
		case <-done:
			return fmt.Errorf("waiting for %s: %w", target, ErrExited)
		case <-ctx.Done():
			return fmt.Errorf("%s not ready: %w (last attempt: %v)", target, ctx.Err(), last)
		case <-tick.C:
		}
	}
}

// readinessCheck parses target into one attempt function.
func readinessCheck(target string) (func(context.Context) error, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, fmt.Errorf("readiness target %q: %w", target, err)
	}
	switch u.Scheme {
	case "http", "https":
		return httpReady(target), nil
	case "tcp":
		if u.Host == "" || u.Port() == "" {
			return nil, fmt.Errorf("readiness target %q: want tcp://host:port", target)
		}
		return tcpReady(u.Host), nil
	}
	return nil, fmt.Errorf("readiness target %q: want an http://, https:// or tcp:// URL", target)
}

func httpReady(target string) func(context.Context) error {
	// No redirects: a login redirect is not readiness. No keep-alive: each
	// attempt should see the service as a new client would.
	client := &http.Client{
		Transport:     &http.Transport{DisableKeepAlives: true},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
		if err != nil {
			return err
		}
		req.Header.Set("User-Agent", "obslint-ready")
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		_ = resp.Body.Close()
		if resp.StatusCode < 200 || resp.StatusCode > 299 {
			return fmt.Errorf("status %s", resp.Status)
		}
		return nil
	}
}

func tcpReady(addr string) func(context.Context) error {
	return func(ctx context.Context) error {
		var d net.Dialer
		c, err := d.DialContext(ctx, "tcp", addr)
		if err != nil {
			return err
		}
		return c.Close()
	}
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
