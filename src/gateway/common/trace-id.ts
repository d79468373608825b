import { trace } from '@opentelemetry/api';
import type { IncomingHttpHeaders } from 'node:http';

/** `traceparent`: version, trace id, parent id, flags (W3C Trace Context); an all-zero id is invalid. */
const TRACEPARENT = /^[\da-f]{2}-(?!0{32})([\da-f]{32})-[\da-f]{16}-[\da-f]{2}$/;

/**
 * The trace a request belongs to, for its audit records: the active span's
 * when tracing is on (it continues the caller's trace or starts one), else the
 * caller's `traceparent`, so a caller's trace leads to the record even when
 * this server exports no spans. Undefined when neither exists.
 */
export function traceIdOf(headers: IncomingHttpHeaders): string | undefined {
  const active = trace.getActiveSpan()?.spanContext();
  if (active && trace.isSpanContextValid(active)) return active.traceId;
  const given = headers.traceparent;
  return typeof given === 'string' ? TRACEPARENT.exec(given.trim().toLowerCase())?.[1] : undefined;
}
