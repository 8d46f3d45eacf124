package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/obslint/obslint/internal/report"
)

// actionFile is the composite GitHub Action at the repository root.
var actionFile = filepath.Join("..", "..", "action.yml")

// action is the part of action.yml these tests read.
type action struct {
	Inputs  map[string]actionInput `yaml:"inputs"`
	Outputs map[string]struct {
		Value string `yaml:"value"`
	} `yaml:"outputs"`
	Runs struct {
		Using string       `yaml:"using"`
		Steps []actionStep `yaml:"steps"`
	} `yaml:"runs"`
}

type actionInput struct {
	Description string `yaml:"description"`
	Default     string `yaml:"default"`
}

type actionStep struct {
	ID    string            `yaml:"id"`
	Name  string            `yaml:"name"`
	If    string            `yaml:"if"`
	Uses  string            `yaml:"uses"`
	Run   string            `yaml:"run"`
	Shell string            `yaml:"shell"`
	Env   map[string]string `yaml:"env"`
	With  map[string]string `yaml:"with"`
}

// loadAction parses action.yml twice over: as the struct above, and as a
// node tree so that every string in it can be searched for references.
func loadAction(t *testing.T) (action, *yaml.Node) {
	t.Helper()
	b, err := os.ReadFile(actionFile)
	require.NoError(t, err)
	var root yaml.Node
	require.NoError(t, yaml.Unmarshal(b, &root))
	var a action
	require.NoError(t, root.Decode(&a))
	require.Equal(t, "composite", a.Runs.Using)
	require.NotEmpty(t, a.Runs.Steps)
	return a, &root
}

var (
	// subcommandRe finds a command line `obslint SUBCOMMAND …` (after
	// optional VAR=value words), not the word obslint in a message or
	// the `./cmd/obslint` of a build line.
	subcommandRe = regexp.MustCompile(`(?m)^\s*(?:[A-Za-z_][A-Za-z0-9_]*=\S*\s+)*obslint\s+([a-z][a-z-]*)`)
	longFlagRe   = regexp.MustCompile(`(?:^|[\s"'(\x60])--([a-z][a-z0-9-]*)`)
	outputFmtRe  = regexp.MustCompile(`--output\s+["']?([A-Za-z]+)=`)
	inputRefRe   = regexp.MustCompile(`\binputs\.([A-Za-z0-9_-]+)`)
	stepRefRe    = regexp.MustCompile(`\bsteps\.([A-Za-z0-9_-]+)\.outputs\.([A-Za-z0-9_-]+)`)
	envRefRe     = regexp.MustCompile(`\$\{?(INPUT_[A-Z0-9_]+)`)
	writtenOutRe = regexp.MustCompile(`(?m)^\s*echo "([a-z0-9-]+)=`)
)

// withoutComments drops whole-line shell comments, so prose may mention
// obslint and flags freely.
func withoutComments(script string) string {
	var keep []string
	for line := range strings.SplitSeq(script, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(line), "#") {
			keep = append(keep, line)
		}
	}
	return strings.Join(keep, "\n")
}

// subcommand returns the obslint command the CLI builds under name.
func subcommand(root *cobra.Command, name string) *cobra.Command {
	for _, c := range root.Commands() {
		if c.Name() == name {
			return c
		}
	}
	return nil
}

func hasFlag(c *cobra.Command, name string) bool {
	return c.Flags().Lookup(name) != nil || c.InheritedFlags().Lookup(name) != nil
}

// TestActionFlagsAreRealFlags checks every --flag the action passes to
// obslint, and every --output format, against the command tree the CLI
// really builds: a renamed flag must break this test, not users' CI.
func TestActionFlagsAreRealFlags(t *testing.T) {
	a, _ := loadAction(t)
	root := newApp(nil, io.Discard, io.Discard).rootCommand()
	calls := 0
	for _, s := range a.Runs.Steps {
		script := withoutComments(s.Run)
		subs := subcommandRe.FindAllStringSubmatch(script, -1)
		if len(subs) == 0 {
			continue
		}
		calls += len(subs)
		// Flags are assembled in arrays before the call, so a script may
		// call only one subcommand for them to be attributed to it.
		require.Len(t, subs, 1, "step %q calls obslint more than once", s.Name)
		cmd := subcommand(root, subs[0][1])
		require.NotNil(t, cmd, "step %q: obslint has no %q command", s.Name, subs[0][1])
		for _, m := range longFlagRe.FindAllStringSubmatch(script, -1) {
			assert.True(t, hasFlag(cmd, m[1]), "step %q passes --%s, which obslint %s does not have", s.Name, m[1], cmd.Name())
		}
		formats := outputFmtRe.FindAllStringSubmatch(script, -1)
		require.NotEmpty(t, formats, "step %q writes no --output report", s.Name)
		for _, m := range formats {
			_, err := report.ParseFormat(m[1])
			assert.NoError(t, err, "step %q: --output %s=…", s.Name, m[1])
		}
	}
	require.Equal(t, 1, calls, "the action runs obslint exactly once")

	// Inputs document the flag they stand for; that must exist too.
	run := subcommand(root, "run")
	for name, in := range a.Inputs {
		for _, m := range longFlagRe.FindAllStringSubmatch(in.Description, -1) {
			assert.True(t, hasFlag(run, m[1]), "input %q mentions --%s, which obslint run does not have", name, m[1])
		}
	}
}

// scalars returns every string in the tree: keys, values, scripts.
func scalars(n *yaml.Node) []string {
	if n.Kind == yaml.ScalarNode {
		return []string{n.Value}
	}
	var out []string
	for _, c := range n.Content {
		out = append(out, scalars(c)...)
	}
	return out
}

// section returns the value of a top-level key of the document.
func section(t *testing.T, doc *yaml.Node, key string) *yaml.Node {
	t.Helper()
	require.Equal(t, yaml.DocumentNode, doc.Kind)
	m := doc.Content[0]
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	t.Fatalf("action.yml has no %s", key)
	return nil
}

// TestActionInputsAreDeclaredAndUsed: an input nobody reads is a knob that
// does nothing, and a reference to an undeclared input is silently empty.
func TestActionInputsAreDeclaredAndUsed(t *testing.T) {
	a, doc := loadAction(t)
	used := map[string]bool{}
	for _, key := range []string{"runs", "outputs"} {
		for _, s := range scalars(section(t, doc, key)) {
			for _, m := range inputRefRe.FindAllStringSubmatch(s, -1) {
				used[m[1]] = true
				assert.Contains(t, a.Inputs, m[1], "inputs.%s is referenced but not declared", m[1])
			}
		}
	}
	for _, name := range slices.Sorted(maps.Keys(a.Inputs)) {
		assert.True(t, used[name], "input %q is declared but never used", name)
		assert.NotEmpty(t, a.Inputs[name].Description, "input %q has no description", name)
	}
}

// TestActionStepReferences checks each steps.ID.outputs.NAME names a step
// that exists and, for the action's own scripts, an output it writes.
func TestActionStepReferences(t *testing.T) {
	a, doc := loadAction(t)
	written := map[string][]string{}
	for _, s := range a.Runs.Steps {
		if s.ID != "" {
			written[s.ID] = nil
			for _, m := range writtenOutRe.FindAllStringSubmatch(s.Run, -1) {
				written[s.ID] = append(written[s.ID], m[1])
			}
		}
	}
	refs := 0
	for _, key := range []string{"runs", "outputs"} {
		for _, s := range scalars(section(t, doc, key)) {
			for _, m := range stepRefRe.FindAllStringSubmatch(s, -1) {
				refs++
				outs, ok := written[m[1]]
				if assert.True(t, ok, "steps.%s: no step has that id", m[1]) {
					assert.Contains(t, outs, m[2], "steps.%s.outputs.%s is never written", m[1], m[2])
				}
			}
		}
	}
	assert.NotZero(t, refs)
}

// TestActionScriptHygiene: every `run:` step names its shell (composite
// actions have no default), takes inputs only through env (an expression
// inside a script is a shell-injection hole), and reads only env it sets.
func TestActionScriptHygiene(t *testing.T) {
	a, _ := loadAction(t)
	for _, s := range a.Runs.Steps {
		if s.Run == "" {
			assert.NotEmpty(t, s.Uses, "step %q neither runs nor uses anything", s.Name)
			continue
		}
		assert.Equal(t, "bash", s.Shell, "step %q", s.Name)
		assert.NotContains(t, s.Run, "${{", "step %q: expressions belong in env:, not in the script", s.Name)
		for _, m := range envRefRe.FindAllStringSubmatch(s.Run, -1) {
			assert.Contains(t, s.Env, m[1], "step %q reads $%s but does not set it", s.Name, m[1])
		}
	}
}

// step returns the step called name.
func step(t *testing.T, a action, name string) actionStep {
	t.Helper()
	for _, s := range a.Runs.Steps {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("action.yml has no step %q", name)
	return actionStep{}
}

// exprRe reads the `${{ inputs.x }}` / `${{ steps.x.outputs.y }}` an env
// value is bound to.
var exprRe = regexp.MustCompile(`^\$\{\{\s*([a-z]+)\.([A-Za-z0-9_.-]+)\s*\}\}$`)

// stepRun is one execution of a step's script, the way the runner does it.
type stepRun struct {
	code           int
	stdout, stderr string
	outputs        map[string]string
	summary        string
}

// runStep runs a step's script with bash as GitHub does (`bash --noprofile
// --norc -eo pipefail`), in dir, with PATH led by fakeBin. Its env comes
// from the step's own env block: inputs take their defaults unless given in
// values, and anything else must be in values, whose other entries are
// added as they are.
func runStep(t *testing.T, s actionStep, dir, fakeBin string, inputs action, values map[string]string) stepRun {
	t.Helper()
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("bash is not installed")
	}
	tmp := t.TempDir()
	script := filepath.Join(tmp, "step.sh")
	require.NoError(t, os.WriteFile(script, []byte(s.Run), 0o644))
	outFile, summaryFile := filepath.Join(tmp, "output"), filepath.Join(tmp, "summary")
	env := []string{
		"PATH=" + fakeBin + string(os.PathListSeparator) + os.Getenv("PATH"),
		"RUNNER_TEMP=" + tmp, "GITHUB_OUTPUT=" + outFile, "GITHUB_STEP_SUMMARY=" + summaryFile,
		"GITHUB_ACTIONS=true",
	}
	for name, expr := range s.Env {
		v, ok := values[name]
		if m := exprRe.FindStringSubmatch(expr); !ok && m != nil && m[1] == "inputs" {
			in, declared := inputs.Inputs[m[2]]
			require.True(t, declared, expr)
			v, ok = in.Default, true
		}
		require.True(t, ok, "step %q: the test gives no value for %s (%s)", s.Name, name, expr)
		env = append(env, name+"="+v)
	}
	// The rest of values is what the runner or the fake adds.
	for name, v := range values {
		if _, inStep := s.Env[name]; !inStep {
			env = append(env, name+"="+v)
		}
	}
	cmd := exec.Command(bash, "--noprofile", "--norc", "-eo", "pipefail", script)
	cmd.Dir, cmd.Env = dir, env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	r := stepRun{outputs: map[string]string{}}
	var exit *exec.ExitError
	if err := cmd.Run(); errors.As(err, &exit) {
		r.code = exit.ExitCode()
	} else {
		require.NoError(t, err)
	}
	r.stdout, r.stderr = stdout.String(), stderr.String()
	if b, err := os.ReadFile(outFile); err == nil {
		for line := range strings.SplitSeq(strings.TrimSpace(string(b)), "\n") {
			k, v, _ := strings.Cut(line, "=")
			r.outputs[k] = v
		}
	}
	if b, err := os.ReadFile(summaryFile); err == nil {
		r.summary = string(b)
	}
	return r
}

// fakeObslint is an obslint that records its arguments one per line, writes
// the SARIF and Markdown files it is asked for, and exits with $FAKE_RC.
const fakeObslint = `#!/bin/sh
printf '%s\n' "$@" > "$FAKE_ARGS"
for a in "$@"; do
  case "$a" in
    sarif=*) echo '{"version":"2.1.0","runs":[{"automationDetails":{"id":"obslint/fake/"},
      "results":[{"locations":[{"physicalLocation":{"artifactLocation":{"uri":"obslint.yaml"}}}]}]}]}' > "${a#sarif=}" ;;
    markdown=*) echo '| rule | status |' > "${a#markdown=}" ;;
  esac
done
exit "$FAKE_RC"
`

// TestActionRunStep runs the action's "Run obslint" script against a fake
// obslint: the arguments it builds from the inputs, the exit code it keeps
// for the verdict, and the rule that an exit 2 uploads no SARIF (an empty
// upload would close every open alert as fixed).
func TestActionRunStep(t *testing.T) {
	a, _ := loadAction(t)
	runScript := step(t, a, "Run obslint")
	fakeBin := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(fakeBin, "obslint"), []byte(fakeObslint), 0o755))

	cases := []struct {
		name       string
		rc         string
		subdir     string // of the workspace, where the step runs
		inputs     map[string]string
		wantArgs   []string // after the three --output flags
		wantUpload bool
		category   string // the SARIF run's automationDetails.id afterwards
		uri        string // and its result's location
	}{
		{
			name: "defaults, findings", rc: "1",
			wantArgs: nil, wantUpload: true, category: "obslint/fake/", uri: "obslint.yaml",
		},
		{
			// obslint makes paths repo-relative itself; the action leaves them.
			name: "service in a subdirectory", rc: "1", subdir: "services/api",
			wantArgs: nil, wantUpload: true, category: "obslint/fake/", uri: "obslint.yaml",
		},
		{
			name: "every input", rc: "0",
			inputs: map[string]string{
				"INPUT_COMMAND": "node  server.js --port 0", "INPUT_PROFILE": "node", "INPUT_BASELINE": "obslint-baseline.json",
				"INPUT_ARGS": "--timeout 3m --span-wait 5s", "INPUT_FAIL_ON": "warning", "INPUT_CATEGORY": "obslint/staging/",
			},
			wantArgs:   []string{"--profile", "node", "--baseline", "obslint-baseline.json", "--timeout", "3m", "--span-wait", "5s", "--", "node", "server.js", "--port", "0"},
			wantUpload: true, category: "obslint/staging/", uri: "obslint.yaml",
		},
		{
			name: "could not judge", rc: "2",
			inputs:   map[string]string{"INPUT_ARGS": "$(touch pwned) `touch pwned`; touch pwned"},
			wantArgs: []string{"$(touch", "pwned)", "`touch", "pwned`;", "touch", "pwned"}, wantUpload: false,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := exec.LookPath("jq"); err != nil && tc.inputs["INPUT_CATEGORY"] != "" {
				t.Skip("jq is not installed")
			}
			workspace := t.TempDir()
			dir := filepath.Join(workspace, tc.subdir)
			require.NoError(t, os.MkdirAll(dir, 0o755))
			argsFile := filepath.Join(t.TempDir(), "args")
			values := map[string]string{"FAKE_RC": tc.rc, "FAKE_ARGS": argsFile, "GITHUB_WORKSPACE": workspace}
			maps.Copy(values, tc.inputs)
			r := runStep(t, runScript, dir, fakeBin, a, values)
			require.Equal(t, 0, r.code, "the step itself succeeds; the verdict comes last\n%s", r.stderr)
			assert.Equal(t, tc.rc, r.outputs["exit-code"])
			assert.NoFileExists(t, filepath.Join(dir, "pwned"), "inputs are words, never shell")

			b, err := os.ReadFile(argsFile)
			require.NoError(t, err)
			got := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
			require.GreaterOrEqual(t, len(got), 13, got)
			sarif := filepath.Join(dir, "obslint.sarif")
			failOn := cmpDefault(tc.inputs["INPUT_FAIL_ON"], a.Inputs["fail-on"].Default)
			assert.Equal(t, []string{"run", "--config", "obslint.yaml", "--fail-on", failOn, "--format", "text",
				"--output", "sarif=" + sarif, "--output", "markdown=" + r.outputs["markdown-report"],
				"--output", "json=" + r.outputs["json-report"]}, got[:13])
			assert.Equal(t, tc.wantArgs, nilIfEmpty(got[13:]))

			if tc.wantUpload {
				assert.Equal(t, "true", r.outputs["upload"])
				assert.Equal(t, sarif, r.outputs["sarif-file"])
				var log struct {
					Runs []struct {
						AutomationDetails struct{ ID string } `json:"automationDetails"`
						Results           []struct {
							Locations []struct {
								PhysicalLocation struct {
									ArtifactLocation struct{ URI string } `json:"artifactLocation"`
								} `json:"physicalLocation"`
							} `json:"locations"`
						} `json:"results"`
					} `json:"runs"`
				}
				b, err := os.ReadFile(sarif)
				require.NoError(t, err)
				require.NoError(t, json.Unmarshal(b, &log), "%s", b)
				require.Len(t, log.Runs, 1)
				assert.Equal(t, tc.category, log.Runs[0].AutomationDetails.ID)
				require.Len(t, log.Runs[0].Results, 1)
				assert.Equal(t, tc.uri, log.Runs[0].Results[0].Locations[0].PhysicalLocation.ArtifactLocation.URI)
			} else {
				assert.NotContains(t, r.outputs, "upload")
				assert.NotContains(t, r.outputs, "sarif-file")
			}
		})
	}
}

func cmpDefault(v, def string) string {
	if v != "" {
		return v
	}
	return def
}

func nilIfEmpty(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}

// TestActionSummaryAndVerdict: the Markdown lands in the step summary,
// capped below GitHub's 1 MiB, and the last step fails with obslint's code.
func TestActionSummaryAndVerdict(t *testing.T) {
	a, _ := loadAction(t)
	summary, verdict := step(t, a, "Write the job summary"), step(t, a, "Verdict")
	for _, s := range []actionStep{summary, verdict} {
		assert.Contains(t, s.If, "always()", "step %q must run when obslint found problems", s.Name)
	}

	md := filepath.Join(t.TempDir(), "summary.md")
	require.NoError(t, os.WriteFile(md, []byte("| rule | status |\n"), 0o644))
	r := runStep(t, summary, t.TempDir(), t.TempDir(), a, map[string]string{"SUMMARY": md})
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, "| rule | status |\n", r.summary)

	require.NoError(t, os.WriteFile(md, bytes.Repeat([]byte("x"), 2<<20), 0o644))
	r = runStep(t, summary, t.TempDir(), t.TempDir(), a, map[string]string{"SUMMARY": md})
	require.Equal(t, 0, r.code, r.stderr)
	assert.Less(t, len(r.summary), 1<<20)
	assert.Contains(t, r.summary, "summary cut at")

	for rc, want := range map[string]int{"0": 0, "1": 1, "2": 2} {
		r := runStep(t, verdict, t.TempDir(), t.TempDir(), a, map[string]string{"RC": rc})
		assert.Equal(t, want, r.code, "exit code %s", rc)
		if want != 0 {
			assert.Contains(t, r.stdout, "::error ")
		}
	}
}
