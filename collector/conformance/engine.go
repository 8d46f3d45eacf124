package conformance

import (
	"container/list"
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.uber.org/zap"

	"github.com/obslint/obslint/checks"
)

// An evaluation on the ticker may take 1/evaluationShare of evaluate_every.
const (
	evaluationShare     = 4
	minEvaluationBudget = 50 * time.Millisecond
)

// UnknownService is the window for telemetry without a service.name.
const UnknownService = "unknown_service"

// Stats are the engine's counters since it started.
type Stats struct {
	// Services is how many services have a window now.
	Services int `json:"services"`
	// Evicted counts services evicted (max_services or memory_limit_mib).
	Evicted int64 `json:"evicted"`
	// Dropped counts spans, log records and metric snapshots not kept
	// because a window was full or memory ran short.
	Dropped int64 `json:"dropped"`
	// DroppedAttributes counts attributes beyond max_attributes.
	DroppedAttributes int64 `json:"dropped_attributes"`
	// Spans and LogRecords are what the windows hold now (log records
	// include raw log lines).
	Spans      int `json:"spans"`
	LogRecords int `json:"log_records"`
	// Bytes is the approximate memory the windows hold.
	Bytes int64 `json:"bytes"`
	// Evaluations counts evaluations of all windows.
	Evaluations int64 `json:"evaluations"`
	// Panics counts evaluations that panicked (reported as problems).
	Panics int64 `json:"panics"`
	// SpansJudged counts the spans fed to the span rules: each kept span
	// once, however many evaluations its window sees.
	SpansJudged int64 `json:"spans_judged"`
	// Behind is how many changed windows the last evaluation left for the
	// next one, for lack of time.
	Behind int64 `json:"behind"`
}

// Engine keeps bounded per-service windows of evidence and judges them with
// the rule catalogue. Processor and connector instances that name the same
// engine share it. Every method is safe for concurrent use.
type Engine struct {
	name     string
	cfg      Config
	logger   *zap.Logger
	version  string
	rules    []*checks.Rule
	opt      checks.Options
	nBuckets int
	limit    int64

	mu       sync.Mutex
	services map[string]*service
	lru      *list.List // of *service, most recently seen first
	bytes    int64
	// tokens and refilled are the copy budget (Config.MaxCopyPerSecond).
	tokens   float64
	refilled time.Time
	results  map[string]*checks.Result
	versions map[string]uint64    // window version each result was judged at
	judgedAt map[string]time.Time // when each result was judged (evalMu)
	subs     map[string]*subscriber

	evicted, dropped, droppedAttrs, evaluations, panics, behind, spansJudged atomic.Int64
	// processors counts started processors per signal (see ProcessorFeeds).
	processors [numSignals]atomic.Int32

	refs     int // guarded by registry.mu
	stop     chan struct{}
	done     chan struct{}
	server   *reportServer
	evalMu   sync.Mutex // one evaluation at a time
	now      func() time.Time
	started  bool
	startErr error
}

// subscriber receives each evaluation's results (the connector).
type subscriber struct {
	refs int
	fn   func(results map[string]*checks.Result)
}

func newEngine(name string, cfg *Config, logger *zap.Logger, version string) *Engine {
	if logger == nil {
		logger = zap.NewNop()
	}
	n := int((cfg.Window + cfg.EvaluateEvery - 1) / cfg.EvaluateEvery)
	n = max(1, min(n, maxWindowBuckets))
	return &Engine{
		name:     name,
		cfg:      *cfg,
		logger:   logger,
		version:  version,
		rules:    collectorRules(),
		opt:      cfg.options(),
		nBuckets: n,
		limit:    int64(cfg.MemoryLimitMiB) << 20,
		services: map[string]*service{},
		lru:      list.New(),
		results:  map[string]*checks.Result{},
		versions: map[string]uint64{},
		subs:     map[string]*subscriber{},
		now:      time.Now,
		tokens:   float64(cfg.MaxCopyPerSecond),
		refilled: time.Now(),
	}
}

// budgetLocked takes up to n items from the copy budget and returns how many
// it got (e.mu held).
func (e *Engine) budgetLocked(n int) int {
	rate := float64(e.cfg.MaxCopyPerSecond)
	if rate <= 0 || n <= 0 {
		return n
	}
	now := time.Now()
	e.tokens = min(rate, e.tokens+now.Sub(e.refilled).Seconds()*rate)
	e.refilled = now
	k := min(n, int(e.tokens))
	e.tokens -= float64(k)
	return k
}

// Name is the engine's name (Config.Engine).
func (e *Engine) Name() string { return e.name }

// Signal names a telemetry signal for ProcessorFeeds.
type Signal int

// The signals the components consume.
const (
	SignalTraces Signal = iota
	SignalLogs
	SignalMetrics
	numSignals
)

// ProcessorFeeds reports whether a started conformance processor feeds the
// engine this signal; a connector of the same engine then leaves the signal
// to it, so nothing is counted twice.
func (e *Engine) ProcessorFeeds(s Signal) bool { return e.processors[s].Load() > 0 }

// Stats returns the engine's counters.
func (e *Engine) Stats() Stats {
	e.mu.Lock()
	services, bytes := len(e.services), e.bytes
	spans, records := 0, 0
	for _, s := range e.services {
		for _, b := range s.buckets {
			spans += b.nSpans
			records += b.nRecords + len(b.lines)
		}
	}
	e.mu.Unlock()
	return Stats{Services: services, Spans: spans, LogRecords: records, Evicted: e.evicted.Load(), Dropped: e.dropped.Load(),
		DroppedAttributes: e.droppedAttrs.Load(), Bytes: bytes, Evaluations: e.evaluations.Load(), Panics: e.panics.Load(), Behind: e.behind.Load(),
		SpansJudged: e.spansJudged.Load()}
}

// start runs the evaluation ticker and the report endpoint.
func (e *Engine) start() error {
	if e.started {
		return e.startErr
	}
	e.started = true
	if err := e.serveReport(e.cfg.Report.Endpoint); err != nil {
		e.startErr = err
		return err
	}
	e.stop, e.done = make(chan struct{}), make(chan struct{})
	go e.loop()
	return nil
}

// reconfigure replaces the engine's settings and empties its windows; it is
// called while components start, before any receiver sends data.
func (e *Engine) reconfigure(cfg *Config) {
	if e.stop != nil {
		close(e.stop)
		<-e.done
	}
	e.mu.Lock()
	fresh := newEngine(e.name, cfg, e.logger, e.version)
	e.cfg, e.opt, e.nBuckets, e.limit = fresh.cfg, fresh.opt, fresh.nBuckets, fresh.limit
	e.services, e.lru, e.bytes, e.results, e.versions = fresh.services, fresh.lru, 0, fresh.results, fresh.versions
	e.mu.Unlock()
	e.stop, e.done = make(chan struct{}), make(chan struct{})
	go e.loop()
}

// serveReport starts the report endpoint unless one runs already or the
// endpoint is "" (registry.mu is held).
func (e *Engine) serveReport(endpoint string) error {
	if endpoint == "" || e.server != nil {
		return nil
	}
	srv, err := startReportServer(e, endpoint)
	if err != nil {
		return err
	}
	e.server = srv
	return nil
}

func (e *Engine) shutdown(ctx context.Context) error {
	if !e.started {
		return nil
	}
	if e.stop != nil {
		close(e.stop)
		<-e.done
	}
	if e.server != nil {
		return e.server.shutdown(ctx)
	}
	return nil
}

func (e *Engine) loop() {
	defer close(e.done)
	t := time.NewTicker(e.cfg.EvaluateEvery)
	defer t.Stop()
	for {
		select {
		case <-e.stop:
			return
		case <-t.C:
			e.evaluate(time.Now().Add(max(e.cfg.EvaluateEvery/evaluationShare, minEvaluationBudget)))
			e.rotate()
		}
	}
}

// rotate starts a new bucket in every window and forgets the oldest one
// beyond the window.
func (e *Engine) rotate() {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, s := range e.services {
		e.bytes -= s.rotate(e.nBuckets, e.now())
		if s.idle() {
			// Nothing in the whole window: the service is gone (or quiet),
			// and its report with it.
			e.lru.Remove(s.elem)
			delete(e.services, s.name)
			e.bytes -= s.bytes
			s.kill()
		}
	}
}

// Subscribe registers fn under key; a second subscription under the same key
// only counts a reference (connector instances of one ID and output signal
// feed the same pipelines, so they emit once).
func (e *Engine) Subscribe(key string, fn func(map[string]*checks.Result)) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if s, ok := e.subs[key]; ok {
		s.refs++
		return
	}
	e.subs[key] = &subscriber{refs: 1, fn: fn}
}

// Unsubscribe drops one reference to the subscription under key.
func (e *Engine) Unsubscribe(key string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if s, ok := e.subs[key]; ok {
		if s.refs--; s.refs <= 0 {
			delete(e.subs, key)
		}
	}
}

// Results returns the results of the last evaluation, by service.
func (e *Engine) Results() map[string]*checks.Result {
	e.mu.Lock()
	defer e.mu.Unlock()
	return maps.Clone(e.results)
}

// EvaluateNow judges every changed window now, keeps the results for the
// report endpoint, hands them to the subscribed connectors and returns them.
func (e *Engine) EvaluateNow() map[string]*checks.Result {
	return e.evaluate(time.Time{})
}

// evaluate judges the windows that changed since they were last judged,
// the longest unjudged first, until the deadline (zero: no deadline). The
// others keep their last result and come first next time, so evaluations
// never take more than their share of a core, however many services.
func (e *Engine) evaluate(deadline time.Time) map[string]*checks.Result {
	e.evalMu.Lock()
	defer e.evalMu.Unlock()
	e.mu.Lock()
	profile, opt, rules := e.cfg.Profile, e.opt, e.rules
	results := make(map[string]*checks.Result, len(e.services))
	versions := make(map[string]uint64, len(e.services))
	var todo []string
	for _, s := range e.services {
		if prev, ok := e.results[s.name]; ok {
			results[s.name], versions[s.name] = prev, e.versions[s.name]
			if e.versions[s.name] == s.version {
				continue // unchanged window, same verdict
			}
		}
		todo = append(todo, s.name)
	}
	e.mu.Unlock()
	judgedAt := make(map[string]time.Time, len(results))
	for name := range results {
		judgedAt[name] = e.judgedAt[name]
	}
	slices.SortFunc(todo, func(a, b string) int { return judgedAt[a].Compare(judgedAt[b]) })

	behind := 0
	for i, name := range todo {
		if !deadline.IsZero() && time.Now().After(deadline) {
			behind = len(todo) - i
			break
		}
		e.mu.Lock()
		s, ok := e.services[name]
		var v serviceView
		if ok {
			v = s.view()
		}
		e.mu.Unlock()
		if !ok {
			continue
		}
		res := e.judge(v, profile, rules, opt)
		results[name], versions[name], judgedAt[name] = &res, v.version, time.Now()
	}
	e.evaluations.Add(1)
	e.behind.Store(int64(behind))
	if behind > 0 {
		e.logger.Warn("conformance evaluation ran out of its time budget; the remaining windows are judged first next time",
			zap.Int("services_behind", behind))
	}

	e.mu.Lock()
	e.results, e.versions, e.judgedAt = results, versions, judgedAt
	subs := make([]func(map[string]*checks.Result), 0, len(e.subs))
	for _, k := range slices.Sorted(maps.Keys(e.subs)) {
		subs = append(subs, e.subs[k].fn)
	}
	e.mu.Unlock()
	for _, fn := range subs {
		fn(results)
	}
	return results
}

// judge builds the evidence of one window and runs the catalogue on it; a
// rule that panics is reported as a problem, never crashes the collector.
func (e *Engine) judge(v serviceView, profile string, rules []*checks.Rule, opt checks.Options) (res checks.Result) {
	defer func() {
		if r := recover(); r != nil {
			e.panics.Add(1)
			e.logger.Error("conformance evaluation panicked", zap.String("service", v.name), zap.Any("panic", r))
			res = checks.Run(&checks.Evidence{Target: checks.Target{Service: v.name}}, nil, opt)
			res.Problems = append(res.Problems, checks.Problem{Phase: "rules", Message: fmt.Sprintf("evaluating this window panicked: %v (please report it)", r)})
		}
		res.Tool = checks.Tool{Name: "obslint", Version: e.version}
		res.Started = v.start
	}()
	ev := v.evidence()
	opt.ResolveProfile, opt.Profile = true, profile
	// The judge recovers a panicking rule itself (not_evaluated, "internal error").
	otlp := func(j *checks.Judge) (int, error) { return v.judgeOTLP(j, ev, rules, opt, &e.spansJudged) }
	res, _ = checks.Judgement(ev, rules, opt, checks.Streams{OTLP: otlp, Lines: v.judgeLines})
	return res
}

// ConsumeTraces feeds a batch to the windows. It never fails and never
// keeps a reference to td.
func (e *Engine) ConsumeTraces(td ptrace.Traces) {
	rss := td.ResourceSpans()
	for i := 0; i < rss.Len(); i++ {
		e.ingestSpans(rss.At(i))
	}
}

// ConsumeLogs feeds a batch to the windows.
func (e *Engine) ConsumeLogs(ld plog.Logs) {
	rls := ld.ResourceLogs()
	for i := 0; i < rls.Len(); i++ {
		e.ingestLogs(rls.At(i))
	}
}

// ConsumeMetrics feeds a batch to the windows.
func (e *Engine) ConsumeMetrics(md pmetric.Metrics) {
	rms := md.ResourceMetrics()
	for i := 0; i < rms.Len(); i++ {
		e.ingestMetrics(rms.At(i))
	}
}

// touchLocked returns the window of a service, creating it (and evicting the
// least recently seen one beyond max_services) as needed.
func (e *Engine) touchLocked(name string) *service {
	if s, ok := e.services[name]; ok {
		e.lru.MoveToFront(s.elem)
		return s
	}
	for len(e.services) >= e.cfg.MaxServices {
		e.evictLocked(e.lru.Back().Value.(*service), "max_services")
	}
	s := newService(name, e.now(), e.cfg, e.nBuckets)
	s.elem = e.lru.PushFront(s)
	e.services[name] = s
	return s
}

func (e *Engine) evictLocked(s *service, why string) {
	e.lru.Remove(s.elem)
	delete(e.services, s.name)
	e.bytes -= s.bytes
	s.kill()
	e.evicted.Add(1)
	if ce := e.logger.Check(zap.DebugLevel, "conformance window evicted"); ce != nil {
		ce.Write(zap.String("service", s.name), zap.String("limit", why))
	}
}

// addBytesLocked accounts memory and, over the limit, frees the oldest
// buckets of the least recently seen services until it fits again.
func (e *Engine) addBytesLocked(s *service, n int64) {
	e.bytes += n
	s.bytes += n
	for e.bytes > e.limit {
		var victim *service
		for el := e.lru.Back(); el != nil; el = el.Prev() {
			if c := el.Value.(*service); c.bytes > 0 {
				victim = c
				break
			}
		}
		if victim == nil {
			return
		}
		freed, items := victim.dropOldest()
		e.bytes -= freed
		e.dropped.Add(int64(items))
	}
}
