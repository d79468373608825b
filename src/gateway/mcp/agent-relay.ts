import { randomBytes } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { ErrorCode as McpErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';

/**
 * The answer to one POST from an agent: plain JSON, unless something must reach
 * the agent before the answer (progress, a log message, a request of its client),
 * in which case it becomes an event stream, as Streamable HTTP allows.
 */
export class PostReply {
  private streaming = false;

  constructor(
    private readonly res: ServerResponse,
    /** The client said it takes `text/event-stream`. */
    readonly acceptsStream: boolean,
    /** It listed `text/event-stream` before `application/json`: even the answer alone goes as an event stream. */
    private readonly prefersStream = false,
  ) {}

  /** From the request's `Accept` header. */
  static for(res: ServerResponse, accept: string): PostReply {
    const stream = accept.indexOf('text/event-stream');
    const json = accept.indexOf('application/json');
    return new PostReply(res, stream !== -1, stream !== -1 && (json === -1 || stream < json));
  }

  /** Sends a message ahead of the answer; false when the client takes JSON answers only (the message is not sent). */
  send(message: Record<string, unknown>): boolean {
    if (!this.acceptsStream || this.res.writableEnded) return false;
    if (!this.streaming) {
      this.res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      this.streaming = true;
    }
    this.res.write(sseEvent(message));
    return true;
  }

  get isStreaming(): boolean {
    return this.streaming;
  }

  /** The answer, as the last event of the stream or as the JSON body. */
  answer(message: Record<string, unknown>, plain: () => void): void {
    if (!this.streaming && !this.prefersStream) return plain();
    this.send(message);
    this.res.end();
  }

  /** A cancelled request gets no answer (the specification says so): the stream just ends. */
  end(): boolean {
    if (!this.acceptsStream) return false;
    if (!this.streaming) {
      this.res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      this.streaming = true;
    }
    this.res.end();
    return true;
  }
}

/** Tells this process's request ids from another worker's or replica's, which may hold the same session. */
const PROCESS_TAG = randomBytes(6).toString('base64url');

/** Whether an answer's id is one the gateway gave (in this process or another). */
export const isRelayedAskId = (id: string | number): boolean => typeof id === 'string' && id.startsWith('mandate-');

/** One JSON-RPC message as a server-sent event (`jsonrpc` added). */
export function sseEvent(message: Record<string, unknown>): string {
  return `event: message\ndata: ${JSON.stringify({ jsonrpc: '2.0', ...message })}\n\n`;
}

/** Requests the gateway made of one session's client (sampling, elicitation, roots), waiting for its answers. */
export class ClientAsks {
  private next = 0;
  private readonly pending = new Map<string, { resolve(result: unknown): void; reject(err: unknown): void; timer: NodeJS.Timeout }>();

  /** Sends `method` to the client ahead of the answer to `reply`'s request; resolves with the client's result. */
  ask(reply: PostReply, method: string, params: Record<string, unknown>, timeoutMs: number): Promise<unknown> {
    const id = `mandate-${PROCESS_TAG}-${++this.next}`;
    return new Promise((resolve, reject) => {
      if (!reply.send({ id, method, params })) {
        reject(new McpError(McpErrorCode.InvalidRequest, `the client takes JSON answers only, so it cannot be asked \`${method}\``));
        return;
      }
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new McpError(McpErrorCode.RequestTimeout, `the client did not answer \`${method}\` within ${timeoutMs} ms`));
      }, timeoutMs);
      timer.unref();
      this.pending.set(id, { resolve, reject, timer });
    });
  }

  /** The client's answer to one of these requests; false when no request with its id is waiting. */
  answer(message: { id: string | number; result?: unknown; error?: { code?: unknown; message?: unknown } }): boolean {
    const key = String(message.id);
    const waiting = this.pending.get(key);
    if (!waiting) return false;
    this.pending.delete(key);
    clearTimeout(waiting.timer);
    if (message.error) {
      const code = typeof message.error.code === 'number' ? message.error.code : McpErrorCode.InternalError;
      waiting.reject(new McpError(code, typeof message.error.message === 'string' ? message.error.message : 'the client refused the request'));
    } else waiting.resolve(message.result ?? {});
    return true;
  }

  /** The session closed: nothing will answer. */
  closeAll(): void {
    for (const w of this.pending.values()) {
      clearTimeout(w.timer);
      w.reject(new McpError(McpErrorCode.ConnectionClosed, 'the client session closed'));
    }
    this.pending.clear();
  }
}

/** RFC 5424 severities, least severe first (`logging/setLevel`). */
export const LOG_LEVELS = ['debug', 'info', 'notice', 'warning', 'error', 'critical', 'alert', 'emergency'] as const;

/** Whether a log message at `level` passes a session's `logging/setLevel` (all pass when none was set). */
export function logLevelPasses(minimum: string | undefined, level: unknown): boolean {
  if (minimum === undefined) return true;
  const at = LOG_LEVELS.indexOf(level as (typeof LOG_LEVELS)[number]);
  return at === -1 || at >= LOG_LEVELS.indexOf(minimum as (typeof LOG_LEVELS)[number]);
}
