package catalogue_test

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/obslint/obslint/bundle"
	"github.com/obslint/obslint/checks"
	"github.com/obslint/obslint/checks/catalogue"
	"github.com/obslint/obslint/checks/checktest"
	"github.com/obslint/obslint/internal/limits"
)

// TestPartsMergeIntoOnePass cuts the log lines of every fixture case at
// every point (and in three parts at a few), judges the parts apart and
// merges their judges: every rule must give exactly the findings, statuses
// and reasons of one pass over the whole stream.
func TestPartsMergeIntoOnePass(t *testing.T) {
	rules := catalogue.All()
	for _, dir := range checktest.Cases(t, "../../fixtures/cases") {
		want, err := checktest.ParseWant(filepath.Join(dir, "want.txt"))
		require.NoError(t, err)
		opt := checks.Options{ResolveProfile: true, Profile: want.Profile}
		load := func() (*checks.Evidence, []checks.LogLine) {
			ev, err := bundle.LoadDir(dir, limits.Default)
			require.NoError(t, err)
			lines := ev.Logs
			ev.Logs = nil
			return ev, lines
		}
		ev, lines := load()
		if len(lines) == 0 {
			continue
		}
		t.Run(filepath.Base(dir), func(t *testing.T) {
			whole := judge(ev, rules, opt, lines)
			for k := 0; k <= len(lines); k++ {
				ev, _ := load()
				require.Equal(t, whole, judge(ev, rules, opt, lines, k), "cut at line %d of %d", k, len(lines))
			}
			for _, cut := range [][2]int{{1, 2}, {len(lines) / 3, 2 * len(lines) / 3}, {len(lines) / 2, len(lines) - 1}} {
				if cut[0] < 0 || cut[0] > cut[1] || cut[1] > len(lines) {
					continue
				}
				ev, _ := load()
				require.Equal(t, whole, judge(ev, rules, opt, lines, cut[0], cut[1]), "cut at lines %v of %d", cut, len(lines))
				ev, _ = load()
				require.Equal(t, whole, judgeRight(ev, rules, opt, lines, cut[0], cut[1]), "cut at lines %v of %d, merged right first", cut, len(lines))
			}
		})
	}
}

// judge feeds lines to a judge and to forks of it starting at each cut,
// merges them in order and returns the rules' results and findings.
func judge(ev *checks.Evidence, rules []*checks.Rule, opt checks.Options, lines []checks.LogLine, cuts ...int) [2]any {
	j := checks.NewJudge(ev, rules, opt)
	bounds := append(append([]int{0}, cuts...), len(lines))
	parts := []*checks.Judge{j}
	for i := 1; i < len(bounds)-1; i++ {
		parts = append(parts, j.Fork(bounds[i]))
	}
	for i, p := range parts {
		for k := bounds[i]; k < bounds[i+1]; k++ {
			l := lines[k]
			p.Line(&l)
		}
	}
	for _, p := range parts[1:] {
		j.Merge(p)
	}
	res := j.Result()
	return [2]any{res.Rules, res.Findings}
}

// judgeRight is judge for three parts, the last two merged first.
func judgeRight(ev *checks.Evidence, rules []*checks.Rule, opt checks.Options, lines []checks.LogLine, a, b int) [2]any {
	j := checks.NewJudge(ev, rules, opt)
	f1, f2 := j.Fork(a), j.Fork(b)
	for k, l := range lines {
		switch {
		case k < a:
			j.Line(&l)
		case k < b:
			f1.Line(&l)
		default:
			f2.Line(&l)
		}
	}
	f1.Merge(f2)
	j.Merge(f1)
	res := j.Result()
	return [2]any{res.Rules, res.Findings}
}

// TestSpanPartsMergeIntoOnePass cuts the OTLP stream of every fixture case
// (its log records, then its spans) at every point, feeds the second part
// to a span feed of its own and merges it in: every rule must give exactly
// the findings, statuses and reasons of one pass. The part merged in is
// only read: merged into a second judge, it gives the same result again.
func TestSpanPartsMergeIntoOnePass(t *testing.T) {
	rules := catalogue.All()
	for _, dir := range checktest.Cases(t, "../../fixtures/cases") {
		want, err := checktest.ParseWant(filepath.Join(dir, "want.txt"))
		require.NoError(t, err)
		opt := checks.Options{ResolveProfile: true, Profile: want.Profile}
		load := func() *checks.Evidence {
			ev, err := bundle.LoadDir(dir, limits.Default)
			require.NoError(t, err)
			return ev
		}
		if ev := load(); len(ev.Spans)+len(ev.LogRecords) == 0 {
			continue
		}
		t.Run(filepath.Base(dir), func(t *testing.T) {
			ev := load()
			whole := checks.Run(ev, rules, opt)
			nr, n := len(ev.LogRecords), len(ev.LogRecords)+len(ev.Spans)
			for k := 0; k <= n; k++ {
				a, b := load(), load()
				ja, jb := checks.NewJudge(a, rules, opt), checks.NewJudge(b, rules, opt)
				later := ja.ForkSpans(max(0, k-nr))
				for i := range n {
					switch {
					case i < k && i < nr:
						r, r2 := a.LogRecords[i], b.LogRecords[i]
						ja.Record(&r)
						jb.Record(&r2)
					case i < k:
						s, s2 := a.Spans[i-nr], b.Spans[i-nr]
						ja.Span(&s)
						jb.Span(&s2)
					case i < nr:
						r := a.LogRecords[i]
						later.Record(&r)
					default:
						s := a.Spans[i-nr]
						later.Span(&s)
					}
				}
				ja.MergeSpans(later)
				jb.MergeSpans(later)
				for _, j := range []*checks.Judge{ja, jb} {
					j.Lines(a.Logs)
				}
				got, again := ja.Result(), jb.Result()
				require.Equal(t, [2]any{whole.Rules, whole.Findings}, [2]any{got.Rules, got.Findings}, "cut at %d of %d records and spans", k, n)
				require.Equal(t, [2]any{whole.Rules, whole.Findings}, [2]any{again.Rules, again.Findings}, "cut at %d of %d, the later part merged a second time", k, n)
				require.Equal(t, whole.Judged, got.Judged)
			}
		})
	}
}

// TestScrapePartsMergeIntoOnePass cuts the scrapes of every fixture case
// at every point (and in three parts at a few), feeds the later parts to
// scrape feeds of their own and merges them in order: every rule must give
// exactly the findings, statuses and reasons of one pass, and Judged the
// same counts. Cases with one scrape still cut before and after it.
func TestScrapePartsMergeIntoOnePass(t *testing.T) {
	rules := catalogue.All()
	cut := 0
	for _, dir := range checktest.Cases(t, "../../fixtures/cases") {
		want, err := checktest.ParseWant(filepath.Join(dir, "want.txt"))
		require.NoError(t, err)
		opt := checks.Options{ResolveProfile: true, Profile: want.Profile}
		load := func() *checks.Evidence {
			ev, err := bundle.LoadDir(dir, limits.Default)
			require.NoError(t, err)
			return ev
		}
		n := len(load().Scrapes)
		if n == 0 {
			continue
		}
		cut += max(0, n-1)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			whole := checks.Run(load(), rules, opt)
			judged := func(cuts ...int) checks.Result {
				ev := load()
				j := checks.NewJudge(ev, rules, opt)
				j.Spans(ev.Spans)
				j.Lines(ev.Logs)
				bounds := append(append([]int{}, cuts...), n)
				j.FeedScrapes(bounds[0], nil)
				var parts []*checks.ScrapeFeed
				for _, b := range bounds[1:] {
					f := j.ForkScrapes()
					j.FeedScrapes(b, f)
					parts = append(parts, f)
				}
				if len(parts) == 2 && cuts[0]%2 == 1 {
					parts[0].Merge(parts[1]) // merged right first
					parts = parts[:1]
				}
				for _, f := range parts {
					j.MergeScrapes(f)
				}
				return j.Result()
			}
			for k := 0; k <= n; k++ {
				got := judged(k)
				require.Equal(t, [2]any{whole.Rules, whole.Findings}, [2]any{got.Rules, got.Findings}, "cut at scrape %d of %d", k, n)
				require.Equal(t, whole.Judged, got.Judged)
				require.Equal(t, whole.Target, got.Target, "the profile resolves the same")
			}
			for a := 0; a <= n; a++ {
				for b := a; b <= n; b++ {
					got := judged(a, b)
					require.Equal(t, [2]any{whole.Rules, whole.Findings}, [2]any{got.Rules, got.Findings}, "cut at scrapes %d and %d of %d", a, b, n)
				}
			}
		})
	}
	require.Positive(t, cut, "no fixture case has two scrapes to cut between")
}
