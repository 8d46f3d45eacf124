'use strict';
// Prometheus metrics with prom-client: the runtime defaults plus the two RED
// metrics every HTTP service should expose.

const client = require('prom-client');

const register = client.register;
client.collectDefaultMetrics({ register });

// Labels are bounded: `route` is the express route template (/users/:id), never
// the raw path, so the number of series does not grow with user ids.
const HTTP_LABELS = ['method', 'route', 'status_code'];

const httpRequestDuration = new client.Histogram({
  name: 'http_request_duration_seconds',
  help: 'Duration of HTTP requests handled by the server, in seconds.',
  labelNames: HTTP_LABELS,
  registers: [register],
});

const httpRequestsTotal = new client.Counter({
  name: 'http_requests_total',
  help: 'HTTP requests handled by the server.',
  labelNames: HTTP_LABELS,
  registers: [register],
});

function observeRequest(labels, seconds) {
  httpRequestDuration.observe(labels, seconds);
  httpRequestsTotal.inc(labels);
}

module.exports = { register, observeRequest };
