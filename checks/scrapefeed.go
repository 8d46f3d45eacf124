package checks

import (
	"fmt"
	"runtime"
	"sync"
)

// ScrapeJudge is what a metrics rule keeps while scrapes flow past: it is
// fed every scrape once, in order, parsed, and keeps what it needs of it
// (messages per family, the values of the previous scrape, a few small
// families), never the scrapes themselves. Finish reports like a Check.
//
// Merge folds in the state of a judge of the same rule fed the scrapes
// that came right after this one's, so that a series of scrapes judged in
// parts gives exactly the findings of one pass. A rule that compares a
// scrape with the one before needs the first scrape of the later part: a
// judge made for a later part is told so (FirstKeeper) before it is fed.
type ScrapeJudge interface {
	// Scrape judges one scrape. Its Families and Body are borrowed: what
	// outlives the call must be copied out (a family kept whole is fine,
	// the parser does not reuse them).
	Scrape(s *Scrape)
	// Merge folds in later, a judge of the same rule fed the scrapes that
	// follow this judge's. later is not used afterwards.
	Merge(later ScrapeJudge)
	Finish(p *Pass)
}

// FirstKeeper is a ScrapeJudge that compares consecutive scrapes: made for
// a part of the series that does not start at its first scrape, it is
// told to keep what the comparison needs of its first parsed scrape, for
// the judge of the part before it to compare its last scrape with.
type FirstKeeper interface {
	KeepFirst()
}

// ScrapeFeed is the metrics part of a judge: the state of every rule with
// a ScrapeJudge, fed the parsed scrapes in order. Feeds of consecutive
// parts of the series merge in order. A Judge has one, fed in Result;
// ForkScrapes makes another for a part judged apart.
type ScrapeFeed struct {
	rules  []*Rule
	judges []ScrapeJudge
	broken []string
	// stack is what the last parsed scrape fed said about the profile
	// (metricsProfile); parsed tells whether there was one.
	stack  [2]string
	parsed bool
}

// NewScrapeFeed prepares the scrape rules for a series of scrapes about ev
// (its probes and expectations); fork makes it the feed of a later part.
func NewScrapeFeed(ev *Evidence, rules []*Rule, opt Options, fork bool) *ScrapeFeed {
	f := &ScrapeFeed{rules: rules, judges: make([]ScrapeJudge, len(rules)), broken: make([]string, len(rules))}
	for i, r := range rules {
		if _, off := disabledReason(opt.Disabled, r.ID); off || r.Scrapes == nil {
			continue
		}
		// Whether the scrapes parse is only known once they are fed:
		// Result tells the missing evidence then.
		f.guard(i, func() {
			f.judges[i] = r.Scrapes(ev)
			if k, ok := f.judges[i].(FirstKeeper); ok && fork {
				k.KeepFirst()
			}
		})
	}
	return f
}

// Scrape gives one scrape, parsed and with its Index set, to every judge,
// each on its own goroutine as a core frees up: they only read it.
func (f *ScrapeFeed) Scrape(s *Scrape) {
	if s.Parsed() {
		f.stack[0], f.stack[1] = metricsProfile(s.Families)
		f.parsed = true
	}
	var readers []int
	for i, sj := range f.judges {
		if sj != nil {
			readers = append(readers, i)
		}
	}
	work := make(chan int)
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(readers)) {
		wg.Go(func() {
			for i := range work {
				f.guard(i, func() { f.judges[i].Scrape(s) })
			}
		})
	}
	for _, i := range readers {
		work <- i
	}
	close(work)
	wg.Wait()
}

// Merge folds in a feed of the scrapes that came right after f's; later is
// not used afterwards.
func (f *ScrapeFeed) Merge(later *ScrapeFeed) {
	if later.parsed {
		f.stack, f.parsed = later.stack, true
	}
	mergeStates(f.judges, later.judges, f.broken, later.broken, f.guard, ScrapeJudge.Merge)
}

// guard runs fn for rule i, turning a panic into the rule's internal error.
// Each goroutine of Scrape writes only rule i's slots.
func (f *ScrapeFeed) guard(i int, fn func()) {
	defer func() {
		if v := recover(); v != nil {
			f.judges[i] = nil
			f.broken[i] = fmt.Sprintf("internal error in rule %s: %v (please report it)", f.rules[i].ID, v)
		}
	}()
	fn()
}
