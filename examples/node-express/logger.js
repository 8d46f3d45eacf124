'use strict';
// One JSON object per line on stdout. instrumentation-winston adds trace_id,
// span_id and trace_flags to every line written while a span is active.

const winston = require('winston');
const pkg = require('./package.json');

const logger = winston.createLogger({
  level: process.env.LOG_LEVEL || 'info',
  // errors() must come first: without it an Error logs as {"level":"error"} with
  // no message, and its stack is lost instead of becoming a `stack` field.
  format: winston.format.combine(
    winston.format.errors({ stack: true }),
    winston.format.timestamp(), // ISO 8601 in UTC, e.g. 2026-11-25T19:10:19.878Z
    winston.format.json(),
  ),
  defaultMeta: { service: pkg.name },
  transports: [new winston.transports.Console()],
});

module.exports = { logger };
