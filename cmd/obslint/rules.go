package main

import (
	"fmt"
	"github.com/obslint/obslint/internal/config"
	"strings"

	"github.com/spf13/cobra"

	"github.com/obslint/obslint/checks"
	"github.com/obslint/obslint/internal/report"
)

func (a *app) rulesCommand() *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "rules",
		Short: "List every rule with its severity and summary",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			f, err := report.ParseRulesFormat(format)
			if err != nil {
				return err
			}
			return report.WriteRules(a.stdout, f, a.rules())
		},
	}
	cmd.Flags().StringVar(&format, "format", "text", "output format: text, json or markdown (the rule reference, docs/rules.md)")
	return cmd
}

func (a *app) explainCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "explain RULE-ID",
		Short: "Explain a rule: why it matters and how to fix it in Node and Python",
		Args:  cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			r := a.lookup(args[0])
			if r == nil {
				return a.unknownRule(args[0])
			}
			return report.Explain(a.stdout, r)
		},
	}
}

func (a *app) lookup(id string) *checks.Rule {
	for _, r := range a.rules() {
		if r.ID == id {
			return r
		}
	}
	return nil
}

// unknownRule names the rule and suggests the closest known ID.
func (a *app) unknownRule(id string) error {
	var ids []string
	for _, r := range a.rules() {
		ids = append(ids, r.ID)
	}
	if s := closest(id, ids); s != "" {
		return fmt.Errorf("unknown rule %s; did you mean %s?", id, s)
	}
	return fmt.Errorf("unknown rule %s (see obslint rules)", id)
}

// closest returns the candidate nearest to s by edit distance. A query
// without a signal ("counter-suffix") is also compared with the part of
// each ID after the slash.
func closest(s string, candidates []string) string {
	best, bestDist := "", -1
	for _, c := range candidates {
		d := config.EditDistance(s, c)
		if _, name, ok := strings.Cut(c, "/"); ok && !strings.Contains(s, "/") {
			d = min(d, config.EditDistance(s, name))
		}
		if bestDist < 0 || d < bestDist {
			best, bestDist = c, d
		}
	}
	return best
}
