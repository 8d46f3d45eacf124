// Package limits holds the caps on what obslint reads and keeps, and their
// documented defaults. Every front door takes them from here; the caps
// bound what is kept (lines, spans, a scrape's body), and for a stream the
// judge reads as it goes, never what is judged.
package limits

// Limits bound what is read and kept.
type Limits struct {
	MaxLineBytes   int   // longer log lines are truncated and flagged
	MaxLines       int   // log lines kept in memory (run, audit) or as examples and saved evidence
	MaxScrapeBytes int64 // larger expositions are truncated and flagged
	MaxSpans       int   // spans saved with --save-evidence and fetched from Jaeger; every span received is judged
}

// Default are the documented defaults.
var Default = Limits{MaxLineBytes: 1 << 20, MaxLines: 200_000, MaxScrapeBytes: 32 << 20, MaxSpans: 200_000}
