import http from 'node:http';
import https from 'node:https';
import { ErrorCode as McpErrorCode, LATEST_PROTOCOL_VERSION, McpError } from '@modelcontextprotocol/sdk/types.js';
import type { CallRelay } from './relay.js';
import { GATEWAY_CLIENT_INFO, STATELESS_VERSION, clientEnvelope } from './stateless.js';

type JsonRpcMessage = { jsonrpc: '2.0'; id?: string | number; method?: string; params?: unknown; result?: unknown; error?: { code: number; message: string; data?: unknown } };

/**
 * A lean Streamable HTTP client for upstream MCP servers: JSON-RPC over a
 * keep-alive node:http agent, answers read as JSON or as an SSE stream. The SDK
 * client goes through fetch and web streams, which cost several milliseconds a
 * call on the gateway's hot path.
 */
export class HttpUpstreamClient {
  private readonly agent: http.Agent;
  private readonly url: URL;
  private sessionId: string | undefined;
  private protocolVersion = LATEST_PROTOCOL_VERSION;
  private nextId = 1;
  private closed = false;
  private stream: http.ClientRequest | undefined;
  private listenRequest: http.ClientRequest | undefined;
  onNotification: ((message: JsonRpcMessage) => void) | undefined;
  /** Called when the upstream forgot our session: the pool reconnects. */
  onSessionLost: (() => void) | undefined;

  constructor(
    url: string,
    private readonly headers: Record<string, string>,
    /** Declared at initialize: what the gateway can relay to agents (sampling, elicitation, roots). */
    private readonly capabilities: Record<string, unknown> = {},
  ) {
    this.url = new URL(url);
    const Agent = this.url.protocol === 'https:' ? https.Agent : http.Agent;
    this.agent = new Agent({ keepAlive: true, maxSockets: 64 });
  }

  async connect(timeoutMs: number): Promise<void> {
    const result = (await this.request('initialize', { protocolVersion: LATEST_PROTOCOL_VERSION, capabilities: this.capabilities, clientInfo: GATEWAY_CLIENT_INFO }, timeoutMs)) as {
      protocolVersion?: unknown;
    };
    if (typeof result?.protocolVersion === 'string') this.protocolVersion = result.protocolVersion;
    await this.send({ jsonrpc: '2.0', method: 'notifications/initialized' }, timeoutMs);
    this.listen(timeoutMs);
  }

  /**
   * The standalone event stream (GET), where an upstream says what is not about a
   * call: list changes, updated resources. Opened again after it ends, unless the
   * upstream has none (405) or the client closed.
   */
  private listen(timeoutMs: number): void {
    const headers = { ...this.headers, accept: 'text/event-stream', 'mcp-protocol-version': this.protocolVersion, ...(this.sessionId ? { 'mcp-session-id': this.sessionId } : {}) };
    this.keepStreamOpen('GET', headers, undefined, timeoutMs, (req) => (this.stream = req), () => this.listen(timeoutMs));
  }

  /**
   * A long-lived event stream whose messages are routed as the upstream's own
   * notifications; `reopen` runs a second after it ends or fails, unless the client
   * closed. A 4xx means the upstream offers no such stream (405), or not to us:
   * only a failure of its own is worth another try.
   */
  private keepStreamOpen(method: 'GET' | 'POST', headers: Record<string, string>, body: string | undefined, timeoutMs: number, opened: (req: http.ClientRequest) => void, reopen: () => void): void {
    if (this.closed) return;
    const transport = this.url.protocol === 'https:' ? https : http;
    const again = () => {
      if (!this.closed) setTimeout(reopen, 1000).unref();
    };
    const req = transport.request(this.url, { method, headers, agent: this.agent }, (res) => {
      if (res.statusCode !== 200 || !String(res.headers['content-type'] ?? '').includes('text/event-stream')) {
        res.resume();
        if ((res.statusCode ?? 0) >= 500) again();
        return;
      }
      opened(req);
      res.setEncoding('utf8');
      readSse(res, (m) => m.method !== 'notifications/subscriptions/acknowledged' && this.route(m, undefined, () => undefined, undefined, timeoutMs));
      res.on('end', again);
      res.on('error', () => undefined);
    });
    req.on('error', again);
    req.end(body);
  }

  /**
   * One request; resolves with its result, rejects with an McpError (including
   * RequestTimeout). What the upstream sends about it on the request's event
   * stream goes to `relay`: notifications, and requests of the client, whose
   * answers are posted back. Aborting `relay.signal` cancels the request upstream.
   * `extra` headers go on this request only (a transaction token).
   */
  async request(method: string, params: unknown, timeoutMs: number, relay?: CallRelay, stateless?: StatelessHeaders, extra?: Record<string, string>): Promise<unknown> {
    const id = this.nextId++;
    const response = await this.exchange('POST', { jsonrpc: '2.0', id, method, params }, timeoutMs, relay, stateless, extra);
    if (!response) throw new McpError(McpErrorCode.InternalError, `upstream sent no answer to \`${method}\``);
    if (response.error) throw new McpError(response.error.code, response.error.message, response.error.data);
    return response.result;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.stream?.destroy();
    this.listenRequest?.destroy();
    if (this.sessionId) await this.exchange('DELETE', undefined, 2000).catch(() => undefined);
    this.agent.destroy();
  }

  private async send(message: JsonRpcMessage, timeoutMs: number): Promise<JsonRpcMessage | undefined> {
    return this.exchange('POST', message, timeoutMs);
  }

  /**
   * The 2026 counterpart of the GET stream: a `subscriptions/listen` for the list
   * changes, whose notifications go where the GET stream's do. Opened again after
   * it ends, unless the client closed.
   */
  listenStateless(timeoutMs: number): void {
    const body = JSON.stringify({ jsonrpc: '2.0', id: `listen-${this.nextId++}`, method: 'subscriptions/listen', params: { _meta: clientEnvelope({}), notifications: { toolsListChanged: true, promptsListChanged: true, resourcesListChanged: true } } });
    const headers = {
      ...this.headers,
      accept: 'text/event-stream, application/json',
      'content-type': 'application/json',
      'content-length': String(Buffer.byteLength(body)),
      'mcp-protocol-version': STATELESS_VERSION,
      'mcp-method': 'subscriptions/listen',
    };
    this.keepStreamOpen('POST', headers, body, timeoutMs, (req) => (this.listenRequest = req), () => this.listenStateless(timeoutMs));
  }

  /**
   * Whether the upstream speaks the stateless revision (2026-07-28): it answers
   * `server/discover` naming it. Anything else (an error, a 2025 server's refusal) says no.
   */
  async discover(timeoutMs: number): Promise<boolean> {
    try {
      const result = (await this.request('server/discover', { _meta: clientEnvelope(this.capabilities) }, timeoutMs, undefined, { 'mcp-method': 'server/discover' })) as { supportedVersions?: unknown };
      return Array.isArray(result?.supportedVersions) && result.supportedVersions.includes(STATELESS_VERSION);
    } catch {
      return false;
    }
  }

  private exchange(method: 'POST' | 'DELETE', message: JsonRpcMessage | undefined, timeoutMs: number, relay?: CallRelay, stateless?: StatelessHeaders, extra?: Record<string, string>): Promise<JsonRpcMessage | undefined> {
    const body = message === undefined ? undefined : JSON.stringify(message);
    const headers: Record<string, string> = {
      ...this.headers,
      ...extra,
      accept: 'application/json, text/event-stream',
      ...(stateless ? { 'mcp-protocol-version': STATELESS_VERSION, ...stateless } : { 'mcp-protocol-version': this.protocolVersion, ...(this.sessionId ? { 'mcp-session-id': this.sessionId } : {}) }),
      ...(body ? { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) } : {}),
    };
    const transport = this.url.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      let settled = false;
      const finish = (err: unknown | (() => unknown), value?: JsonRpcMessage) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        // Errors for the fall-through paths are built lazily: a stack trace per successful call is waste.
        if (err) reject(typeof err === 'function' ? err() : err);
        else resolve(value);
      };
      const req = transport.request(this.url, { method, headers, agent: this.agent }, (res) => {
        const session = res.headers['mcp-session-id'];
        if (typeof session === 'string' && !stateless) this.sessionId = session;
        const status = res.statusCode ?? 0;
        if (status === 202 || method === 'DELETE') {
          res.resume();
          finish(null, undefined);
          return;
        }
        const lost = () => {
          this.sessionId = undefined;
          this.onSessionLost?.();
          // The request was not handled: it can be sent again on a new session (the pool does, once).
          finish(new McpError(McpErrorCode.ConnectionClosed, 'the upstream no longer knows the session (restarted?)', SESSION_LOST));
        };
        if (stateless && status >= 400 && String(res.headers['content-type'] ?? '').includes('application/json')) {
          // A 2026 server's errors come with a 4xx status and a JSON-RPC error that says what was wrong (-32021, -32601, …).
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (text += c.length + text.length > 65_536 ? '' : c));
          res.on('end', () => {
            const answer = parseJson(text) as JsonRpcMessage | undefined;
            finish(answer?.error ? null : new McpError(McpErrorCode.InternalError, `upstream answered HTTP ${status}`), answer);
          });
          return;
        }
        if (status === 404 && this.sessionId && !stateless) {
          res.resume();
          return lost();
        }
        if (status === 400 && this.sessionId && !stateless) {
          // Servers built on the SDK's examples answer an unknown session with 400 and a JSON-RPC error that says so.
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (text += c.length + text.length > 65_536 ? '' : c));
          res.on('end', () => (/session/i.test(text) ? lost() : finish(new McpError(McpErrorCode.InternalError, `upstream answered HTTP ${status}`))));
          return;
        }
        if (status < 200 || status >= 300) {
          res.resume();
          finish(new McpError(McpErrorCode.InternalError, `upstream answered HTTP ${status}`));
          return;
        }
        const type = String(res.headers['content-type'] ?? '');
        res.setEncoding('utf8');
        if (type.includes('text/event-stream')) {
          readSse(res, (m) => this.route(m, message?.id, finish, relay, timeoutMs));
          res.on('end', () => finish(() => new McpError(McpErrorCode.ConnectionClosed, 'upstream closed the stream without an answer')));
        } else {
          let text = '';
          res.on('data', (c: string) => (text += c));
          res.on('end', () => {
            let parsed: unknown;
            try {
              parsed = JSON.parse(text);
            } catch {
              finish(new McpError(McpErrorCode.ParseError, 'upstream answered with something that is not JSON'));
              return;
            }
            for (const m of Array.isArray(parsed) ? parsed : [parsed]) this.route(m as JsonRpcMessage, message?.id, finish, relay, timeoutMs);
            finish(() => new McpError(McpErrorCode.InternalError, 'upstream answer has no response to the request'));
          });
        }
        res.on('error', (err) => finish(err));
      });
      const timer = setTimeout(() => {
        req.destroy();
        finish(new McpError(McpErrorCode.RequestTimeout, `upstream did not answer within ${timeoutMs} ms`));
      }, timeoutMs);
      req.on('error', (err) => finish(new McpError(McpErrorCode.ConnectionClosed, `upstream connection failed: ${err.message}`)));
      const cancel = () => {
        if (settled) return;
        req.destroy();
        finish(new McpError(McpErrorCode.RequestTimeout, 'cancelled by the client'));
        // The upstream stops its work only when told: closing the stream is not a cancellation.
        void this.send({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: message?.id, reason: 'cancelled by the client' } }, timeoutMs).catch(() => undefined);
      };
      if (relay?.signal.aborted) cancel();
      else relay?.signal.addEventListener('abort', cancel, { once: true });
      req.end(body);
    });
  }

  private route(m: JsonRpcMessage, id: string | number | undefined, finish: (err: unknown | (() => unknown), value?: JsonRpcMessage) => void, relay: CallRelay | undefined, timeoutMs: number): void {
    if (!m || typeof m !== 'object') return;
    if (m.id !== undefined && m.id === id && (m.result !== undefined || m.error !== undefined)) finish(null, m);
    else if (typeof m.method === 'string' && m.id === undefined) {
      this.onNotification?.(m);
      relay?.notify(m.method, (m.params ?? {}) as Record<string, unknown>);
    } else if (typeof m.method === 'string' && m.id !== undefined) {
      // A request of the client, made while this call runs: the agent behind the call answers it.
      const answer = (reply: Pick<JsonRpcMessage, 'result' | 'error'>) => void this.send({ jsonrpc: '2.0', id: m.id, ...reply }, timeoutMs).catch(() => undefined);
      if (!relay) return answer({ error: { code: McpErrorCode.MethodNotFound, message: `the gateway relays \`${m.method}\` only during a call` } });
      relay.ask(m.method, (m.params ?? {}) as Record<string, unknown>).then(
        (result) => answer({ result }),
        (err: unknown) => answer({ error: { code: err instanceof McpError ? err.code : McpErrorCode.InternalError, message: err instanceof McpError ? stripPrefix(err) : 'the client failed the request' } }),
      );
    }
  }
}

const SESSION_LOST = { sessionLost: true } as const;

/** The headers of one stateless (2026-07-28) request: `Mcp-Method`, and `Mcp-Name` and `Mcp-Param-*` where they apply. */
export type StatelessHeaders = Record<string, string>;

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** The upstream answered 404 to our session: nothing was done, and a new session may be opened and the request sent again. */
export function isSessionLost(err: unknown): boolean {
  return err instanceof McpError && (err.data as { sessionLost?: unknown } | undefined)?.sessionLost === true;
}

/** The SDK prefixes its error messages (`MCP error -32601: …`); relayed on, the prefix would be doubled. */
export function stripPrefix(err: McpError): string {
  return err.message.replace(/^MCP error -?\d+: /, '');
}

/** Server-sent events: `data:` lines up to a blank line make one JSON-RPC message. */
function readSse(stream: NodeJS.ReadableStream, onMessage: (m: JsonRpcMessage) => void): void {
  let buffer = '';
  let data: string[] = [];
  stream.on('data', (chunk: string) => {
    buffer += chunk;
    let newline: number;
    while ((newline = buffer.indexOf('\n')) !== -1) {
      const line = buffer.slice(0, newline).replace(/\r$/, '');
      buffer = buffer.slice(newline + 1);
      if (line === '') {
        if (data.length > 0) {
          try {
            onMessage(JSON.parse(data.join('\n')) as JsonRpcMessage);
          } catch {
            // a garbled event is skipped; the request then ends with "no answer"
          }
        }
        data = [];
      } else if (line.startsWith('data:')) data.push(line.slice(line[5] === ' ' ? 6 : 5));
    }
  });
}
