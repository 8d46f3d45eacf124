package conformance

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/obslint/obslint/checks"
	"github.com/obslint/obslint/checks/jsonreport"
)

// reportServer serves GET /report and GET /report/<service>.
type reportServer struct {
	srv  *http.Server
	ln   net.Listener
	done chan struct{}
}

func startReportServer(e *Engine, endpoint string) (*reportServer, error) {
	ln, err := net.Listen("tcp", endpoint)
	if err != nil {
		return nil, fmt.Errorf("conformance report endpoint %s: %w", endpoint, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /report", func(w http.ResponseWriter, _ *http.Request) { serveAll(w, e.Results()) })
	mux.HandleFunc("GET /report/{service...}", func(w http.ResponseWriter, r *http.Request) {
		serveOne(w, e.Results(), r.PathValue("service"))
	})
	s := &reportServer{
		srv: &http.Server{Handler: mux, ReadHeaderTimeout: defaultReportReadTimeout, ReadTimeout: defaultReportReadTimeout,
			WriteTimeout: 30 * time.Second, MaxHeaderBytes: 64 << 10},
		ln:   ln,
		done: make(chan struct{}),
	}
	go func() {
		defer close(s.done)
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			e.logger.Error("conformance report endpoint stopped")
		}
	}()
	return s, nil
}

// Addr is the address the report endpoint listens on.
func (s *reportServer) Addr() string { return s.ln.Addr().String() }

func (s *reportServer) shutdown(ctx context.Context) error {
	err := s.srv.Shutdown(ctx)
	if err != nil {
		_ = s.srv.Close()
	}
	<-s.done
	return err
}

// ReportAddr is the address of the engine's report endpoint, "" when off.
func (e *Engine) ReportAddr() string {
	registry.Lock()
	defer registry.Unlock()
	if e.server == nil {
		return ""
	}
	return e.server.Addr()
}

// WriteReport writes {"schema_version":"1","services":{name: Result}} with
// each Result exactly as `obslint run --format json` writes it.
func WriteReport(w *bytes.Buffer, results map[string]*checks.Result) error {
	w.WriteString(`{"schema_version":` + jsonString(checks.SchemaVersion) + `,"services":{`)
	for i, name := range slices.Sorted(maps.Keys(results)) {
		if i > 0 {
			w.WriteByte(',')
		}
		w.WriteString(jsonString(name) + ":")
		var one bytes.Buffer
		if err := jsonreport.Write(&one, *results[name]); err != nil {
			return err
		}
		w.Write(bytes.TrimSpace(one.Bytes()))
	}
	w.WriteString("}}\n")
	return nil
}

func serveAll(w http.ResponseWriter, results map[string]*checks.Result) {
	var buf bytes.Buffer
	if err := WriteReport(&buf, results); err != nil {
		httpError(w, http.StatusInternalServerError, err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(buf.Bytes())
}

func serveOne(w http.ResponseWriter, results map[string]*checks.Result, name string) {
	name = strings.TrimSuffix(name, "/")
	res, ok := results[name]
	if !ok {
		httpError(w, http.StatusNotFound, fmt.Sprintf("no report for service %q (yet): known services are listed by GET /report", name))
		return
	}
	var buf bytes.Buffer
	if err := jsonreport.Write(&buf, *res); err != nil {
		httpError(w, http.StatusInternalServerError, err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(buf.Bytes())
}

func httpError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
