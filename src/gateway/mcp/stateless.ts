import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/**
 * MCP 2026-07-28, the stateless revision: no `initialize` and no session; every
 * request carries its protocol version and the client's capabilities in
 * `params._meta`, and a server that needs something of the client answers
 * `input_required` instead of sending it a request. Pure functions: what is a
 * 2026 request, what is wrong with one, and how results are stamped.
 */
export const STATELESS_VERSIONS: readonly string[] = ['2026-07-28'];
export const STATELESS_VERSION = '2026-07-28';

export const META = {
  protocolVersion: 'io.modelcontextprotocol/protocolVersion',
  clientCapabilities: 'io.modelcontextprotocol/clientCapabilities',
  clientInfo: 'io.modelcontextprotocol/clientInfo',
  logLevel: 'io.modelcontextprotocol/logLevel',
  serverInfo: 'io.modelcontextprotocol/serverInfo',
  subscriptionId: 'io.modelcontextprotocol/subscriptionId',
} as const;

/** Who the gateway is when it is the client of an upstream. */
export const GATEWAY_CLIENT_INFO = { name: 'mandate-gateway', version: '0.1.0' };

/** The `_meta` envelope of a 2026 request the gateway sends upstream, with these client capabilities. */
export function clientEnvelope(capabilities: Record<string, unknown>): Record<string, unknown> {
  return { [META.protocolVersion]: STATELESS_VERSION, [META.clientCapabilities]: capabilities, [META.clientInfo]: GATEWAY_CLIENT_INFO };
}

/** JSON-RPC codes the revision adds. */
export const HEADER_MISMATCH = -32020;
export const MISSING_CLIENT_CAPABILITY = -32021;
export const UNSUPPORTED_VERSION = -32022;

/** Methods the revision removed: called with a 2026 envelope they are unknown methods (404, -32601). */
export const REMOVED_METHODS = new Set(['initialize', 'ping', 'logging/setLevel', 'resources/subscribe', 'resources/unsubscribe']);

/** Results that carry caching hints (`ttlMs`, `cacheScope`). */
const CACHEABLE = new Set(['server/discover', 'tools/list', 'prompts/list', 'resources/list', 'resources/templates/list', 'resources/read']);

/** What a 2026 request declares of its client in `_meta`. */
export interface Envelope {
  protocolVersion: string;
  clientCapabilities: Record<string, unknown>;
  clientInfo: unknown;
  /** Log messages are relayed only when the request asks for them. */
  logLevel: string | undefined;
}

export interface EnvelopeError {
  status: number;
  code: number;
  message: string;
  data?: Record<string, unknown>;
}

type Body = { method?: unknown; params?: { _meta?: unknown } } | null | undefined;

function metaOf(body: Body): Record<string, unknown> | undefined {
  const meta = body && typeof body === 'object' && !Array.isArray(body) ? body.params?._meta : undefined;
  return meta !== null && typeof meta === 'object' && !Array.isArray(meta) ? (meta as Record<string, unknown>) : undefined;
}

/**
 * A request speaks the stateless revision when its `_meta` claims a protocol
 * version, or its `MCP-Protocol-Version` header names the stateless revision or a
 * later one (it must then carry the envelope). Anything with a session, or an older
 * header, is a 2025 request.
 */
export function isStatelessRequest(headerVersion: string | undefined, body: unknown, hasSession: boolean): boolean {
  if (hasSession) return false;
  if (metaOf(body as Body)?.[META.protocolVersion] !== undefined) return true;
  return headerVersion !== undefined && /^\d{4}-\d{2}-\d{2}$/.test(headerVersion) && headerVersion >= STATELESS_VERSION;
}

/**
 * The envelope of a 2026 request, or what is wrong with it, in the order the
 * revision checks: the header is there, `_meta` has the required keys, the header
 * agrees with `_meta`, the version is one this server speaks.
 */
export function readEnvelope(headerVersion: string | undefined, body: unknown, supported: readonly string[]): Envelope | EnvelopeError {
  if (headerVersion === undefined) return { status: 400, code: HEADER_MISMATCH, message: 'the MCP-Protocol-Version header is missing' };
  const meta = metaOf(body as Body);
  const version = meta?.[META.protocolVersion];
  const capabilities = meta?.[META.clientCapabilities];
  if (typeof version !== 'string' || capabilities === null || typeof capabilities !== 'object' || Array.isArray(capabilities)) {
    return { status: 400, code: -32602, message: `params._meta needs \`${META.protocolVersion}\` and \`${META.clientCapabilities}\`` };
  }
  if (version !== headerVersion) {
    return { status: 400, code: HEADER_MISMATCH, message: `MCP-Protocol-Version \`${headerVersion}\` and _meta \`${version}\` disagree`, data: { mismatch: { header: headerVersion, body: version } } };
  }
  if (!supported.includes(version)) {
    return { status: 400, code: UNSUPPORTED_VERSION, message: `unsupported protocol version \`${version}\``, data: { supported: [...supported], requested: version } };
  }
  const logLevel = meta?.[META.logLevel];
  return { protocolVersion: version, clientCapabilities: capabilities as Record<string, unknown>, clientInfo: meta?.[META.clientInfo], logLevel: typeof logLevel === 'string' ? logLevel : undefined };
}

export const isEnvelopeError = (e: Envelope | EnvelopeError): e is EnvelopeError => 'code' in e;

/** HTTP status of a JSON-RPC error on a 2026 request: transport-level errors are 4xx, a handler's errors travel in a 200. */
export function statusOfError(code: number): number {
  if (code === -32601) return 404;
  if (code === -32700 || code === -32600 || code === HEADER_MISMATCH || code === MISSING_CLIENT_CAPABILITY || code === UNSUPPORTED_VERSION) return 400;
  return 200;
}

/**
 * Every 2026 result says whether it is complete; the cacheable ones say for how
 * long and for whom. What the gateway lists depends on the task's mandate, so its
 * own hints are "private, do not reuse" unless the result already carries some.
 */
export function stampResult(method: string, result: unknown): unknown {
  if (result === null || typeof result !== 'object' || Array.isArray(result)) return result;
  const r = result as Record<string, unknown>;
  const stamped: Record<string, unknown> = { ...r, resultType: r.resultType ?? 'complete' };
  if (CACHEABLE.has(method) && stamped.resultType === 'complete') {
    stamped.ttlMs ??= 0;
    stamped.cacheScope = 'private';
  }
  return stamped;
}

/** What a 2026 result asks of the client before the request can complete. */
export interface InputRequired {
  resultType: 'input_required';
  inputRequests?: Record<string, { method: string; params?: Record<string, unknown> }>;
  requestState?: string;
}

export function isInputRequired(result: unknown): result is InputRequired {
  return result !== null && typeof result === 'object' && (result as { resultType?: unknown }).resultType === 'input_required';
}

/** What a sealed `requestState` binds the upstream's state to: who asked, of which upstream, for what. */
export interface StateBinding {
  taskId: string;
  upstream: string;
  method: string;
  /** The tool or prompt name, or the resource URI, as the upstream knows it. */
  target: string;
  args: unknown;
}

const STATE_PREFIX = 'mandate1';
const STATE_TTL_MS = 10 * 60_000;

const digest = (value: unknown) => createHash('sha256').update(JSON.stringify(value ?? null)).digest('base64url');

/**
 * The gateway's `requestState`: the upstream's own state (or none) sealed with an
 * HMAC over the task, the upstream, the method, the target, a digest of the
 * arguments and an expiry. An agent can neither alter the upstream's state nor
 * replay it against another task, upstream or tool; a new upstream state makes a
 * new sealed one.
 */
export function sealState(key: string, binding: StateBinding, inner: string | undefined, nowMs: number): string {
  const payload = Buffer.from(JSON.stringify({ s: inner ?? null, e: nowMs + STATE_TTL_MS })).toString('base64url');
  return `${STATE_PREFIX}.${payload}.${mac(key, binding, payload)}`;
}

/** The upstream's state inside a sealed one (null when it sent none), or undefined when the seal does not hold. */
export function openState(key: string, binding: StateBinding, sealed: string, nowMs: number): string | null | undefined {
  const [prefix, payload, given, ...rest] = sealed.split('.');
  if (prefix !== STATE_PREFIX || payload === undefined || given === undefined || rest.length > 0) return undefined;
  const expected = mac(key, binding, payload);
  if (given.length !== expected.length || !timingSafeEqual(Buffer.from(given), Buffer.from(expected))) return undefined;
  try {
    const { s, e } = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { s: unknown; e: unknown };
    if (typeof e !== 'number' || e < nowMs || (s !== null && typeof s !== 'string')) return undefined;
    return s;
  } catch {
    return undefined;
  }
}

function mac(key: string, b: StateBinding, payload: string): string {
  return createHmac('sha256', key).update(`${STATE_PREFIX}\n${b.taskId}\n${b.upstream}\n${b.method}\n${b.target}\n${digest(b.args)}\n${payload}`).digest('base64url');
}
