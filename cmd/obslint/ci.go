package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/obslint/obslint/checks"
	"github.com/obslint/obslint/internal/config"
	"github.com/obslint/obslint/internal/report"
)

// checkOutputPaths fails, before anything is launched, when a report could
// not be written: a two-minute run should not end in "no such directory".
// It creates nothing where the report will go, so a failing run leaves an
// old report in place rather than an empty one a CI step might upload.
func checkOutputPaths(outputs []report.Output) error {
	var errs []error
	seen := map[string]bool{}
	for _, o := range outputs {
		if o.Path == "-" {
			continue
		}
		flag := fmt.Sprintf("--output %s=%s", o.Format, o.Path)
		if key := filepath.Clean(o.Path); seen[key] {
			errs = append(errs, fmt.Errorf("%s: another --output writes this file too", flag))
			continue
		} else {
			seen[key] = true
		}
		if err := writable(o.Path); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", flag, err))
		}
	}
	return errors.Join(errs...)
}

// writable checks that path can be written: an existing regular file is
// opened for writing without truncating it, a new file's directory gets a
// probe file. Other existing files (/dev/null, a pipe) are left alone:
// opening a pipe would wait for a reader.
func writable(path string) error {
	if fi, err := os.Stat(path); err == nil {
		switch {
		case fi.IsDir():
			return errors.New("is a directory")
		case !fi.Mode().IsRegular():
			return nil
		}
		f, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err != nil {
			return err
		}
		return f.Close()
	}
	dir := filepath.Dir(path)
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("directory %s does not exist", dir)
	case err != nil:
		return err
	case !fi.IsDir():
		return fmt.Errorf("%s is not a directory", dir)
	}
	f, err := os.CreateTemp(dir, ".obslint-write-check-*")
	if err != nil {
		return fmt.Errorf("directory %s is not writable: %w", dir, err)
	}
	name := f.Name()
	f.Close()
	return os.Remove(name)
}

// reportOptions says where the CI formats point and what they judge by.
func (a *app) reportOptions(p plan) report.Options {
	opt := report.Options{Rules: a.rules(), FailOn: p.failOn}
	if src := p.cfg.Source; src != nil && src.File != "" {
		if rel := a.repoRelative(src.File); rel != "" {
			opt.Location = rel
			opt.Line = overrideLine(p.cfg)
			return opt
		}
	}
	opt.Location = a.workflowFile()
	return opt
}

// overrideLine anchors a rule's findings to its severity override, the
// one line of obslint.yaml that is about that rule.
func overrideLine(cfg config.Config) func(string) int {
	return func(rule string) int {
		if _, ok := cfg.Rules.Severity[rule]; ok {
			return cfg.Source.Line("rules::severity::" + rule)
		}
		return 0
	}
}

// repoRelative is path relative to the repository root as CI knows it
// (GITHUB_WORKSPACE, GitLab's CI_PROJECT_DIR), else to the working
// directory, with "/" separators; "" when it lies outside, since code
// scanning accepts only paths inside the checkout.
func (a *app) repoRelative(path string) string {
	root := a.getenv("GITHUB_WORKSPACE")
	if root == "" {
		root = a.getenv("CI_PROJECT_DIR")
	}
	if root == "" {
		wd, err := os.Getwd()
		if err != nil {
			return ""
		}
		root = wd
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return ""
	}
	rel, err := filepath.Rel(realPath(root), realPath(abs))
	if err != nil || rel == "." || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return ""
	}
	return filepath.ToSlash(rel)
}

// realPath resolves symlinks where it can (a runner's workspace may be
// one), and keeps the path as given where it cannot.
func realPath(p string) string {
	if r, err := filepath.EvalSymlinks(p); err == nil {
		return r
	}
	dir, file := filepath.Split(p)
	if r, err := filepath.EvalSymlinks(dir); err == nil {
		return filepath.Join(r, file)
	}
	return p
}

// workflowFile is the workflow that runs obslint, from GITHUB_WORKFLOW_REF
// ("owner/repo/.github/workflows/ci.yml@refs/heads/main"): a file that
// surely exists in the repo, where findings can point when there is no
// config file. "" outside GitHub Actions (the report's default then).
func (a *app) workflowFile() string {
	ref, _, _ := strings.Cut(a.getenv("GITHUB_WORKFLOW_REF"), "@")
	if i := strings.Index(ref, "/.github/workflows/"); i >= 0 {
		return ref[i+1:]
	}
	return ""
}

// annotate prints GitHub workflow commands, one per finding, when obslint
// runs in GitHub Actions, unless `--output github=-` already did. When
// standard output carries a report a program reads (json, sarif, junit)
// they go to standard error, which the runner reads for commands too.
func (a *app) annotate(res checks.Result, p plan, opt report.Options) error {
	if a.getenv("GITHUB_ACTIONS") != "true" {
		return nil
	}
	w := a.stdout
	for _, o := range p.outputs {
		if o.Path != "-" {
			continue
		}
		switch o.Format {
		case report.GitHub:
			return nil
		case report.JSON, report.SARIF, report.JUnit:
			w = a.stderr
		}
	}
	return report.Write(w, report.GitHub, res, opt)
}
