package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/obslint/obslint/internal/config"
	"github.com/obslint/obslint/internal/jaeger"
	"github.com/obslint/obslint/internal/runner"
)

type auditFlags struct {
	runFlags
	logs          string
	logsFromStart bool
	otlpListen    string
	jaeger        string
	jaegerAPI     string
	service       string
}

func (a *app) auditCommand() *cobra.Command {
	var f auditFlags
	cmd := &cobra.Command{
		Use:   "audit --url BASE [--metrics-url URL] [--logs FILE|-] [--otlp-listen ADDR | --jaeger ADDR] [--service NAME]",
		Short: "Probe and scrape a service that is already running, read its logs and traces, and judge them",
		Long: "audit sends the probe plan of run (and the metrics scrapes) to a running service and nothing else.\n" +
			"Logs come from a file, followed from its end (or --logs-from-start), or from standard input (--logs -).\n" +
			"Traces come from the embedded OTLP receiver (--otlp-listen; point the service's exporter at it)\n" +
			"or from Jaeger (--jaeger), which is asked for exactly the traces of the probes.\n" +
			"Without a log or trace source, those rules come out not evaluated. See docs/audit.md.",
		Example: "  obslint audit --url http://127.0.0.1:3000 --logs /var/log/app.log --otlp-listen 127.0.0.1:4317\n" +
			"  kubectl logs -f --tail=0 deploy/users | obslint audit --url http://users:3000 --logs - --jaeger jaeger-query:16685",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return a.audit(cmd, &f) },
	}
	fs := cmd.Flags()
	f.registerCapture(cmd, "the running service's base URL (required here or as url: in the config)",
		"bound on the whole audit", "how long to wait for the probes' spans (longer than the exporter's batch delay)")
	fs.StringVar(&f.logs, "logs", "", "the service's log file, followed during the audit, or - for standard input")
	fs.BoolVar(&f.logsFromStart, "logs-from-start", false, "read the whole --logs file, not only the lines written during the audit")
	fs.StringVar(&f.otlpListen, "otlp-listen", "", "run the embedded OTLP receiver: HOST:PORT (gRPC there, HTTP on PORT+1)\n"+
		"or grpc=HOST:PORT,http=HOST:PORT")
	fs.StringVar(&f.jaeger, "jaeger", "", "pull the probes' traces from this Jaeger query service (host:port, grpc://… or http://…)")
	fs.StringVar(&f.jaegerAPI, "jaeger-api", "auto", "Jaeger query API: auto, grpc (api_v2, :16685) or http (api_v3, :16686)")
	fs.StringVar(&f.service, "service", "", "keep only telemetry whose resource service.name is NAME (a shared collector or trace)")
	return cmd
}

func (a *app) audit(cmd *cobra.Command, f *auditFlags) error {
	p, err := a.resolve(cmd, &f.judgeFlags)
	s, ferr := f.settings()
	if err := errors.Join(err, ferr); err != nil {
		return err
	}
	cfg, err := f.mergeCapture(cmd, p.cfg)
	if err != nil {
		return err
	}
	if cfg.URL == "" {
		return errors.New("no URL to audit: give --url, e.g. obslint audit --url http://127.0.0.1:3000, or set url in " + config.FileName)
	}
	cfg.Profile = p.profile
	p.cfg = cfg
	s.Config, s.Limits, s.Stdin = cfg, p.limits, a.stdin
	return a.captureAndJudge(&f.runFlags, p, "audit", func(ctx context.Context, progress func(string)) (*runner.Capture, error) {
		s.Progress = progress
		return a.auditCapture(ctx, s)
	})
}

// settings checks the audit's own flags; every error is reported at once.
func (f *auditFlags) settings() (runner.AuditSettings, error) {
	s := runner.AuditSettings{Logs: f.logs, LogsFromStart: f.logsFromStart, Jaeger: f.jaeger, Service: f.service}
	var errs []error
	if f.otlpListen != "" {
		grpc, http, err := parseOTLPListen(f.otlpListen)
		if err != nil {
			errs = append(errs, err)
		}
		s.OTLP, s.OTLPGRPC, s.OTLPHTTP = true, grpc, http
	}
	switch f.jaegerAPI {
	case "auto":
		s.JaegerAPI = jaeger.APIAuto
	case "grpc":
		s.JaegerAPI = jaeger.APIGRPC
	case "http":
		s.JaegerAPI = jaeger.APIHTTP
	default:
		errs = append(errs, fmt.Errorf("--jaeger-api: %q is not one of auto, grpc, http", f.jaegerAPI))
	}
	if f.otlpListen != "" && f.jaeger != "" {
		errs = append(errs, errors.New("--otlp-listen and --jaeger: give one trace source"))
	}
	if f.logsFromStart && (f.logs == "" || f.logs == "-") {
		errs = append(errs, errors.New("--logs-from-start needs --logs FILE"))
	}
	return s, errors.Join(errs...)
}

// parseOTLPListen reads HOST:PORT (gRPC on PORT, HTTP on PORT+1, the
// 4317/4318 pairing) or grpc=HOST:PORT,http=HOST:PORT (either may be left
// out: it then takes the conventional port when free, else a free one).
func parseOTLPListen(v string) (grpc, http string, err error) {
	bad := func(format string, args ...any) (string, string, error) {
		return "", "", fmt.Errorf("--otlp-listen %q: %s", v, fmt.Sprintf(format, args...))
	}
	if !strings.Contains(v, "=") {
		host, port, err := splitHostPort(v)
		if err != nil {
			return bad("%v", err)
		}
		if port >= 65535 {
			return bad("port %d leaves no room for HTTP on the next port: use grpc=…,http=…", port)
		}
		return net.JoinHostPort(host, strconv.Itoa(port)), net.JoinHostPort(host, strconv.Itoa(port+1)), nil
	}
	for part := range strings.SplitSeq(v, ",") {
		k, addr, _ := strings.Cut(strings.TrimSpace(part), "=")
		if _, _, err := splitHostPort(addr); err != nil {
			return bad("%s: %v", k, err)
		}
		switch k {
		case "grpc":
			grpc = addr
		case "http":
			http = addr
		default:
			return bad("unknown protocol %q (want grpc=HOST:PORT or http=HOST:PORT)", k)
		}
	}
	if grpc != "" && grpc == http {
		return bad("gRPC and HTTP need two ports")
	}
	return grpc, http, nil
}

func splitHostPort(addr string) (string, int, error) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, fmt.Errorf("want HOST:PORT: %v", err)
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < 1 || port > 65535 {
		return "", 0, fmt.Errorf("port %q: want 1 to 65535", p)
	}
	return host, port, nil
}
