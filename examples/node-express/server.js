'use strict';
// Must stay the first line: OpenTelemetry has to patch http, express and winston
// before they are loaded.
const { sdk } = require('./instrumentation');

const http = require('node:http');
const express = require('express');
const { logger } = require('./logger');
const { register, observeRequest } = require('./metrics');

const HOST = '127.0.0.1';
const PORT = Number(process.env.PORT || 3000);
const CHAIN_TIMEOUT_MS = 2000;
const SHUTDOWN_TIMEOUT_MS = 10000;
// Spans still buffered are flushed on shutdown, but an unreachable collector
// makes the exporter retry for up to OTEL_EXPORTER_OTLP_TIMEOUT (10 s): give up
// on the flush sooner rather than hold up a rolling deploy.
const FLUSH_TIMEOUT_MS = 3000;

// The label for requests no route matched: one fixed value, so scanners probing
// random paths cannot create new series.
const UNMATCHED_ROUTE = 'unmatched';

// routeOf returns the express route template that served the request, e.g.
// /users/:id. Never req.path or req.originalUrl: those carry ids (unbounded
// cardinality) and, for originalUrl, the query string with any secrets in it.
function routeOf(req) {
  if (!req.route || typeof req.route.path !== 'string') return UNMATCHED_ROUTE;
  return `${req.baseUrl || ''}${req.route.path}`;
}

// accessLog writes one line and records the RED metrics when the response is
// finished. The `finish` listener runs in the request's trace context, so the
// line carries trace_id/span_id. Headers and the query string are never logged.
function accessLog(req, res, next) {
  const start = process.hrtime.bigint();
  res.on('finish', () => {
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    const route = routeOf(req);
    observeRequest({ method: req.method, route, status_code: String(res.statusCode) }, seconds);
    logger.info('request completed', {
      method: req.method,
      route,
      status: res.statusCode,
      duration_ms: Math.round(seconds * 1e6) / 1e3,
    });
  });
  next();
}

// getJSON calls this same service over HTTP with node:http, which
// instrumentation-http patches: the outgoing request gets a CLIENT span and a
// traceparent header, so the callee's SERVER span joins the caller's trace.
// (Node's global fetch is undici and is not covered by instrumentation-http.)
function getJSON(port, path) {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: HOST, port, path, timeout: CHAIN_TIMEOUT_MS }, (res) => {
      res.on('error', reject);
      const chunks = [];
      let size = 0;
      res.on('data', (chunk) => {
        size += chunk.length;
        if (size > 1 << 20) {
          req.destroy(new Error('downstream response too large'));
          return;
        }
        chunks.push(chunk);
      });
      res.on('end', () => {
        if (res.statusCode !== 200) {
          reject(new Error(`downstream ${path} answered ${res.statusCode}`));
          return;
        }
        try {
          resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
        } catch (err) {
          reject(err);
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error(`downstream ${path} timed out`)));
    req.on('error', reject);
  });
}

function createApp() {
  const app = express();
  app.disable('x-powered-by');
  app.use(accessLog);

  app.get('/', (req, res) => {
    res.json({ service: 'node-express-example', status: 'ok' });
  });

  app.get('/healthz', (req, res) => {
    res.json({ status: 'ready' });
  });

  app.get('/metrics', async (req, res, next) => {
    try {
      const body = await register.metrics();
      res.set('Content-Type', register.contentType);
      res.end(body);
    } catch (err) {
      next(err);
    }
  });

  app.get('/users/:id', (req, res) => {
    const { id } = req.params;
    logger.info('get user', { user_id: id });
    res.json({ id, name: `user ${id}` });
  });

  app.get('/orders/:orderId', (req, res) => {
    const { orderId } = req.params;
    logger.info('get order', { order_id: orderId });
    res.json({ id: orderId, status: 'shipped' });
  });

  app.get('/boom', () => {
    throw new Error('boom: deliberate failure');
  });

  app.get('/chain', async (req, res) => {
    const user = await getJSON(req.socket.localPort, '/users/7');
    logger.info('chain completed', { user_id: user.id });
    res.json({ chained: true, user });
  });

  app.use((req, res) => {
    res.status(404).json({ error: 'not found' });
  });

  // Express 5 routes both thrown errors and rejected promises here. Passing the
  // Error itself to winston (with format.errors) keeps the stack as one JSON
  // field instead of multi-line text on stderr.
  // eslint-disable-next-line no-unused-vars
  app.use((err, req, res, next) => {
    logger.error('request failed', err);
    if (res.headersSent) return;
    res.status(500).json({ error: 'internal server error' });
  });

  return app;
}

function main() {
  const server = createApp().listen(PORT, HOST, () => {
    logger.info('listening', { host: HOST, port: server.address().port });
  });

  let stopping = false;
  async function shutdown(signal) {
    if (stopping) return;
    stopping = true;
    logger.info('shutting down', { signal });
    // Bound the whole shutdown: a hung connection or an unreachable collector
    // must not keep the process alive forever.
    setTimeout(() => process.exit(1), SHUTDOWN_TIMEOUT_MS).unref();
    await new Promise((resolve) => server.close(resolve));
    try {
      const flushed = await Promise.race([
        sdk.shutdown().then(() => true), // flushes spans still in the batch processor
        new Promise((resolve) => setTimeout(resolve, FLUSH_TIMEOUT_MS, false).unref()),
      ]);
      if (!flushed) logger.warn('telemetry flush timed out', { timeout_ms: FLUSH_TIMEOUT_MS });
    } catch (err) {
      logger.error('telemetry shutdown failed', err);
    }
    process.exit(0);
  }
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

main();
