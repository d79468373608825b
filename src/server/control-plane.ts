import { timingSafeEqual } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { ApprovalService, approvalPayload, type Approval } from '../approvals/index.js';
import { AuditLog, verifyChain, type AuditEvent, type ChainReport } from '../audit/index.js';
import { ConfigError, Lru, mutableToolCatalog, sha256Hex, systemClock, systemRandom, type AgentId, type Clock, type MutableToolCatalog, type Random, type TaskId, type ToolSpec } from '../core/index.js';
import { CredentialService, type Revocation } from '../credentials/index.js';
import { decide, kernelOver, RateWindow, type Decision, type DecisionRequest, type DecisionPorts, type Kernel } from '../decision/index.js';
import { HttpProxy, McpGateway, UpstreamPool, loadApiActions, toolSpecsOf, upstreamToolSpecs, type ApiActions } from '../gateway/index.js';
import { IdentityService, KeyRing, OidcTrust, type Agent } from '../identity/index.js';
import type { Task } from '../mandate/index.js';
import { PolicyEngine, buildCedarRequest } from '../policy/index.js';
import { TaskMonitor, type DriftResponse, type Signal } from '../monitor/index.js';
import { SecretVault } from '../secrets/index.js';
import { fileAuditSpool, memoryAuditSpool, openStore, StoreHealth, type Store } from '../store/index.js';
import type { AuditSpool } from '../audit/index.js';
import { dirname, resolve } from 'node:path';
import type { Config } from './config.js';
import { Notifier, PolicyDistribution, TaskLifecycle, ToolRegistry } from './services/index.js';
export type { GrantedTask } from './services/index.js';
import { deliverWebhook, httpIssuerDirectory, policyDirectory, readCedarFiles, vaultKey } from './adapters/index.js';

export interface ControlPlaneOptions {
  clock?: Clock;
  random?: Random;
  /** Where start-up messages go (the generated admin token is printed here once). */
  log?: (line: string) => void;
}


/** A read-through cache, least recently used dropped first, for records changed only by the notified paths (end, another replica). */
class Lookup<K, V> {
  private readonly lru: Lru<K, V>;
  constructor(
    private readonly load: (key: K) => Promise<V | undefined>,
    capacity: number,
  ) {
    this.lru = new Lru(capacity);
  }
  get size(): number {
    return this.lru.size;
  }
  async get(key: K): Promise<V | undefined> {
    const hit = this.lru.get(key);
    if (hit !== undefined) return hit;
    const value = await this.load(key);
    if (value !== undefined) this.lru.set(key, value);
    return value;
  }
  forget(key: K): void {
    this.lru.delete(key);
  }
  /** Replaces a cached value (never inserts one that is not cached). */
  update(key: K, change: (value: V) => V): void {
    const current = this.lru.peek(key);
    if (current !== undefined) this.lru.set(key, change(current));
  }
  prune(drop: (value: V) => boolean): number {
    return this.lru.prune(drop);
  }
}

const ADMIN_TOKEN_KEY = 'admin_token_sha256';
const TASK_SWEEP_MS = 30_000;

/**
 * The composition root: builds every context over one store and exposes the
 * operations the API, CLI and gateway use.
 */
export class ControlPlane {
  readonly decisionPorts: DecisionPorts;
  /** Authenticate, decide, account: what every enforcement point runs. */
  readonly kernel: Kernel;
  readonly upstreams: UpstreamPool;
  readonly mcp: McpGateway;
  /** The HTTP API gateway at `/proxy/<upstream>/…`. */
  readonly http: HttpProxy;
  readonly approvals: ApprovalService;
  readonly monitor: TaskMonitor;
  /** Tells this replica's own change notifications apart from the others'. */
  readonly replicaId: string;
  /** Wakes calls held open for an approval as soon as it is decided on this replica. */
  readonly approvalEvents = new EventEmitter();
  private readonly taskCache: Lookup<TaskId, Task>;
  private readonly agents: Lookup<AgentId, Agent>;
  /** Which policy set this replica serves, and pushing a new one. */
  readonly policies: PolicyDistribution;
  /** Tools registered through the API. */
  readonly toolRegistry: ToolRegistry;
  /** Tasks from grant to end, and revocation. */
  readonly tasks: TaskLifecycle;
  private readonly sweeper: NodeJS.Timeout;
  private readonly taskSweeper: NodeJS.Timeout;
  private readonly catchUp: NodeJS.Timeout;
  /** When this replica last read the store successfully; decisions fail closed when it is too long ago. */
  private lastStoreSyncMs: number;
  /** Webhook posts in the background. */
  private readonly notifier: Notifier;

  private constructor(
    readonly config: Config,
    readonly store: Store,
    readonly keys: KeyRing,
    readonly identity: IdentityService,
    readonly credentials: CredentialService,
    readonly policy: PolicyEngine,
    readonly audit: AuditLog,
    readonly tools: MutableToolCatalog,
    readonly secrets: SecretVault,
    /** Whether the store can be used now; every store call on the decision path goes through it. */
    readonly health: StoreHealth,
    private readonly adminTokenHash: string,
    readonly clock: Clock,
    readonly random: Random,
    apiActions: ApiActions,
    opts: ControlPlaneOptions,
  ) {
    this.taskCache = new Lookup((id) => store.tasks.get(id), config.cache.tasks);
    this.agents = new Lookup((id) => store.agents.get(id), config.cache.agents);
    this.replicaId = random.token(9);
    this.policies = new PolicyDistribution({ source: config.policy.source, engine: policy, sets: store.policies, changes: store.changes, audit, clock });
    this.toolRegistry = new ToolRegistry({ catalog: tools, tools: store.tools, changes: store.changes, audit, clock });
    this.notifier = new Notifier({ secrets, deliver: deliverWebhook, clock });
    this.approvalEvents.setMaxListeners(0);
    this.approvals = new ApprovalService({
      approvals: store.approvals,
      approvers: store.approvers,
      audit,
      clock,
      random,
      defaults: { approvers: config.approvals.approvers, expirySeconds: config.approvals.expirySeconds, separationOfDuties: config.approvals.separationOfDuties },
      onRequested: config.approvals.webhook ? (a) => this.notify(a) : undefined,
      onDecided: (a) => this.approvalEvents.emit(a.id, a),
    });
    // Expired requests are marked (and audited) even when nobody looks at them.
    this.sweeper = setInterval(() => void this.approvals.sweep().catch(() => undefined), 5000);
    this.sweeper.unref();
    // Expired tasks, and tasks ended on another replica, leave memory. A pass over 100,000 tasks takes milliseconds: not every few seconds.
    this.taskSweeper = setInterval(() => this.sweepTasks(), TASK_SWEEP_MS);
    this.taskSweeper.unref();
    this.monitor = new TaskMonitor({
      repo: store.behaviour,
      settings: config.monitor,
      audit,
      clock,
      respond: (task, signal, response, score) => this.respondToDrift(task, signal, response, score),
      publish: (taskId) => store.changes.publish({ kind: 'task', taskId, origin: this.replicaId }),
      capacity: config.cache.monitor,
    });
    this.tasks = new TaskLifecycle({
      identity,
      credentials,
      approvals: this.approvals,
      tasks: store.tasks,
      changes: store.changes,
      tools,
      ceiling: policy,
      audit,
      clock,
      random,
      forget: (id) => this.forgetTask(id),
    });
    const guard = <T>(call: Promise<T>) => health.guard(call);
    this.decisionPorts = {
      approvals: {
        consume: (...a) => guard(this.approvals.consume(...a)),
        latestFor: (...a) => guard(this.approvals.latestFor(...a)),
        request: (...a) => guard(this.approvals.request(...a)),
      },
      monitor: {
        state: (task) => guard(this.monitor.state(task)),
        observe: (task, d) => guard(this.monitor.observe(task, d)),
        observeResult: (task, labels, bytes) => guard(this.monitor.observeResult(task, labels, bytes)),
        score: (b) => this.monitor.score(b),
      },
      verifyCredential: (t) => credentials.verify(t),
      revocations: credentials.revocationSet,
      getTask: (id) => guard(this.taskCache.get(id)),
      getAgent: (id) => guard(this.agents.get(id)),
      incrementCalls: (id, max) => guard(store.tasks.incrementCalls(id, max)),
      reloadTask: async (id) => {
        this.taskCache.forget(id);
        return guard(this.taskCache.get(id));
      },
      // A new object, not a changed one: a decision in flight keeps the task it started with.
      recordCallCount: (id, count) => this.taskCache.update(id, (t) => (count > t.callCount ? { ...t, callCount: count } : t)),
      tools,
      ceiling: policy,
      buildCedarRequest,
      rate: new RateWindow(config.cache.tasks),
      audit,
      clock,
      random,
      environment: config.environment,
      // Real elapsed time, not the domain clock: a skewed clock (tests, the demo) must not fake an outage.
      storeAvailable: () => health.available && !audit.spooling && performance.now() - this.lastStoreSyncMs <= config.store.failClosedAfterMs,
    };
    this.lastStoreSyncMs = performance.now();
    // Other replicas' revocations apply at once; the periodic re-read covers a missed or dropped notification.
    store.changes.subscribe((change) => {
      if (change.kind === 'revocation') credentials.revocationSet.add(change.revocation as Revocation);
      else if (change.kind === 'gap') void this.syncWithStore();
      else if (change.kind === 'tool') void this.toolRegistry.load().catch(() => undefined);
      else if (change.kind === 'policy') void this.policies.sync().catch(() => undefined);
      else if (change.origin !== this.replicaId) {
        this.taskCache.forget(change.taskId as TaskId);
        this.monitor.forget(change.taskId as TaskId);
      }
    });
    this.catchUp = setInterval(() => void this.syncWithStore(), config.store.catchUpMs);
    this.catchUp.unref();
    this.upstreams = new UpstreamPool(config.upstreams, { clock, secrets, log: opts.log, onToolsChanged: () => this.mcp.notifyToolsChanged() });
    this.kernel = kernelOver(this.decisionPorts);
    this.mcp = new McpGateway(
      {
        kernel: this.kernel,
        visibleTools: (task) => this.visibleTools(task),
        waitForApproval: (id, ms) => this.waitForApproval(id, ms),
        approvalUrl: (id) => `${this.publicUrl ?? ''}/v1/approvals/${id}`,
        tools,
        audit,
        clock,
      },
      this.upstreams,
      (req) => `http://${req.headers.host ?? `${config.server.host}:${config.server.port}`}/.well-known/oauth-protected-resource/mcp`,
    );
    this.http = new HttpProxy(
      {
        kernel: this.kernel,
        tools,
        audit,
        clock,
        random,
        secrets,
      },
      config.apis,
      apiActions,
    );
  }

  /** The task's declared tools that are in the catalog and that the ceiling does not refuse outright for its agent. */
  async visibleTools(task: Task): Promise<string[]> {
    const agent = await this.agents.get(task.agentId);
    if (!agent) return [];
    return task.mandate.tools
      .map((t) => t.name)
      .filter((name) => {
        const tool = this.tools.get(name);
        return tool !== undefined && !this.policy.checkGrant(agent, tool).refused;
      });
  }

  /** Opens the store, keys, policies and revocations. Throws ConfigError on invalid policies. */
  static async start(config: Config, opts: ControlPlaneOptions = {}): Promise<ControlPlane> {
    const clock = opts.clock ?? systemClock;
    const random = opts.random ?? systemRandom;
    const log = opts.log ?? (() => undefined);
    const policy = PolicyEngine.fromSource(policyDirectory(config.policy.dir));
    // OpenAPI documents are read before the store opens: a bad one fails start-up with nothing to clean up.
    const apiActions = loadApiActions(config.apis);
    const store = await openStore(config.store.url, { queryTimeoutMs: config.store.queryTimeoutMs, maxLiveCounts: config.cache.tasks, nowMs: () => clock.nowMs() });
    let plane: ControlPlane | undefined;
    try {
      let audit: AuditLog | undefined;
      const health = new StoreHealth({
        answerWithinMs: config.store.answerWithinMs,
        probeMs: config.store.probeMs,
        ping: () => store.ping(),
        // Back only once the spool is in the store (the chain stays in order) and revocations are re-read.
        recover: async () => audit !== undefined && (await audit.replay()) && (plane === undefined || (await plane.syncWithStore())),
        onDown: () => audit?.storeDown(),
        log,
      });
      audit = await AuditLog.open(store.audit, config.audit.segment, clock, random, {
        spool: auditSpoolFor(config),
        appendTimeoutMs: config.store.answerWithinMs,
        onStoreFault: (err) => health.fault(err),
      });
      const maxTtl = Math.max(config.credentials.maxTaskTtlSeconds, config.identity.svidTtlSeconds);
      const kidsBefore = (await store.keys.list()).length;
      const keys = await KeyRing.open(store.keys, clock, maxTtl);
      if (kidsBefore === 0) await audit.record({ type: 'key.created', data: { kids: keys.kids() } });
      const identity = new IdentityService({
        trustDomain: config.trustDomain,
        svidAudience: `spiffe://${config.trustDomain}/mandate`,
        svidTtlSeconds: config.identity.svidTtlSeconds,
        keys,
        agents: store.agents,
        joinTokens: store.joinTokens,
        oidc: new OidcTrust(config.identity.oidcIssuers, clock, httpIssuerDirectory),
        audit,
        clock,
        random,
      });
      const credentials = new CredentialService({
        keys,
        audience: config.credentials.audience,
        maxTaskTtlSeconds: config.credentials.maxTaskTtlSeconds,
        revocations: store.revocations,
        audit,
        clock,
        random,
        publish: (revocation) => store.changes.publish({ kind: 'revocation', revocation }),
        cacheSize: config.cache.tasks,
      });
      await credentials.loadRevocations();
      const adminTokenHash = await ensureAdminToken(store, config, random, log);
      const catalog = mutableToolCatalog(uniqueTools([...config.tools, ...upstreamToolSpecs(config.upstreams), ...toolSpecsOf(apiActions)]));
      const secrets = new SecretVault(store.secrets, vaultKey(config.secrets), audit, clock);
      plane = new ControlPlane(config, store, keys, identity, credentials, policy, audit, catalog, secrets, health, adminTokenHash, clock, random, apiActions, opts);
      for (const agent of config.agents) {
        if (!(await store.agents.getByName(agent.name))) await identity.registerAgent(agent);
      }
      await plane.toolRegistry.load();
      if (config.policy.source === 'store') {
        // First start of a deployment: the directory seeds the store as version 1.
        if ((await store.policies.latestVersion()) === 0) {
          await store.policies.insert({ version: 1, files: readCedarFiles(config.policy.dir), hash: policy.hash, createdAtMs: clock.nowMs(), createdBy: 'seed' }).catch(() => undefined);
        }
        // Serve exactly the stored set, whatever this replica's directory holds.
        await plane.policies.sync(true);
      }
      await audit.record({ type: 'policy.loaded', data: { version: policy.version, hash: policy.hash } });
      return plane;
    } catch (err) {
      await store.close();
      throw err;
    }
  }

  isAdmin(token: string | undefined): boolean {
    if (!token) return false;
    const a = Buffer.from(sha256Hex(token), 'hex');
    const b = Buffer.from(this.adminTokenHash, 'hex');
    return a.length === b.length && timingSafeEqual(a, b);
  }

  decide(req: DecisionRequest): Promise<Decision> {
    return decide(req, this.decisionPorts);
  }

  /** An ended task's state leaves memory at once (its verified credential goes with the next sweep: it is revoked). */
  private forgetTask(id: TaskId): void {
    this.taskCache.forget(id);
    this.monitor.forget(id);
    this.decisionPorts.rate.forget(id);
  }

  /**
   * Drops what this replica holds of tasks that expired or ended (cached records,
   * monitor state, verified credentials). One pass over each cache, run every 30
   * seconds; a task's rate window goes once it has been idle for a minute.
   */
  sweepTasks(): void {
    const now = this.clock.nowMs();
    this.taskCache.prune((t) => t.status !== 'active' || t.expiresAtMs <= now);
    this.monitor.sweep(now);
    this.credentials.sweep(now);
  }

  /** Per-task entries this replica holds in memory, by structure (for the memory benchmarks and tests). */
  memoryCounts(): { tasks: number; monitor: number; credentials: number; rateWindows: number } {
    return { tasks: this.taskCache.size, monitor: this.monitor.size, credentials: this.credentials.cachedCount, rateWindows: this.decisionPorts.rate.size };
  }

  /** Whether this replica can use its store now (readiness; decisions are refused while it cannot). */
  storeAvailable(): boolean {
    return this.decisionPorts.storeAvailable();
  }

  listAgents(): Promise<Agent[]> {
    return this.store.agents.list();
  }

  /** Decisions from the trail, newest first. */
  recentDecisions(taskId: TaskId | undefined, limit: number | undefined): Promise<AuditEvent[]> {
    return this.store.audit.list({ type: 'decision', taskId, limit, order: 'desc' });
  }

  /** Recomputes every segment's chain, once what is recorded so far is stored. */
  async verifyTrail(): Promise<ChainReport> {
    await this.audit.flush();
    return verifyChain(this.store.audit);
  }

  /** `revoke` ends the task and its children at once; `alert` is an audit event for the operators' tooling. */
  private async respondToDrift(task: Task, signal: Signal, response: DriftResponse, score: number): Promise<void> {
    if (response === 'revoke') await this.tasks.end(task.id, 'revoked', `drift: ${signal}`);
    else if (response === 'alert') {
      await this.audit.record({ type: 'monitor.alert', taskId: task.id, agentId: task.agentId, data: { signal, score } });
      const hook = this.config.monitor.webhook;
      if (hook) {
        const payload = { type: 'monitor.alert', task: task.id, agent: task.agentName, principal: task.principal, purpose: task.mandate.purpose, signal, score, links: { task: `${this.publicUrl ?? ''}/v1/tasks/${task.id}` } };
        this.notifier.inBackground(this.notifier.post(hook, payload, 'monitor:webhook').then(() => undefined));
      }
    }
  }

  /** What the monitor knows of a task: score, signals, suspension, labels read, tools called. */
  async driftOf(task: Task): Promise<Record<string, unknown>> {
    const b = await this.monitor.state(task);
    return { score: this.monitor.score(b), signals: b.signals, suspendedBy: b.suspendedBy, stepUpBy: b.stepUpBy, labels: b.labels, toolsCalled: b.toolsCalled };
  }


  /** Re-reads the revocations (and the policy version); a failure leaves the freshness clock running towards fail-closed. */
  async syncWithStore(): Promise<boolean> {
    try {
      await this.credentials.loadRevocations();
      await this.policies.sync();
      this.lastStoreSyncMs = performance.now();
      return true;
    } catch {
      // unreachable store: decisions start denying once failClosedAfterMs has passed
      return false;
    }
  }

  /** Posts a new approval request to the webhook; retries in the background, never delays the decision. */
  private notify(a: Approval): void {
    const hook = this.config.approvals.webhook!;
    this.notifier.inBackground(
      this.notifier.post(hook, approvalPayload(a, this.publicUrl ?? `http://${this.config.server.host}:${this.config.server.port}`), 'approvals:webhook')
        .then((outcome) => this.approvals.recordNotify(a, outcome.delivered, outcome.attempts, outcome.error))
        .catch(() => this.approvals.recordNotify(a, false, 0, 'the webhook secret could not be resolved')),
    );
  }

  /** The URL the API listens on, once known (links in webhook payloads). */
  publicUrl: string | undefined;

  /**
   * Waits up to `maxWaitMs` for a person to decide `approvalId`; resolves with the
   * approval as it then stands. Polls the store too, so a decision made on another
   * replica is seen.
   */
  async waitForApproval(approvalId: string, maxWaitMs: number): Promise<Approval> {
    const deadline = this.clock.nowMs() + Math.min(maxWaitMs, this.config.approvals.maxWaitSeconds * 1000);
    for (;;) {
      const current = await this.approvals.get(approvalId);
      const remaining = deadline - this.clock.nowMs();
      if (current.status !== 'pending' || remaining <= 0) return current;
      await new Promise<void>((resolve) => {
        const wake = () => {
          clearTimeout(timer);
          this.approvalEvents.off(approvalId, wake);
          resolve();
        };
        const timer = setTimeout(wake, Math.min(remaining, 1000));
        this.approvalEvents.on(approvalId, wake);
      });
    }
  }

  async close(): Promise<void> {
    this.health.close();
    this.policies.close();
    clearInterval(this.sweeper);
    clearInterval(this.taskSweeper);
    clearInterval(this.catchUp);
    await this.notifier.settle();
    await this.mcp.close();
    await this.upstreams.close();
    await this.http.close();
    await this.audit.flush();
    await this.store.close();
  }
}

/** Where audit records wait while the store cannot take them: a file beside the store, or memory for `:memory:`. */
function auditSpoolFor(config: Config): AuditSpool {
  if (config.audit.spoolFile) return fileAuditSpool(config.audit.spoolFile);
  const url = config.store.url;
  if (url === ':memory:') return memoryAuditSpool();
  const dir = url.startsWith('file:') ? dirname(url.slice('file:'.length)) : resolve('.mandate');
  return fileAuditSpool(`${dir}/audit-spool-${config.audit.segment}.jsonl`);
}

/** The config schema refuses clashes already; this keeps one that gets past it (a config built in code) a start-up ConfigError. */
function uniqueTools(tools: ToolSpec[]): ToolSpec[] {
  const seen = new Set<string>();
  for (const t of tools) {
    if (seen.has(t.name)) throw new ConfigError(`tools: \`${t.name}\` is defined twice (tools, upstreams or apis)`);
    seen.add(t.name);
  }
  return tools;
}

async function ensureAdminToken(store: Store, config: Config, random: Random, log: (line: string) => void): Promise<string> {
  if (config.server.adminToken) return sha256Hex(config.server.adminToken);
  const existing = await store.settings.get(ADMIN_TOKEN_KEY);
  if (existing) return existing;
  const token = `madm_${random.token(32)}`;
  const stored = await store.settings.setIfAbsent(ADMIN_TOKEN_KEY, sha256Hex(token));
  // Printed once: only its hash is kept, so it cannot be shown again.
  if (stored === sha256Hex(token)) log(`admin token (shown once, keep it): ${token}`);
  return stored;
}
