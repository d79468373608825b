import type { ErrorCode, TaskId } from '../../core/index.js';
import type { Decision } from '../../decision/index.js';

/** Why a forwarded call got no usable answer: the gateway's code, or an HTTP upstream's 5xx status. */
export type UpstreamFailure = ErrorCode | 'http_5xx';

/** One decided call on its way to an upstream. */
export interface UpstreamCall {
  gateway: 'mcp' | 'http';
  upstream: string;
  /** The catalog name decided (`<upstream>.<tool>`, or `<upstream>.resources` and the like). */
  tool: string;
  taskId: TaskId;
  decision: Decision;
  /** The outgoing request's headers, when the gateway builds them: trace context is written into them. */
  headers?: Record<string, unknown>;
}

/**
 * Where an enforcement point tells about each call it forwards: metrics and
 * traces, kept outside the gateway. `start` is called as the call leaves; the
 * function it returns once the call is over, with the failure if it got no answer
 * (a second call of it is ignored).
 */
export interface UpstreamCalls {
  start(call: UpstreamCall): (failure: UpstreamFailure | null) => void;
}

/** Tells nobody: a gateway built without telemetry. */
export const unobservedUpstreamCalls: UpstreamCalls = Object.freeze({ start: () => () => undefined });
