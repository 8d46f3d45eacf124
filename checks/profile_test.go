package checks

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func scrapeOf(t *testing.T, body string) Scrape {
	t.Helper()
	fams, err := ParseExposition([]byte(body), "")
	require.NoError(t, err)
	return Scrape{Status: 200, Families: fams}
}

func logsOf(raws ...string) []LogLine {
	var out []LogLine
	for i, r := range raws {
		out = append(out, ParseLogLine("stdout", i+1, r))
	}
	return out
}

func TestDetectProfile(t *testing.T) {
	pySpan := Span{Name: "GET /", Resource: map[string]any{"telemetry.sdk.language": "python"}}
	nodeSpan := Span{Name: "GET /", Resource: map[string]any{"telemetry.sdk.language": "nodejs"}}
	tests := []struct {
		name    string
		ev      func(t *testing.T) *Evidence
		profile string
		reason  string
	}{
		{"nothing", func(*testing.T) *Evidence { return &Evidence{} }, "", "no SDK language, default metrics or log shape to go by"},
		{"python spans", func(*testing.T) *Evidence { return &Evidence{Spans: []Span{pySpan}} }, ProfilePython, `spans carry telemetry.sdk.language="python"`},
		{"node spans", func(*testing.T) *Evidence { return &Evidence{Spans: []Span{nodeSpan}} }, ProfileNode, `spans carry telemetry.sdk.language="nodejs"`},
		{"webjs spans", func(*testing.T) *Evidence {
			return &Evidence{Spans: []Span{{Resource: map[string]any{"telemetry.sdk.language": "webjs"}}}}
		}, ProfileNode, `spans carry telemetry.sdk.language="webjs"`},
		{"unknown language falls through to metrics", func(t *testing.T) *Evidence {
			return &Evidence{
				Spans:   []Span{{Resource: map[string]any{"telemetry.sdk.language": "go"}}},
				Scrapes: []Scrape{scrapeOf(t, "python_info{version=\"3.12\"} 1\n")},
			}
		}, ProfilePython, "metrics expose the Python default python_info"},
		{"spans win over metrics and logs", func(t *testing.T) *Evidence {
			return &Evidence{
				Spans:   []Span{pySpan},
				Scrapes: []Scrape{scrapeOf(t, "nodejs_heap_size_total_bytes 1\n")},
				Logs:    logsOf(`{"message":"x"}`),
			}
		}, ProfilePython, `spans carry telemetry.sdk.language="python"`},
		{"node metrics", func(t *testing.T) *Evidence {
			return &Evidence{Scrapes: []Scrape{scrapeOf(t, "app_requests_total 1\nnodejs_eventloop_lag_seconds 0.1\n")}}
		}, ProfileNode, "metrics expose the Node.js default nodejs_eventloop_lag_seconds"},
		{"prefixed node metrics", func(t *testing.T) *Evidence {
			return &Evidence{Scrapes: []Scrape{scrapeOf(t, "app_nodejs_heap_size_total_bytes 1\n")}}
		}, ProfileNode, "metrics expose the Node.js default app_nodejs_heap_size_total_bytes"},
		{"python gc metrics", func(t *testing.T) *Evidence {
			return &Evidence{Scrapes: []Scrape{scrapeOf(t, "python_gc_objects_collected_total{generation=\"0\"} 1\n")}}
		}, ProfilePython, "metrics expose the Python default python_gc_objects_collected_total"},
		{"only the last parsed scrape counts", func(t *testing.T) *Evidence {
			return &Evidence{Scrapes: []Scrape{scrapeOf(t, "nodejs_version_info 1\n"), scrapeOf(t, "up 1\n"), {Err: "timeout"}}}
		}, "", "no SDK language, default metrics or log shape to go by"},
		{"structlog logs", func(*testing.T) *Evidence {
			return &Evidence{Logs: logsOf(`{"event":"a"}`, `{"event":"b"}`, `{"message":"c"}`, `not json`)}
		}, ProfilePython, `log lines carry structlog's "event" key`},
		{"winston logs", func(*testing.T) *Evidence {
			return &Evidence{Logs: logsOf(`{"message":"a","level":"info"}`, `{"msg":"b"}`)}
		}, ProfileNode, `log lines carry winston's "message" key`},
		{"a tie tells nothing", func(*testing.T) *Evidence {
			return &Evidence{Logs: logsOf(`{"message":"a"}`, `{"event":"b"}`)}
		}, "", "no SDK language, default metrics or log shape to go by"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			profile, reason := DetectProfile(tt.ev(t))
			assert.Equal(t, tt.profile, profile)
			assert.Equal(t, tt.reason, reason)
		})
	}
}

func TestResolveProfile(t *testing.T) {
	nodeLogs := func() *Evidence { return &Evidence{Logs: logsOf(`{"message":"a"}`)} }
	tests := []struct {
		configured, profile, reason string
	}{
		{ProfilePython, ProfilePython, "configured (--profile or profile: in obslint.yaml)"},
		{ProfileAuto, ProfileNode, `log lines carry winston's "message" key`},
		{"", ProfileNode, `log lines carry winston's "message" key`},
	}
	for _, tt := range tests {
		t.Run("configured="+tt.configured, func(t *testing.T) {
			res := Run(nodeLogs(), nil, Options{ResolveProfile: true, Profile: tt.configured})
			assert.Equal(t, tt.profile, res.Target.Profile)
			assert.Equal(t, tt.reason, res.Target.ProfileReason)
		})
	}
	res := Run(&Evidence{Target: Target{Profile: ProfileNode}}, nil, Options{ResolveProfile: true, Profile: ProfileAuto})
	assert.Equal(t, "", res.Target.Profile, "auto detects afresh, even over an earlier value")
	res = Run(&Evidence{Target: Target{Profile: ProfileNode}}, nil, Options{})
	assert.Equal(t, ProfileNode, res.Target.Profile, "without ResolveProfile the profile stands")
}
