/**
 * The client an agent uses: attest as a workload, declare a mandate, ask before
 * every call, complete the task. HTTP only; no import of the control plane. The
 * types are the API's own, imported as types only, so nothing of the server is
 * loaded at run time and a change to what the server returns breaks this build.
 */
import type { MandateInput, PlanInput } from '../mandate/index.js';
import type { ApiApproval, ApiDeclaredTask, ApiDecision, ApiSvid, ApiTokenExchange } from '../server/index.js';
import { createDpopProof } from './dpop.js';

export { createDpopProof, type DpopProofRequest } from './dpop.js';
export { verifyMandateDocument, type MandateDocumentClaims, type VerifyMandateDocumentOptions } from './mandate-document.js';
export { TransactionTokenError, verifyTransactionToken, type TransactionTokenClaims, type TransactionTokenRefusal, type VerifyTransactionTokenOptions } from './transaction-token.js';

/** The answer of `POST /v1/decide`. */
export type Decision = ApiDecision;
export type Outcome = Decision['outcome'];
/** An approval request as the task credential reads it; pending until a person decides. */
export type PendingApproval = ApiApproval;
/** A mandate as the agent declares it (`POST /v1/tasks`). */
export type MandateDeclaration = MandateInput;
/** A plan as the agent declares it (`POST /v1/tasks/from-plan`): the tools it will call, in order, and the values the user stated. */
export type PlanDeclaration = PlanInput;

/** An error answer of the control plane, with its stable code. */
export class MandateApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly body: unknown,
  ) {
    super(`${code}: ${message}`);
    this.name = 'MandateApiError';
  }
}

/** Thrown by `Task.guard` when a call is not allowed. */
export class NotAuthorizedError extends Error {
  constructor(readonly decision: Decision) {
    super(`${decision.outcome}: ${decision.reason.code}: ${decision.reason.message}`);
    this.name = 'NotAuthorizedError';
  }
}

export interface ConnectOptions {
  /** The control plane, e.g. `http://127.0.0.1:8080`. */
  url: string;
  /** A one-time join token from `mandate agent token`. */
  joinToken?: string;
  /** Supplies a fresh OIDC token from a trusted issuer (Kubernetes, CI, cloud) whenever attestation is needed. */
  oidcToken?: () => Promise<string>;
  /** Renew the SVID when less than this much of it is left. Default 60 s. */
  renewBeforeMs?: number;
  /**
   * Bind the SVID and every task credential to a key pair made here (DPoP, RFC 9449):
   * each request carries a proof signed with the private key, which never leaves
   * this process, so a copied credential is useless anywhere else. Default false.
   */
  dpop?: boolean;
  fetch?: typeof fetch;
  now?: () => number;
}

/** What requests to the control plane go out with: where, how, and the agent's proof of who holds a token. */
interface Session {
  url: string;
  fetch: typeof fetch;
  /** The key SVIDs and task credentials are bound to, when the agent made one. */
  key?: { privateKey: CryptoKey; publicJwk: JsonWebKey };
  /** The agent's current SVID, sent beside a credential another agent handed over. */
  svid(): Promise<string>;
}

/** How a task credential's holder proves it is the holder: nothing (bearer), the agent's SVID beside it, or a DPoP proof. */
type HolderProof = 'bearer' | 'svid' | 'dpop';

/**
 * One request to the control plane. `token` goes as the bearer; `proofFor` is the
 * token a DPoP proof binds (`ath`) when it travels in the body instead.
 */
async function call<T>(s: Session, path: string, init: { method: string; token?: string; proofFor?: string; body?: unknown; svidBeside?: boolean }): Promise<T> {
  const url = `${s.url}${path}`;
  const bound = init.token ?? init.proofFor;
  const res = await s.fetch(url, {
    method: init.method,
    headers: {
      ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...(init.token ? { authorization: `Bearer ${init.token}` } : {}),
      ...(s.key ? { dpop: await createDpopProof({ ...s.key, method: init.method, url, ...(bound ? { accessToken: bound } : {}) }) } : {}),
      ...(init.svidBeside ? { 'mandate-svid': await s.svid() } : {}),
    },
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
  const text = await res.text();
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    throw new MandateApiError(res.status, 'internal.error', `control plane answered HTTP ${res.status} with a body that is not JSON`, text);
  }
  if (!res.ok) {
    const b = body as { error?: string | { code?: string; message?: string }; code?: string; error_description?: string } | undefined;
    // The token endpoint answers as OAuth does (RFC 6749 §5.2), with the reason code beside.
    if (typeof b?.error === 'string') throw new MandateApiError(res.status, b.code ?? b.error, b.error_description ?? b.error, body);
    throw new MandateApiError(res.status, b?.error?.code ?? 'internal.error', b?.error?.message ?? `HTTP ${res.status}`, body);
  }
  return body as T;
}

/** A task handed over by another agent (`TaskHandle.delegate`), for the agent it names to `adopt`. */
export interface DelegatedTask {
  taskId: string;
  credential: string;
  expiresAtMs: number;
}

/** An attested agent. Its SVID is renewed automatically before it expires. */
export class AgentClient {
  private svid: ApiSvid | undefined;
  private readonly session: Session;

  private constructor(
    private readonly opts: Required<Pick<ConnectOptions, 'url' | 'renewBeforeMs' | 'fetch' | 'now'>> & ConnectOptions,
    key: Session['key'],
  ) {
    this.session = { url: opts.url, fetch: opts.fetch, ...(key ? { key } : {}), svid: () => this.currentSvid() };
  }

  /**
   * Token exchange for a person (RFC 8693): their id token from a configured identity
   * provider, and this agent's SVID, for a task on that person's behalf.
   */
  async declareOnBehalf(idToken: string, mandate: MandateDeclaration): Promise<TaskHandle> {
    const svid = await this.currentSvid();
    const res = await call<ApiTokenExchange>(this.session, '/v1/token', {
      method: 'POST',
      proofFor: svid,
      body: { grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange', subject_token: idToken, subject_token_type: 'urn:ietf:params:oauth:token-type:id_token', actor_token: svid, actor_token_type: 'urn:ietf:params:oauth:token-type:jwt', mandate },
    });
    return new TaskHandle(this.session, res.task.id, res.access_token, res.task.expiresAtMs, this.session.key ? 'dpop' : 'bearer');
  }

  /** Attests with the join token or the OIDC token source (with `dpop`, with a key made here). */
  static async connect(opts: ConnectOptions): Promise<AgentClient> {
    if (!opts.joinToken && !opts.oidcToken) throw new TypeError('connect: give a joinToken or an oidcToken source');
    let key: Session['key'];
    if (opts.dpop) {
      // The private key cannot be exported: it signs here and nowhere else.
      const pair = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign', 'verify']);
      key = { privateKey: pair.privateKey, publicJwk: await crypto.subtle.exportKey('jwk', pair.publicKey) };
    }
    const client = new AgentClient({ renewBeforeMs: 60_000, fetch: globalThis.fetch, now: Date.now, ...opts, url: opts.url.replace(/\/$/, '') }, key);
    await client.attest();
    return client;
  }

  /**
   * A task another agent delegated to this one (`TaskHandle.delegate` there): its
   * credential works only for this agent, which proves it on every call with its key
   * or, without one, its SVID.
   */
  adopt(task: DelegatedTask): TaskHandle {
    const cnf = claimsOf(task.credential).cnf as { jkt?: unknown; spiffe_id?: unknown } | undefined;
    const proof: HolderProof = typeof cnf?.jkt === 'string' ? 'dpop' : typeof cnf?.spiffe_id === 'string' ? 'svid' : 'bearer';
    if (proof === 'dpop' && !this.session.key) throw new TypeError('adopt: this task is bound to a key; connect with `dpop: true` as the agent it was delegated to');
    return new TaskHandle(this.session, task.taskId, task.credential, task.expiresAtMs, proof);
  }

  get spiffeId(): string {
    return this.svid?.spiffeId ?? '';
  }

  private async attest(): Promise<void> {
    const { opts } = this;
    if (opts.oidcToken) {
      this.svid = await call<ApiSvid>(this.session, '/v1/attest/oidc', { method: 'POST', body: { token: await opts.oidcToken() } });
    } else if (opts.joinToken && !this.svid) {
      this.svid = await call<ApiSvid>(this.session, '/v1/attest/join-token', { method: 'POST', body: { token: opts.joinToken } });
    } else {
      throw new MandateApiError(401, 'identity.svid_expired', 'the SVID expired and a join token cannot be used twice; attest again', undefined);
    }
  }

  /** A valid SVID: renewed with the current one when close to expiry, re-attested when expired. */
  async currentSvid(): Promise<string> {
    const now = this.opts.now();
    if (!this.svid || this.svid.expiresAtMs <= now) await this.attest();
    else if (this.svid.expiresAtMs - now < this.opts.renewBeforeMs) {
      this.svid = await call<ApiSvid>(this.session, '/v1/attest/renew', { method: 'POST', token: this.svid.svid });
    }
    return this.svid!.svid;
  }

  /** Declares a mandate; the task credential it returns is valid for that mandate only. */
  async declare(mandate: MandateDeclaration): Promise<TaskHandle> {
    const res = await call<ApiDeclaredTask>(this.session, '/v1/tasks', {
      method: 'POST',
      token: await this.currentSvid(),
      body: mandate,
    });
    return new TaskHandle(this.session, res.task.id, res.credential, res.expiresAtMs, this.session.key ? 'dpop' : 'bearer');
  }

  /**
   * Declares the mandate a plan gives: each tool of the steps, the stated values
   * pinned, the step order as the mandate's `plan`. The control plane builds the
   * mandate (so this SDK loads none of its code); `mandate plan show` prints it.
   */
  async declareFromPlan(plan: PlanDeclaration): Promise<TaskHandle> {
    const res = await call<ApiDeclaredTask>(this.session, '/v1/tasks/from-plan', {
      method: 'POST',
      token: await this.currentSvid(),
      body: plan,
    });
    return new TaskHandle(this.session, res.task.id, res.credential, res.expiresAtMs, this.session.key ? 'dpop' : 'bearer');
  }
}

/** One granted task and its credential. */
export class TaskHandle {
  /** @internal Made by `AgentClient.declare`, `declareFromPlan` and `adopt`. */
  constructor(
    private readonly session: Session,
    readonly id: string,
    readonly credential: string,
    readonly expiresAtMs: number,
    /** How each call proves this agent holds the credential. */
    readonly holderProof: HolderProof = 'bearer',
  ) {}

  /**
   * A `fetch` for the gateways (`/mcp`, `/proxy/…`): each request carries the task
   * credential and whatever proves this agent holds it (a fresh DPoP proof for that
   * request, or its SVID). Give it to an MCP client transport (`fetch` option).
   */
  readonly fetch: typeof fetch = async (input, init) => {
    // The caller's own input and init go on, with headers added: a copied Request's
    // signal follows the caller's only while the copy is alive, so after a collection
    // an abort (an MCP client closing its SSE stream) would no longer reach the socket.
    const given = input instanceof Request ? input : undefined;
    // The URL and method as fetch reads them (a relative URL against the page's, a method's spelling), without the body or signal.
    const { url, method } = new Request(given?.url ?? input, { method: init?.method ?? given?.method });
    const headers = new Headers(init?.headers ?? given?.headers);
    headers.set('authorization', `Bearer ${this.credential}`);
    if (this.session.key) headers.set('dpop', await createDpopProof({ ...this.session.key, method, url, accessToken: this.credential }));
    if (this.holderProof === 'svid') headers.set('mandate-svid', await this.session.svid());
    return this.session.fetch(input, { ...init, headers });
  };

  /** A call with this task's credential and, for a delegated one, the agent's SVID beside it. */
  private send<T>(path: string, init: { method: string; body?: unknown; credentialInBody?: boolean }): Promise<T> {
    return call<T>(this.session, path, { method: init.method, body: init.body, svidBeside: this.holderProof === 'svid', ...(init.credentialInBody ? { proofFor: this.credential } : { token: this.credential }) });
  }

  /**
   * Hands part of this task to another agent (RFC 8693 token exchange): a child task
   * with a narrower `mandate`, for the agent whose SPIFFE ID is `actor`. Give what
   * comes back to that agent, which `adopt`s it: the credential works for it alone.
   */
  async delegate(actor: string, mandate: MandateDeclaration): Promise<DelegatedTask> {
    const res = await this.send<ApiTokenExchange>('/v1/token', {
      method: 'POST',
      credentialInBody: true,
      body: { grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange', subject_token: this.credential, subject_token_type: 'urn:ietf:params:oauth:token-type:jwt', audience: actor, mandate },
    });
    return { taskId: res.task.id, credential: res.access_token, expiresAtMs: res.task.expiresAtMs };
  }

  /**
   * Asks the control plane whether this call may happen now. On `step_up` the
   * decision carries `approvalId`; with `waitMs` the SDK waits for a person to
   * decide (polling the approval with the task credential) and asks again, so an
   * approved call comes back as `allow` (`approval.approved`) and a denied one as
   * `deny` (`approval.denied`). Without `waitMs`, or when the wait ends, the
   * pending `step_up` is returned.
   */
  async authorize(tool: string, args: Record<string, unknown> = {}, opts: { waitMs?: number; pollMs?: number } = {}): Promise<Decision> {
    const ask = () => this.decide(tool, args);
    const decision = await ask();
    if (decision.outcome !== 'step_up' || !decision.approvalId || !opts.waitMs) return decision;
    const deadline = Date.now() + opts.waitMs;
    for (;;) {
      const approval = await this.approval(decision.approvalId);
      if (approval.status === 'expired') return { ...decision, outcome: 'deny', reason: { code: 'approval.expired', message: `approval ${approval.id} expired before anyone decided` } };
      if (approval.status !== 'pending') return ask();
      if (Date.now() >= deadline) return decision;
      await new Promise((r) => setTimeout(r, Math.min(opts.pollMs ?? 500, Math.max(0, deadline - Date.now()))));
    }
  }

  /** `POST /v1/decide`: the credential rides in the body, and a DPoP proof binds it by its hash all the same. */
  private decide(tool: string, args: Record<string, unknown>): Promise<Decision> {
    return this.send<Decision>('/v1/decide', { method: 'POST', body: { credential: this.credential, tool, args }, credentialInBody: true });
  }

  /** The approval request a step-up decision created, read with this task's credential. */
  approval(id: string): Promise<PendingApproval> {
    return this.send<PendingApproval>(`/v1/approvals/${encodeURIComponent(id)}`, { method: 'GET' });
  }

  /** Like authorize, but throws NotAuthorizedError unless the call is allowed. */
  async guard(tool: string, args: Record<string, unknown> = {}): Promise<Decision> {
    const decision = await this.authorize(tool, args);
    if (decision.outcome !== 'allow') throw new NotAuthorizedError(decision);
    return decision;
  }

  /** Runs `fn` only when the call is allowed. */
  async run<T>(tool: string, args: Record<string, unknown>, fn: () => Promise<T>): Promise<T> {
    await this.guard(tool, args);
    return fn();
  }

  /**
   * Reports what an allowed call returned, for enforcement points other than the
   * gateway: the labels of the result (e.g. `untrusted` for an email body) join the
   * task's and later decisions see them. Give the result as `content` (or the values
   * it names as `values`) so later calls can tell where their targets came from:
   * the control plane keeps salted hashes of the values, never the content.
   */
  async report(
    tool: string,
    outcome: { status: 'ok' | 'error'; bytes?: number; labels?: string[]; decisionId?: string; args?: Record<string, unknown>; content?: unknown; values?: string[] },
  ): Promise<void> {
    await this.send(`/v1/tasks/${encodeURIComponent(this.id)}/results`, { method: 'POST', body: { tool, ...outcome } });
  }

  /**
   * This task's mandate as a signed document (`typ: mandate+jwt`): hand it to a
   * downstream service, which checks it with `verifyMandateDocument` against the
   * trust domain's keys and reads what the task declared it would do.
   */
  async mandateDocument(): Promise<string> {
    return (await this.send<{ document: string }>(`/v1/tasks/${encodeURIComponent(this.id)}/mandate`, { method: 'GET' })).document;
  }

  /** Completes the task: its credential stops working at once. */
  async complete(reason?: string): Promise<void> {
    await this.send(`/v1/tasks/${encodeURIComponent(this.id)}/complete`, { method: 'POST', body: reason ? { reason } : {} });
  }
}

/** A JWT's claims, read without checking it: the SDK only looks at what the control plane issued it. */
function claimsOf(jwt: string): Record<string, unknown> {
  const part = jwt.split('.')[1] ?? '';
  const text = atob(part.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (part.length % 4)) % 4));
  return JSON.parse(new TextDecoder().decode(Uint8Array.from(text, (c) => c.charCodeAt(0)))) as Record<string, unknown>;
}
