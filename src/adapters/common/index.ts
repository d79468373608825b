/**
 * What the framework adapters share, with no framework in it: ask the control
 * plane before a tool runs, turn a refusal into text a model can read, apply the
 * decision's obligations, report what came back, and keep a task credential
 * fresh by declaring the mandate again. Like the SDK, it loads nothing at run
 * time: the SDK's names are imported as types only.
 */
import type { AgentClient, Decision, MandateDeclaration, TaskHandle } from '../../sdk/index.js';

/**
 * Where a call gets its task: a granted task, a `RenewingTask` that declares the
 * mandate again before the credential runs out, or a function returning the task
 * to use now.
 */
export type TaskSource = TaskHandle | RenewingTask | (() => TaskHandle | Promise<TaskHandle>);

/** How a guarded tool asks and reports. */
export interface GuardOptions {
  /**
   * When a call needs a person's approval (`step_up`), wait this long for it: an
   * approved call then runs at once, a denied one is refused. Default 0: the model
   * is told `approval required (…)` with the approval id straight away.
   */
  waitMs?: number;
  /** How often to look at a pending approval while waiting. Default 500 ms. */
  pollMs?: number;
  /**
   * Labels of what the tool returns beyond those the catalog gives the tool, e.g.
   * `['untrusted']` for an e-mail body or a web page; or a function of the result
   * and the arguments. Later decisions of the task see them.
   */
  labels?: readonly string[] | ((result: unknown, args: Record<string, unknown>) => readonly string[]);
  /**
   * Send the result itself with the report (default true), so the values it names
   * (recipients, IBANs, URLs) count as seen for argument provenance. The control
   * plane keeps salted hashes of the values, never the content.
   */
  reportContent?: boolean;
  /**
   * A result larger than this (as JSON, in bytes) is reported by size only, and the
   * values it names stay unseen, which asks more of later calls, never less.
   * Default 1 MiB.
   */
  maxReportBytes?: number;
}

/** What a guarded call came to: the result of an allowed call, or the text the model reads instead. */
export type GuardedCall<R> =
  | { ok: true; result: R; decision: Decision }
  | {
      ok: false;
      /** `denied (<code>): …`, `approval required (<code>): …` or `withheld (<code>): …`. */
      text: string;
      /** The control plane's decision, when it gave one. */
      decision: Decision | undefined;
    };

/**
 * A refusal as an error: frameworks that turn a tool's exception into a tool error
 * show the model exactly `denied (<code>): …` (its `toString` is its message).
 */
export class MandateRefusal extends Error {
  constructor(
    message: string,
    readonly decision: Decision | undefined,
  ) {
    super(message);
    this.name = 'MandateRefusal';
  }

  override toString(): string {
    return this.message;
  }
}

/** What a model reads when a call is not allowed, worded as the MCP gateway words it. */
export function refusalText(decision: Pick<Decision, 'outcome' | 'reason' | 'approvalId'>): string {
  const { code, message } = decision.reason;
  if (decision.outcome !== 'step_up') return `denied (${code}): ${message}`;
  const pending = decision.approvalId ? `; approval ${decision.approvalId} waits for a person: make the same call again once it is approved` : '';
  return `approval required (${code}): ${message}${pending}`;
}

/**
 * The name a model sees for a tool the mandate calls `<server>.<tool>`: every
 * character outside `[A-Za-z0-9_-]` becomes `_`, as at the MCP gateway, because
 * model providers refuse dots in function names (`files.read` → `files_read`).
 */
export function exposedToolName(mandateName: string): string {
  return mandateName.replace(/[^A-Za-z0-9_-]/g, '_');
}

/** A tool's input as the arguments a mandate constrains: an object as it is, anything else as `{ input }`. */
export function argsOf(input: unknown): Record<string, unknown> {
  if (input !== null && typeof input === 'object' && !Array.isArray(input)) return input as Record<string, unknown>;
  return input === undefined ? {} : { input };
}

const MASK = '[redacted]';
const WITHHELD = `${MASK}: this text cannot be redacted field by field, so it is withheld`;

/**
 * The `@redact` obligation of an allow, applied to a result before the model sees
 * it, as the gateways apply it: every named field at any depth is masked; a string
 * result, or a `text` field, is read as JSON and redacted inside, and one that is
 * not JSON is withheld rather than passed on unredacted.
 */
export function redactResult<T>(result: T, fields: readonly string[]): T {
  if (fields.length === 0) return result;
  const names = new Set(fields);
  const text = (s: string): string => {
    let parsed: unknown;
    try {
      parsed = JSON.parse(s);
    } catch {
      return WITHHELD;
    }
    return JSON.stringify(walk(parsed));
  };
  const walk = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(walk);
    if (v !== null && typeof v === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, inner] of Object.entries(v)) {
        if (names.has(k)) out[k] = MASK;
        else out[k] = k === 'text' && typeof inner === 'string' ? text(inner) : walk(inner);
      }
      return out;
    }
    return v;
  };
  return (typeof result === 'string' ? text(result) : walk(result)) as T;
}

/** How an adapter reads its framework's results: what to redact, and what to report as the content. */
export interface ResultHandling<R> {
  /** Applies the redact obligation; default `redactResult` on the whole result. */
  redact?: (result: R, fields: readonly string[]) => R;
  /** The content to report; default the result itself. */
  contentOf?: (result: R) => unknown;
}

/** Where an SDK call failed before anything was decided: the control plane's code when it answered, else `request.unreachable`. */
function failure(err: unknown, what: string): { code: string; text: string } {
  const e = err as { name?: unknown; code?: unknown; message?: unknown };
  const code = e?.name === 'MandateApiError' && typeof e.code === 'string' ? e.code : 'request.unreachable';
  const message = typeof e?.message === 'string' ? e.message : String(err);
  return { code, text: `${what}: ${message}` };
}

function sizeOf(content: unknown): number {
  const text = typeof content === 'string' ? content : JSON.stringify(content ?? null) ?? '';
  return new TextEncoder().encode(text).length;
}

/** Runs `fn` with the task to use now; a `RenewingTask` keeps that task alive until `fn` is done. */
export async function withTask<T>(source: TaskSource, fn: (task: TaskHandle) => Promise<T>): Promise<T> {
  if (source instanceof RenewingTask) return source.use(fn);
  return fn(typeof source === 'function' ? await source() : source);
}

/**
 * One tool call as every adapter makes it: ask (`authorize`, waiting up to
 * `waitMs` for a person on step-up), run only on allow, apply the redact
 * obligation, then report the outcome with the result's content so labels and
 * provenance work. A refusal, or a control plane that cannot be asked, comes back
 * as text and the tool does not run. A tool that throws is reported as an error
 * and the error is thrown on. A result that cannot be reported is withheld: the
 * control plane would not know what the task has read.
 */
export async function guardedCall<R>(
  source: TaskSource,
  tool: string,
  args: Record<string, unknown>,
  run: () => Promise<R>,
  opts: GuardOptions = {},
  handling: ResultHandling<R> = {},
): Promise<GuardedCall<R>> {
  let ran = false;
  try {
    return await withTask(source, async (task): Promise<GuardedCall<R>> => {
      let decision: Decision;
      try {
        decision = await task.authorize(tool, args, { waitMs: opts.waitMs, pollMs: opts.pollMs });
      } catch (err) {
        const f = failure(err, 'the control plane could not be asked, so nothing was decided');
        return { ok: false, text: `denied (${f.code}): ${f.text}`, decision: undefined };
      }
      if (decision.outcome !== 'allow') return { ok: false, text: refusalText(decision), decision };

      let result: R;
      ran = true;
      try {
        result = await run();
      } catch (err) {
        await task.report(tool, { status: 'error', decisionId: decision.id, args }).catch(() => undefined);
        throw err;
      }
      const redacted = (handling.redact ?? redactResult)(result, decision.obligations.redact);
      const content = (handling.contentOf ?? ((r: R) => r))(redacted);
      const bytes = sizeOf(content);
      const labels = typeof opts.labels === 'function' ? opts.labels(redacted, args) : (opts.labels ?? []);
      const withContent = opts.reportContent !== false && bytes <= (opts.maxReportBytes ?? 1024 * 1024);
      try {
        await task.report(tool, { status: 'ok', decisionId: decision.id, args, bytes, labels: [...labels], ...(withContent ? { content } : {}) });
      } catch (err) {
        const f = failure(err, 'the call ran, but its result could not be reported to the control plane, so it is not shown');
        return { ok: false, text: `withheld (${f.code}): ${f.text}`, decision };
      }
      return { ok: true, result: redacted, decision };
    });
  } catch (err) {
    if (ran) throw err;
    // No task to ask with (a renewal failed after the credential ran out): nothing ran.
    const f = failure(err, 'no valid task credential to ask with');
    return { ok: false, text: `denied (${f.code}): ${f.text}`, decision: undefined };
  }
}

export interface RenewingTaskOptions {
  /**
   * Declare the mandate again when less than this is left of the task credential
   * (at most half of its lifetime). Default 60 s.
   */
  renewBeforeMs?: number;
  /** The clock; for tests. */
  now?: () => number;
  /**
   * How often to let the agent renew its SVID while the task lives, so that the
   * mandate can still be declared again after a quiet spell (a join token attests
   * once only). Default 15 s; the check asks nothing of the control plane until the
   * SVID is close to expiry.
   */
  svidCheckMs?: number;
}

/** What a renewing task needs of an attested agent: `declare`, and `currentSvid` when it has one. */
export type DeclaringAgent = Pick<AgentClient, 'declare'> & Partial<Pick<AgentClient, 'currentSvid'>>;

interface Generation {
  task: TaskHandle;
  declaredAtMs: number;
  inFlight: number;
  retired: boolean;
  finished?: Promise<void>;
}

/**
 * A task whose credential is renewed by declaring the same mandate again when it
 * nears expiry. Calls in flight keep the task they started with; a replaced task
 * is completed once its last call is done (after the `onRetire` listeners ran, so
 * an MCP connection made with its credential can be closed first). A task that was
 * revoked or completed by someone else is not renewed: its calls are refused.
 */
export class RenewingTask {
  private generation: Generation;
  private renewing: Promise<void> | undefined;
  private readonly retireListeners = new Set<(task: TaskHandle) => void | Promise<void>>();
  private readonly retiring = new Set<Promise<void>>();
  private closed = false;
  private readonly svidTimer: ReturnType<typeof setInterval> | undefined;

  private constructor(
    private readonly agent: DeclaringAgent,
    readonly mandate: MandateDeclaration,
    first: TaskHandle,
    private readonly opts: Required<RenewingTaskOptions>,
  ) {
    this.generation = { task: first, declaredAtMs: opts.now(), inFlight: 0, retired: false };
    if (typeof agent.currentSvid === 'function') {
      // A failed renewal is tried again at the next check; a declaration needing the SVID reports its own error.
      this.svidTimer = setInterval(() => void agent.currentSvid!().catch(() => undefined), opts.svidCheckMs);
      this.svidTimer.unref?.();
    }
  }

  /** Declares the mandate and keeps declaring it again before each credential expires. */
  static async declare(agent: DeclaringAgent, mandate: MandateDeclaration, opts: RenewingTaskOptions = {}): Promise<RenewingTask> {
    const o = { renewBeforeMs: opts.renewBeforeMs ?? 60_000, now: opts.now ?? Date.now, svidCheckMs: opts.svidCheckMs ?? 15_000 };
    return new RenewingTask(agent, mandate, await agent.declare(mandate), o);
  }

  /** The task in use now, without renewing it. */
  get task(): TaskHandle {
    return this.generation.task;
  }

  /** Calls `listener` with each task that was replaced, once no call through it is in flight, before it is completed. */
  onRetire(listener: (task: TaskHandle) => void | Promise<void>): () => void {
    this.retireListeners.add(listener);
    return () => this.retireListeners.delete(listener);
  }

  /** The task to use now, declared anew first when its credential is close to expiry. */
  async current(): Promise<TaskHandle> {
    return (await this.fresh()).task;
  }

  /** Runs `fn` with the task to use now; that task is not completed while `fn` runs, even if it is replaced meanwhile. */
  async use<T>(fn: (task: TaskHandle) => Promise<T>): Promise<T> {
    const g = await this.fresh();
    g.inFlight += 1;
    try {
      return await fn(g.task);
    } finally {
      g.inFlight -= 1;
      if (g.retired && g.inFlight === 0) this.finish(g, 'renewed: the same mandate was declared again');
    }
  }

  /** Completes the task (and any replaced one still finishing): its credential stops working at once. */
  async complete(reason?: string): Promise<void> {
    this.closed = true;
    clearInterval(this.svidTimer);
    await this.renewing?.catch(() => undefined);
    const g = this.generation;
    g.retired = true;
    await Promise.all([...this.retiring]);
    await this.retire(g.task);
    await g.task.complete(reason);
  }

  private async fresh(): Promise<Generation> {
    if (this.closed) throw new Error(`task ${this.generation.task.id} was completed`);
    const g = this.generation;
    const now = this.opts.now();
    const lifetime = g.task.expiresAtMs - g.declaredAtMs;
    if (g.task.expiresAtMs - now >= Math.min(this.opts.renewBeforeMs, lifetime / 2)) return g;
    this.renewing ??= this.renew(g).finally(() => (this.renewing = undefined));
    try {
      await this.renewing;
    } catch (err) {
      // The control plane cannot grant now: carry on with the current credential while it lasts.
      if (g.task.expiresAtMs <= this.opts.now()) throw err;
      return g;
    }
    return this.generation;
  }

  private async renew(g: Generation): Promise<void> {
    if (this.generation !== g) return;
    const task = await this.agent.declare(this.mandate);
    if (this.closed) {
      await task.complete('declared while the renewing task was being completed').catch(() => undefined);
      return;
    }
    this.generation = { task, declaredAtMs: this.opts.now(), inFlight: 0, retired: false };
    g.retired = true;
    if (g.inFlight === 0) this.finish(g, `renewed: task ${task.id} carries on`);
  }

  private finish(g: Generation, reason: string): void {
    if (g.finished) return;
    g.finished = (async () => {
      await this.retire(g.task);
      await g.task.complete(reason).catch(() => undefined);
    })();
    this.retiring.add(g.finished);
    void g.finished.finally(() => this.retiring.delete(g.finished!));
  }

  private async retire(task: TaskHandle): Promise<void> {
    for (const listener of this.retireListeners) {
      try {
        await listener(task);
      } catch {
        // A listener that fails to close its connection does not keep the task alive.
      }
    }
  }
}

/**
 * One MCP client session per task, opened on first use: the gateway binds a
 * session to the task that opened it, so a renewed task needs a session of its
 * own. A session that failed to open is forgotten (the next use tries again); a
 * retired task's session is closed.
 */
export function sessionsPerTask<S extends { client: { close(): Promise<unknown> } }>(task: RenewingTask, open: (t: TaskHandle) => Promise<S>): { sessionOf(t: TaskHandle): Promise<S>; closeAll(): Promise<void> } {
  const sessions = new Map<TaskHandle, Promise<S>>();
  const close = async (t: TaskHandle) => {
    const s = sessions.get(t);
    sessions.delete(t);
    await s?.then((x) => x.client.close()).catch(() => undefined);
  };
  const unsubscribe = task.onRetire(close);
  return {
    sessionOf: (t) => {
      let s = sessions.get(t);
      if (!s) {
        s = open(t);
        sessions.set(t, s);
        s.catch(() => sessions.delete(t));
      }
      return s;
    },
    closeAll: async () => {
      unsubscribe();
      await Promise.all([...sessions.keys()].map(close));
    },
  };
}

/** Opens a client and lists its tools; a failed listing closes the client, which nothing else would. */
export async function openListing<C extends { close(): Promise<unknown> }, T>(client: C, list: (client: C) => Promise<T>): Promise<{ client: C; tools: T }> {
  try {
    return { client, tools: await list(client) };
  } catch (err) {
    await client.close().catch(() => undefined);
    throw err;
  }
}

/** Where a framework's MCP client transport connects for one task, and the `fetch` it sends with. */
export interface GatewayConnection {
  /** The MCP gateway, `<control plane>/mcp`. */
  url: string;
  /** The task's own `fetch` (`TaskHandle.fetch`). */
  fetch: typeof fetch;
}

/**
 * The gateway and the `fetch` to give a framework's MCP client transport for one
 * task. Every request then carries the task credential and, when the credential is
 * bound to the agent, the proof of that for this request: a fresh DPoP proof for
 * its method and URL (RFC 9449 §7.1) or the agent's SVID. A fixed
 * `Authorization: Bearer` header cannot do this, and a bound credential sent alone
 * is refused (`dpop.missing`, `credential.holder_unproven`); an unbound one goes
 * as a bearer token, as before.
 */
export function gatewayConnection(controlPlaneUrl: string, task: TaskHandle): GatewayConnection {
  return { url: `${controlPlaneUrl.replace(/\/$/, '')}/mcp`, fetch: task.fetch };
}

/** Where an adapter's gateway connection gets its task: declared here (and again before it expires), or one of the caller's. */
export type GatewayTaskOptions =
  | {
      /** An attested agent: the mandate is declared with it, and declared again before each credential expires. */
      agent: DeclaringAgent;
      mandate: MandateDeclaration;
      /** Declare again when less than this is left of the credential. Default 60 s. */
      renewBeforeMs?: number;
      now?: () => number;
    }
  | {
      /** A renewing task of your own, e.g. shared with in-process tools; `close` leaves it running. */
      task: RenewingTask;
    };

/** The task of a gateway connection, and whether the connection owns it (and so completes it on close). */
export async function gatewayTask(opts: GatewayTaskOptions): Promise<{ task: RenewingTask; owned: boolean }> {
  if ('task' in opts) return { task: opts.task, owned: false };
  return { task: await RenewingTask.declare(opts.agent, opts.mandate, { renewBeforeMs: opts.renewBeforeMs, now: opts.now }), owned: true };
}
