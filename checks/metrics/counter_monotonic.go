package metrics

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	dto "github.com/prometheus/client_model/go"

	"github.com/obslint/obslint/checks"
)

// CounterMonotonic checks that no counter goes down between scrapes, and that
// one process answers the metrics endpoint.
var CounterMonotonic = &checks.Rule{
	ID:       "metrics/counter-monotonic",
	Severity: checks.Error,
	Summary:  "no counter decreases between scrapes",
	Doc: `Prometheus reads any decrease of a counter as a reset, so ` + "`rate()`" + ` and ` + "`increase()`" + `
add the whole new value: a counter that goes 120 → 3 → 118 → 4 produces huge false spikes.
The usual cause is several worker processes answering ` + "`/metrics`" + ` in turn, each with its
own registry: gunicorn or uvicorn ` + "`--workers N`" + ` without prometheus_client's multiprocess
mode, or Node's ` + "`cluster`" + ` without an aggregating registry. Each scrape then shows the
registry of whichever worker accepted the connection.

obslint scrapes several times after probing, each time on a new connection, and looks for the
processes behind the answers: ` + "`process_start_time_seconds`" + ` taking several values (one
process cannot change its start time), a ` + "`pid`" + ` label whose single value changes from scrape
to scrape, or a series' ` + "`_created`" + ` timestamp going back to an earlier value. When it sees
several processes it reports that once, under ` + "`process_start_time_seconds`" + ` (or the family
that told), with the counters that went down as confirmation. A start time that changes once
and then stays is told apart: the process restarted and its counters started again from zero.
Without such a tell, each counter family that went down is reported on its own. Counters,
histogram and summary ` + "`_count`" + ` and ` + "`_sum`" + ` are compared per series between consecutive
scrapes; library-owned counters such as ` + "`process_cpu_seconds_total`" + ` count too: when they go
down the deployment is at fault, not the library.

Even on new connections the answering worker is random, so a run that saw one process is
no proof that only one answers.

**Node (prom-client).**

    // bad: every worker serves its own registry
    if (cluster.isWorker) app.get('/metrics', async (_, res) => res.end(await register.metrics()));
    // good: the primary aggregates (ClusterRegistry in @prometheus-io/client)
    const aggregator = new AggregatorRegistry();
    metricsServer.get('/metrics', async (_, res) => {
      res.set('Content-Type', aggregator.contentType);
      res.end(await aggregator.clusterMetrics());
    });

**Python (prometheus_client).**

    # bad
    gunicorn app:app --workers 4          # each scrape hits one worker's registry
    # good: an empty directory, set before the workers start
    PROMETHEUS_MULTIPROC_DIR=/tmp/prom gunicorn -c gunicorn.conf.py app:app --workers 4
    # /metrics: registry = CollectorRegistry(); multiprocess.MultiProcessCollector(registry)
    # gunicorn.conf.py: def child_exit(server, worker): multiprocess.mark_process_dead(worker.pid)

**Fix.** Aggregate the workers' metrics behind one endpoint, or scrape each worker on its
own port as a separate target.`,
	Fix: checks.Fix{
		Node: "aggregate the cluster workers in the primary with AggregatorRegistry.clusterMetrics() (ClusterRegistry in @prometheus-io/client)",
		Python: "use prometheus_client's multiprocess mode: an empty PROMETHEUS_MULTIPROC_DIR set before the workers start, /metrics served from a " +
			"CollectorRegistry with MultiProcessCollector, and multiprocess.mark_process_dead(worker.pid) in gunicorn's child_exit hook",
	},
	Needs:   []checks.Need{checks.NeedTwoScrapes},
	Scrapes: newMonotonicJudge,
}

// monotonicJudge compares each parsed scrape with the one before, keeping
// only the previous scrape's counters, histograms and summaries, the first
// decrease per family, and the process identities seen per scrape.
type monotonicJudge struct {
	scrapes scrapeSet
	prev    map[string]*counted // first family of each name in the previous parsed scrape
	drops   []drop
	idx     map[string]int // family → its drop
	tells   tells
	// keepFirst makes the judge of a later part of the series keep the
	// counters, histograms and summaries of its first parsed scrape whole
	// (first), for Merge to compare the earlier part's last scrape with.
	keepFirst bool
	first     []*dto.MetricFamily
}

func newMonotonicJudge(*checks.Evidence) checks.ScrapeJudge {
	return &monotonicJudge{idx: map[string]int{}, tells: newTells()}
}

func (j *monotonicJudge) Scrape(s *checks.Scrape) {
	if !s.Parsed() {
		return
	}
	i := len(j.scrapes.phase)
	j.scrapes.add(s)
	if j.keepFirst && i == 0 {
		for _, mf := range s.Families {
			if mustGrow(mf.GetType()) {
				j.first = append(j.first, mf)
			}
		}
	}
	if j.prev != nil {
		j.decreases(i, s.Families)
	}
	j.prev = make(map[string]*counted, len(s.Families))
	var scratch []*dto.LabelPair
	for _, mf := range s.Families {
		if _, seen := j.prev[mf.GetName()]; seen {
			continue
		}
		switch {
		case mustGrow(mf.GetType()):
			c := &counted{typ: mf.GetType(), values: make(map[uint64][2]float64, min(len(mf.GetMetric()), 1024))}
			for _, m := range mf.GetMetric() {
				var h uint64
				h, scratch = labelHash(m, scratch)
				c.values[h] = counterValues(c.typ, m) // of a duplicated series, the last one
			}
			j.prev[mf.GetName()] = c
		default:
			j.prev[mf.GetName()] = nil // a gauge shadows a later family of its name
		}
	}
	j.tells.see(i, s)
}

// mustGrow tells the types whose values never go down in one process.
func mustGrow(t dto.MetricType) bool {
	return t == dto.MetricType_COUNTER || t == dto.MetricType_HISTOGRAM || t == dto.MetricType_SUMMARY
}

func (j *monotonicJudge) KeepFirst() { j.keepFirst = true }

// Merge compares the last scrape of this part with the first of the later
// one, as the pass over both would have, then takes in the later part's
// decreases and tells, their scrapes counted after this part's.
func (j *monotonicJudge) Merge(later checks.ScrapeJudge) {
	l := later.(*monotonicJudge)
	n := len(l.scrapes.phase)
	if n == 0 {
		return
	}
	at := len(j.scrapes.phase)
	if at == 0 {
		j.first = l.first
	}
	if j.prev != nil {
		j.decreases(at, l.first)
	}
	for _, d := range l.drops {
		if k, seen := j.idx[d.family]; seen {
			j.drops[k].steps += 1 + d.steps
			continue
		}
		d.step += at
		j.idx[d.family] = len(j.drops)
		j.drops = append(j.drops, d)
	}
	j.scrapes.phase = append(j.scrapes.phase, l.scrapes.phase...)
	j.scrapes.pos = append(j.scrapes.pos, l.scrapes.pos...)
	j.prev = l.prev
	j.tells.merge(&l.tells, at)
}

// decreases records, per family in order of first appearance, the first
// decrease between the previous scrape and scrape i.
func (j *monotonicJudge) decreases(i int, fams []*dto.MetricFamily) {
	for _, mf := range fams {
		prev := j.prev[mf.GetName()]
		if prev == nil || prev.typ != mf.GetType() {
			continue
		}
		d, ok := firstDecrease(prev, mf)
		if !ok {
			continue
		}
		if k, seen := j.idx[d.family]; seen {
			j.drops[k].steps++
			continue
		}
		d.step = i
		j.idx[d.family] = len(j.drops)
		j.drops = append(j.drops, d)
	}
}

func (j *monotonicJudge) Finish(p *checks.Pass) {
	scrapes := j.scrapes
	drops := slices.Clone(j.drops)
	// The service's own counters first: they are what its users chart.
	slices.SortStableFunc(drops, func(a, b drop) int {
		return cmp.Or(cmp.Compare(a.step, b.step), compareBool(isRuntimeDefault(a.family), isRuntimeDefault(b.family)))
	})
	tell, v := j.tells.whoAnswered()
	if v == sameProcess {
		for _, d := range drops {
			p.Reportf(d.family, "%s%s; no process_start_time_seconds, pid label or _created series shows which process answered, "+
				"but several workers serving their own registries is the usual cause", d.String(scrapes), d.moreText())
		}
		return
	}
	p.Report(checks.Finding{Subject: tell.subject, Message: tell.message(v, scrapes) + confirmation(drops, scrapes), Evidence: tell.evidence(), Fix: tell.fix(v)})
}

// drop is the first decrease of one family.
type drop struct {
	family   string
	series   string // name, suffix and labels of the first series that went down
	from, to float64
	step     int // scrapes[step-1] → scrapes[step]
	steps    int // later pairs of scrapes where the family went down again
	others   int // other series of the family that went down in the first pair
}

func (d drop) String(scrapes scrapeSet) string {
	return fmt.Sprintf("%s went down from %g to %g between %s and %s", d.series, d.from, d.to,
		scrapes.name(d.step-1), scrapes.name(d.step))
}

func (d drop) moreText() string {
	var parts []string
	if d.others > 0 {
		parts = append(parts, fmt.Sprintf("%d more series with it", d.others))
	}
	if d.steps > 0 {
		parts = append(parts, "again between "+plural(d.steps, "later pair", "later pairs")+" of scrapes")
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, "; ") + ")"
}

// plural writes "1 thing" or "n things".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

// compareBool orders false before true.
func compareBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return 1
	}
	return -1
}

// counted is what the next scrape is compared with of a family that must
// never go down: per series (by labelHash), its value, or its _count and
// _sum. Not the family itself: a scrape of a million series keeps 24 bytes
// of each for the next one.
type counted struct {
	typ    dto.MetricType
	values map[uint64][2]float64
}

// counterValues reads the values of a series that must never decrease: the
// counter's value, or a histogram's or summary's _count and _sum.
func counterValues(t dto.MetricType, m *dto.Metric) [2]float64 {
	switch t {
	case dto.MetricType_COUNTER:
		return [2]float64{m.GetCounter().GetValue()}
	case dto.MetricType_HISTOGRAM:
		return [2]float64{sampleCount(m.GetHistogram()), m.GetHistogram().GetSampleSum()}
	case dto.MetricType_SUMMARY:
		return [2]float64{float64(m.GetSummary().GetSampleCount()), m.GetSummary().GetSampleSum()}
	}
	return [2]float64{}
}

// firstDecrease finds the first series of a family that went down, and
// counts the others that did too.
func firstDecrease(before *counted, after *dto.MetricFamily) (drop, bool) {
	d := drop{family: after.GetName()}
	suffixes := []string{"_count", "_sum"}
	if after.GetType() == dto.MetricType_COUNTER {
		suffixes = []string{""}
	}
	n := 0
	var scratch []*dto.LabelPair
	for _, m := range after.GetMetric() {
		var h uint64
		h, scratch = labelHash(m, scratch)
		was, ok := before.values[h]
		if !ok {
			continue
		}
		now := counterValues(after.GetType(), m)
		for i, suffix := range suffixes {
			if now[i] < was[i] {
				if n == 0 {
					d.series, d.from, d.to = after.GetName()+suffix+strings.TrimSuffix(seriesKey(m), "{}"), was[i], now[i]
				}
				n++
				break
			}
		}
	}
	d.others = max(n-1, 0)
	return d, n > 0
}

// confirmation lists the counters that went down, which a Prometheus server
// would read as resets.
func confirmation(drops []drop, scrapes scrapeSet) string {
	if len(drops) == 0 {
		return "; no counter went down in these scrapes, but Prometheus will see them go up and down as the answering process changes"
	}
	s := "; counters went down as a consequence: " + drops[0].String(scrapes)
	if len(drops) > 1 {
		s += fmt.Sprintf(", and in %s (%s)", plural(len(drops)-1, "more family", "more families"), familyList(drops[1:], 3))
	}
	return s
}

func familyList(drops []drop, n int) string {
	var names []string
	for _, d := range drops[:min(n, len(drops))] {
		names = append(names, d.family)
	}
	if len(drops) > n {
		names = append(names, "…")
	}
	return strings.Join(names, ", ")
}

// scrapeSet names the parsed scrapes with their place among all scrapes,
// so that messages count the scrapes the way the report lists them.
type scrapeSet struct {
	phase []string
	pos   []int // 1-based position of the i-th parsed scrape in Evidence.Scrapes
}

func (ss *scrapeSet) add(s *checks.Scrape) {
	ss.phase = append(ss.phase, s.Phase)
	ss.pos = append(ss.pos, s.Index+1)
}

// name names the i-th parsed scrape for messages: "scrape 3 (after-2)".
func (ss scrapeSet) name(i int) string {
	if i < 0 || i >= len(ss.phase) {
		return "an unknown scrape"
	}
	ph := ss.phase[i]
	if ph == "" {
		ph = "unnamed"
	}
	return fmt.Sprintf("scrape %d (%s)", ss.pos[i], ph)
}

// verdict is what a sequence of process identities says.
type verdict int

const (
	sameProcess verdict = iota // one value, or none seen
	restarted                  // changed once, to a later start, and stayed
	ambiguous                  // changed once, at the last scrape: restart or another process
	severalProcesses
)

// identity is one value per scrape that a single process keeps constant:
// its start time, its pid, the creation time of one of its series.
type identity struct {
	subject string // the family reported
	what    string // how messages name it
	ordered bool   // values are times: an earlier one after a later one is not a restart
	obs     []observation
}

type observation struct {
	scrape int // index into the parsed scrapes
	value  float64
	text   string
}

// tells follows, scrape by scrape, what shows which process answered:
// process_start_time_seconds, pid labels, the values of _created series.
// It keeps one observation per scrape and tell, never the families.
type tells struct {
	start      identity
	pids       map[string]*identity
	aggregated map[string]bool
	created    map[string]*identity
	order      []string // created series keys, first seen first
}

func newTells() tells {
	return tells{start: identity{ordered: true}, pids: map[string]*identity{}, aggregated: map[string]bool{}, created: map[string]*identity{}}
}

// merge takes in the tells of the scrapes after these, the first of them
// being the at-th parsed scrape.
func (t *tells) merge(later *tells, at int) {
	shift := func(obs []observation) []observation {
		out := make([]observation, len(obs))
		for i, o := range obs {
			o.scrape += at
			out[i] = o
		}
		return out
	}
	if len(later.start.obs) > 0 {
		t.start.subject, t.start.what = later.start.subject, later.start.what
		t.start.obs = append(t.start.obs, shift(later.start.obs)...)
	}
	// add appends the later observations of one tell, and says whether
	// the tell is new.
	add := func(m map[string]*identity, key string, id *identity) bool {
		if mine, ok := m[key]; ok {
			mine.obs = append(mine.obs, shift(id.obs)...)
			return false
		}
		c := *id
		c.obs = shift(id.obs)
		m[key] = &c
		return true
	}
	for name, id := range later.pids {
		add(t.pids, name, id)
	}
	for name := range later.aggregated {
		t.aggregated[name] = true
	}
	for _, key := range later.order {
		if add(t.created, key, later.created[key]) {
			t.order = append(t.order, key)
		}
	}
}

// see reads the i-th parsed scrape.
func (t *tells) see(i int, s *checks.Scrape) {
	t.seeStart(i, s)
	idx := byName(s.Families)
	for _, mf := range s.Families {
		t.seePID(i, mf)
		t.seeCreated(i, mf, idx)
	}
}

// seeStart reads process_start_time_seconds (any prefix).
func (t *tells) seeStart(i int, s *checks.Scrape) {
	for _, mf := range s.Families {
		if !strings.HasSuffix(mf.GetName(), "process_start_time_seconds") || len(mf.GetMetric()) == 0 {
			continue
		}
		v := gaugeValue(firstSeries(mf))
		t.start.subject, t.start.what = mf.GetName(), mf.GetName()
		t.start.obs = append(t.start.obs, observation{scrape: i, value: v, text: formatValue(v)})
		return
	}
}

// seePID follows families whose series carry a pid label with one value
// per scrape: a process labelling its own series. prometheus_client's
// multiprocess mode writes one series per worker pid into every scrape, so
// an aggregated endpoint shows several values at once and is not a tell.
func (t *tells) seePID(i int, mf *dto.MetricFamily) {
	name := mf.GetName()
	pids := labelValues(mf, "pid")
	if len(pids) > 1 {
		t.aggregated[name] = true
	}
	if len(pids) != 1 {
		return
	}
	id, ok := t.pids[name]
	if !ok {
		id = &identity{subject: name, what: "the pid label of " + name}
		t.pids[name] = id
	}
	id.obs = append(id.obs, observation{scrape: i, text: pids[0]})
}

// seeCreated follows each series of prometheus_client's <name>_created
// gauges: a series is created once per process, so its creation time coming
// back to an earlier value means another process answered.
func (t *tells) seeCreated(i int, mf *dto.MetricFamily, idx map[string]*dto.MetricFamily) {
	if _, ok := createdPartner(mf, idx); !ok {
		return
	}
	for _, m := range mf.GetMetric() {
		key := mf.GetName() + seriesKey(m)
		id, ok := t.created[key]
		if !ok {
			id = &identity{subject: mf.GetName(), what: mf.GetName() + strings.TrimSuffix(seriesKey(m), "{}"), ordered: true}
			t.created[key] = id
			t.order = append(t.order, key)
		}
		v := gaugeValue(m)
		id.obs = append(id.obs, observation{scrape: i, value: v, text: formatValue(v)})
	}
}

// whoAnswered looks for proof that several processes answered, most direct
// tell first: process_start_time_seconds, a pid label, then _created series.
// The first tell that changed wins; a tell that proves several processes
// wins over one that only shows a change.
func (t *tells) whoAnswered() (identity, verdict) {
	var best identity
	bestV := sameProcess
	for _, id := range t.identities() {
		if v := id.verdict(); v > bestV {
			best, bestV = id, v
		}
		if bestV == severalProcesses {
			break
		}
	}
	return best, bestV
}

// identities gathers the candidate tells in order of preference.
func (t *tells) identities() []identity {
	var out []identity
	if id, ok := t.startTimes(); ok {
		out = append(out, id)
	}
	out = append(out, t.pidLabels()...)
	out = append(out, t.createdTimes()...)
	return out
}

// startTimes is the start-time tell, when two scrapes or more showed one.
func (t *tells) startTimes() (identity, bool) { return t.start, len(t.start.obs) > 1 }

// pidLabels lists the pid tells of families that were never aggregated, in
// name order.
func (t *tells) pidLabels() []identity {
	var out []identity
	for _, name := range slices.Sorted(maps.Keys(t.pids)) {
		if !t.aggregated[name] && len(t.pids[name].obs) > 1 {
			out = append(out, *t.pids[name])
		}
	}
	return out
}

// createdTimes lists, per family in name order of its series, the first
// series whose creation time alternated. A single later value is no tell:
// the service may have removed and recreated the series.
func (t *tells) createdTimes() []identity {
	order := slices.Sorted(slices.Values(t.order))
	var out []identity
	seen := map[string]bool{}
	for _, key := range order {
		id := t.created[key]
		if seen[id.subject] || !id.alternates() {
			continue
		}
		seen[id.subject] = true
		out = append(out, *id)
	}
	return out
}

// verdict reads the sequence of identities: one value is one process; a
// value that comes back after another, a time going back, or three or more
// values prove several processes (or restarts in a row); a single change to
// a later value is a restart if a later scrape confirms it.
func (id identity) verdict() verdict {
	n := len(id.distinct())
	switch {
	case n <= 1:
		return sameProcess
	case n >= 3 || id.alternates():
		return severalProcesses
	case id.changeAt() == len(id.obs)-1:
		return ambiguous // changed at the last scrape: nothing tells whether it stays
	}
	return restarted
}

// alternates reports whether a value came back after another (A … B … A),
// or, for times, a later scrape showed an earlier one: a process never
// starts before the one it replaced.
func (id identity) alternates() bool {
	for i := 1; i < len(id.obs); i++ {
		cur, prev := id.obs[i], id.obs[i-1]
		if cur.text == prev.text {
			continue
		}
		if id.ordered && cur.value < prev.value {
			return true
		}
		if slices.ContainsFunc(id.obs[:i-1], func(o observation) bool { return o.text == cur.text }) {
			return true
		}
	}
	return false
}

// message says what the tell showed.
func (id identity) message(v verdict, scrapes scrapeSet) string {
	values := id.distinct()
	switch v {
	case severalProcesses:
		return fmt.Sprintf("several processes answer the metrics endpoint, each with its own registry: %s took %d different values in %d scrapes (%s)%s; "+
			"one process never changes it, so each scrape showed whichever worker accepted the connection",
			id.what, len(values), len(id.obs), strings.Join(values, ", "), id.returned(scrapes))
	case restarted, ambiguous:
		i := id.changeAt()
		msg := fmt.Sprintf("%s changed once, from %s to %s, between %s and %s", id.what, id.obs[i-1].text, id.obs[i].text,
			scrapes.name(id.obs[i-1].scrape), scrapes.name(id.obs[i].scrape))
		if v == ambiguous {
			return msg + ": the process restarted, or a second worker process answered with its own registry (no later scrape tells which)"
		}
		return msg + fmt.Sprintf(" and stayed in the %d later scrape(s): the process restarted while being probed and its counters started again from zero "+
			"(one restart, not several workers taking turns)", len(id.obs)-1-i)
	}
	return ""
}

// returned names the first value that came back after another.
func (id identity) returned(scrapes scrapeSet) string {
	for i := 1; i < len(id.obs); i++ {
		cur := id.obs[i]
		if cur.text == id.obs[i-1].text {
			continue
		}
		if j := slices.IndexFunc(id.obs[:i-1], func(o observation) bool { return o.text == cur.text }); j >= 0 {
			return fmt.Sprintf("; %s, seen at %s, came back at %s after %s",
				cur.text, scrapes.name(id.obs[j].scrape), scrapes.name(cur.scrape), id.obs[i-1].text)
		}
	}
	return ""
}

// fix overrides the rule's remedy for a restart, which no aggregation cures.
func (id identity) fix(v verdict) string {
	if v == restarted {
		return "find out why the process restarted while obslint probed it (its last log lines, exit status, an out-of-memory kill, worker recycling such as gunicorn --max-requests)"
	}
	return ""
}

func (id identity) changeAt() int {
	for i := 1; i < len(id.obs); i++ {
		if id.obs[i].text != id.obs[i-1].text {
			return i
		}
	}
	return len(id.obs) - 1
}

func (id identity) distinct() []string {
	var out []string
	for _, o := range id.obs {
		if !slices.Contains(out, o.text) {
			out = append(out, o.text)
		}
	}
	return out
}

// evidence is the value of each scrape in order, as letters, then what the
// letters stand for: "A A B A C (A=1795646142.03 B=… C=…)". Spelled out per
// scrape, thirteen start times would not fit the evidence excerpt.
func (id identity) evidence() string {
	values := id.distinct()
	seq := make([]string, 0, len(id.obs))
	for _, o := range id.obs {
		seq = append(seq, letter(slices.Index(values, o.text)))
	}
	legend := make([]string, 0, len(values))
	for i, v := range values {
		legend = append(legend, letter(i)+"="+v)
	}
	return fmt.Sprintf("%s per scrape: %s (%s)", id.what, strings.Join(seq, " "), strings.Join(legend, " "))
}

// letter names the i-th distinct value: A … Z, then 27, 28 ….
func letter(i int) string {
	if i < 26 {
		return string(rune('A' + i))
	}
	return strconv.Itoa(i + 1)
}

// firstSeries is the series with the smallest label set, so that the same
// series is followed across scrapes whatever their order.
func firstSeries(mf *dto.MetricFamily) *dto.Metric {
	return slices.MinFunc(mf.GetMetric(), func(a, b *dto.Metric) int { return strings.Compare(seriesKey(a), seriesKey(b)) })
}

// labelValues lists the distinct values of a label in a family.
func labelValues(mf *dto.MetricFamily, name string) []string {
	var out []string
	for _, m := range mf.GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == name && !slices.Contains(out, l.GetValue()) {
				out = append(out, l.GetValue())
			}
		}
	}
	return out
}

// formatValue writes a time in seconds without an exponent: 1795645082.17.
func formatValue(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// gaugeValue reads a gauge or untyped sample.
func gaugeValue(m *dto.Metric) float64 {
	if m.Untyped != nil {
		return m.GetUntyped().GetValue()
	}
	return m.GetGauge().GetValue()
}
