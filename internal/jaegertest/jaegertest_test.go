package jaegertest_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/obslint/obslint/internal/jaeger"
	"github.com/obslint/obslint/internal/jaegertest"
)

func TestMissingBinarySaysHowToBuildIt(t *testing.T) {
	t.Setenv("OBSLINT_JAEGER", filepath.Join(t.TempDir(), "no-such-jaeger"))
	_, err := jaegertest.Launch(context.Background())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "no-such-jaeger")
	assert.Contains(t, err.Error(), "make jaeger")
}

func TestCachePath(t *testing.T) {
	t.Setenv("OBSLINT_JAEGER", "")
	t.Setenv("OBSLINT_CACHE", "/cache")
	assert.Equal(t, "/cache/jaeger-v1.76.0/jaeger", jaegertest.BinaryPath())
}

// A fresh Jaeger is healthy, serves both query APIs on loopback (an empty
// one included), does not trace itself, and is gone after Stop.
func TestStartServeStop(t *testing.T) {
	j, err := jaegertest.Launch(context.Background())
	require.NoError(t, err)
	t.Logf("Jaeger %s ready in %s", jaegertest.Version, j.StartupTime)
	for _, addr := range []string{j.OTLPHTTP, j.OTLPGRPC, j.QueryGRPC, j.QueryHTTP, j.Health} {
		assert.True(t, strings.HasPrefix(addr, "127.0.0.1:"), addr)
	}

	for _, addr := range []string{"grpc://" + j.QueryGRPC, "http://" + j.QueryHTTP} {
		c, err := jaeger.New(addr, jaeger.Options{DialTimeout: 2 * time.Second})
		require.NoError(t, err, "empty Jaeger at %s", addr)
		require.NoError(t, c.Close())
	}
	// Self-tracing would show up as a "jaeger" service shortly after these
	// queries (its exporter is pointed at this Jaeger, batch delay 100ms).
	time.Sleep(time.Second)
	resp, err := http.Get("http://" + j.QueryHTTP + "/api/v3/services")
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.NotContains(t, string(body), "jaeger", "Jaeger traces itself: %s", body)

	require.NoError(t, j.Stop())
	_, err = net.DialTimeout("tcp", j.QueryHTTP, time.Second)
	assert.Error(t, err, "query port still open after Stop")
}
