export { Telemetry, type TelemetryOptions } from './telemetry.js';
export { createLogger, silentLogger, LOG_LEVELS, type Logger, type LogLevel } from './logger.js';
export { observeRequests, requestIdOf } from './http.js';
export { EXPOSITION_CONTENT_TYPE, exposition, labelled, type Family } from './registry.js';
export { tracesExporterFrom } from './tracing.js';
