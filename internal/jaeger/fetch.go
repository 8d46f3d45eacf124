package jaeger

import (
	"context"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/obslint/obslint/checks"
)

// maxOrphanProblems bounds the "parent is not in the trace" problems per trace.
const maxOrphanProblems = 5

// trace is what one Fetch knows about one requested id.
type trace struct {
	id      string
	raw     [16]byte
	invalid bool

	seen      bool
	spans     []checks.Span
	changed   time.Time // when the span count last changed
	done      bool      // complete, or given up on (over the span limit)
	limitNote string    // why spans were dropped, if they were
	lastErr   string
}

// outcome is one GetTrace answer.
type outcome struct {
	spans []checks.Span
	found bool
	err   error
}

// Fetch polls Jaeger for exactly these trace ids (32 hex chars) until each is
// complete or opt.Timeout passes. It never returns an error: what it could not
// get is in Missing/Partial/Problems.
func (c *Client) Fetch(ctx context.Context, traceIDs []string, opt FetchOptions) Result {
	res := Result{Source: c.source}
	opt = withDefaults(opt)
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, opt.Timeout)
	defer cancel()

	traces := parseIDs(traceIDs)
	errCounts := map[string]int{}
	var errOrder []string
	for {
		var pending []*trace
		for _, t := range traces {
			if !t.invalid && !t.done {
				pending = append(pending, t)
			}
		}
		if len(pending) == 0 || ctx.Err() != nil {
			break
		}
		outs := c.poll(ctx, pending, opt.MaxSpans)
		now := time.Now()
		for i, t := range pending {
			o := outs[i]
			if o.err != nil {
				if ctx.Err() != nil {
					continue // cut by our own deadline, not Jaeger's fault
				}
				msg := fmt.Sprintf("%s: trace %s: %v", c.source, t.id, o.err)
				if errCounts[msg] == 0 {
					errOrder = append(errOrder, msg)
				}
				errCounts[msg]++
				t.lastErr = o.err.Error()
				if o.found { // it is there but unusable (too big): stop asking
					t.seen, t.done, t.limitNote = true, true, o.err.Error()
				}
				continue
			}
			if !o.found {
				continue
			}
			if !t.seen || len(o.spans) != len(t.spans) {
				t.changed = now
			}
			t.seen, t.spans, t.lastErr = true, o.spans, ""
			if hasServer(t.spans) && now.Sub(t.changed) >= opt.Quiet {
				t.done = true
			}
		}
		capSpans(traces, opt.MaxSpans)
		select {
		case <-ctx.Done():
		case <-time.After(opt.Poll):
		}
	}

	waited := fmt.Sprint(opt.Timeout)
	if took := time.Since(start); took < opt.Timeout {
		waited = fmt.Sprintf("%s (the wait was cut short)", took.Round(10*time.Millisecond))
	}
	for _, t := range traces {
		switch {
		case t.invalid:
			res.Missing = append(res.Missing, t.id)
			res.Problems = append(res.Problems, problem("trace id %q is not 32 hex characters (or is all zero); not asked for", t.id))
		case !t.seen:
			res.Missing = append(res.Missing, t.id)
			msg := fmt.Sprintf("trace %s: not in Jaeger after %s", t.id, waited)
			if t.lastErr != "" {
				msg += " (last error: " + t.lastErr + ")"
			}
			res.Problems = append(res.Problems, checks.Problem{Phase: "traces", Message: msg})
		default:
			res.Spans = append(res.Spans, t.spans...)
			probs := shapeProblems(t, opt.InjectedParents[t.id])
			if t.limitNote != "" {
				probs = append(probs, problem("trace %s: %s", t.id, t.limitNote))
			}
			if len(probs) > 0 {
				res.Partial = append(res.Partial, t.id)
				res.Problems = append(res.Problems, probs...)
			}
		}
	}
	for _, msg := range errOrder {
		if n := errCounts[msg]; n > 1 {
			msg = fmt.Sprintf("%s (%d times)", msg, n)
		}
		res.Problems = append(res.Problems, checks.Problem{Phase: "traces", Message: msg})
	}
	return res
}

func withDefaults(opt FetchOptions) FetchOptions {
	if opt.Timeout <= 0 {
		opt.Timeout = DefaultTimeout
	}
	if opt.Poll <= 0 {
		opt.Poll = DefaultPoll
	}
	if opt.Quiet <= 0 {
		opt.Quiet = DefaultQuiet
	}
	if opt.MaxSpans <= 0 {
		opt.MaxSpans = DefaultMaxSpans
	}
	if len(opt.InjectedParents) > 0 {
		lower := make(map[string]string, len(opt.InjectedParents))
		for id, parent := range opt.InjectedParents {
			lower[strings.ToLower(id)] = strings.ToLower(parent)
		}
		opt.InjectedParents = lower
	}
	return opt
}

// parseIDs normalises ids to lowercase hex and drops duplicates, keeping
// the callers' order.
func parseIDs(ids []string) []*trace {
	var out []*trace
	seen := map[string]bool{}
	for _, raw := range ids {
		id := strings.ToLower(strings.TrimSpace(raw))
		if seen[id] {
			continue
		}
		seen[id] = true
		t := &trace{id: id}
		b, err := hex.DecodeString(id)
		if err != nil || len(b) != 16 || id == strings.Repeat("0", 32) {
			t.id, t.invalid = raw, true
		} else {
			copy(t.raw[:], b)
		}
		out = append(out, t)
	}
	return out
}

// poll asks for every pending trace, at most fetchConcurrency at a time.
func (c *Client) poll(ctx context.Context, pending []*trace, limit int) []outcome {
	outs := make([]outcome, len(pending))
	sem := make(chan struct{}, fetchConcurrency)
	var wg sync.WaitGroup
	for i, t := range pending {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			rctx, cancel := context.WithTimeout(ctx, requestTimeout)
			defer cancel()
			spans, found, err := c.getTrace(rctx, t.raw, limit)
			outs[i] = outcome{spans: spans, found: found, err: err}
		}()
	}
	wg.Wait()
	return outs
}

// capSpans keeps at most limit spans over all traces, in request order; a
// trace that loses spans is not polled again.
func capSpans(traces []*trace, limit int) {
	total := 0
	for _, t := range traces {
		n := len(t.spans)
		if total+n > limit {
			keep := limit - total
			t.limitNote = fmt.Sprintf("kept %d of its %d spans (span limit %d over all traces)", keep, n, limit)
			t.spans = t.spans[:keep:keep]
			t.done = true
			n = keep
		}
		total += n
	}
}

func hasServer(spans []checks.Span) bool {
	for _, s := range spans {
		if s.Kind == "SERVER" {
			return true
		}
	}
	return false
}

// shapeProblems says what is wrong with a fetched trace: no SERVER span, or
// spans whose parent is absent. One absent parent is expected: the one the
// probe injected (injected, or else the parent of the first SERVER span).
func shapeProblems(t *trace, injected string) []checks.Problem {
	if t.limitNote != "" {
		return nil // a cut trace has holes by construction
	}
	var probs []checks.Problem
	if !hasServer(t.spans) {
		probs = append(probs, problem("trace %s came back with %d spans and no SERVER span", t.id, len(t.spans)))
	}
	ids := make(map[string]bool, len(t.spans))
	for _, s := range t.spans {
		ids[s.SpanID] = true
	}
	if injected == "" {
		var first *checks.Span
		for i, s := range t.spans {
			if s.Kind == "SERVER" && s.ParentSpanID != "" && !ids[s.ParentSpanID] &&
				(first == nil || s.Start.Before(first.Start)) {
				first = &t.spans[i]
			}
		}
		if first != nil {
			injected = first.ParentSpanID
		}
	}
	var orphans []checks.Span
	for _, s := range t.spans {
		if s.ParentSpanID != "" && !ids[s.ParentSpanID] && s.ParentSpanID != injected {
			orphans = append(orphans, s)
		}
	}
	sort.SliceStable(orphans, func(i, j int) bool { return orphans[i].Start.Before(orphans[j].Start) })
	for i, s := range orphans {
		if i == maxOrphanProblems {
			probs = append(probs, problem("trace %s: %d more spans have a parent that is not in the trace", t.id, len(orphans)-i))
			break
		}
		probs = append(probs, problem("trace %s: span %q (%s)'s parent %s is not in the trace", t.id, s.Name, s.SpanID, s.ParentSpanID))
	}
	return probs
}

func problem(format string, args ...any) checks.Problem {
	return checks.Problem{Phase: "traces", Message: fmt.Sprintf(format, args...)}
}
