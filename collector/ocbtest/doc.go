// Package ocbtest builds collector/builder-config.yaml with the real
// OpenTelemetry Collector Builder (ocb) and runs the distribution it makes.
// It has only tests; ocb is installed into a cache directory when missing.
package ocbtest
