package main

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseProc(t *testing.T) {
	stat := "4242 (obslint (x) y) S 1 4242 4242 0 -1 4194560 2345 0 0 0 1234 567 0 0 20 0 12 0 100 200000000 5000 18446744073709551615"
	status := "Name:\tobslint\nVmPeak:\t 900000 kB\nVmHWM:\t   123456 kB\nVmRSS:\t 100000 kB\n"
	ps, err := parseProc(stat, status)
	require.NoError(t, err)
	require.InDelta(t, 18.01, ps.cpu, 1e-9)
	require.EqualValues(t, 123456, ps.peakRSSKiB)

	_, err = parseProc("4242 no parens", status)
	require.ErrorContains(t, err, "no command field")
	_, err = parseProc(stat, "VmRSS: 1 kB\n")
	require.ErrorContains(t, err, "no VmHWM")
	_, err = parseProc("1 (x) S 1 2", status)
	require.ErrorContains(t, err, "fields after the command")
}

func TestBuildRequestsSpreadsServices(t *testing.T) {
	reqs := buildRequests(1000, 500)
	seen := map[string]bool{}
	for _, r := range reqs {
		rss := r.Traces().ResourceSpans()
		for i := range rss.Len() {
			v, ok := rss.At(i).Resource().Attributes().Get("service.name")
			require.True(t, ok)
			seen[v.Str()] = true
		}
	}
	require.Len(t, seen, 1000)
	require.Len(t, buildRequests(10, 500), 10)
	require.Equal(t, 500, buildRequests(10, 500)[0].Traces().SpanCount())
}

func TestResultAdd(t *testing.T) {
	var sum result
	sum.add(result{Scenario: "s", Spans: 1_000_000, Seconds: 2, CPUSeconds: 3, PeakRSSMiB: 100})
	sum.add(result{Scenario: "s", Spans: 3_000_000, Seconds: 2, CPUSeconds: 1, PeakRSSMiB: 50, Errors: 2})
	require.InDelta(t, 1e6, sum.SpansPerSec, 1e-6)
	require.InDelta(t, 1.0, sum.CPUPerMillion, 1e-9)
	require.Equal(t, 100.0, sum.PeakRSSMiB)
	require.EqualValues(t, 2, sum.Errors)
}
