import { createHash } from 'node:crypto';
import { AuditCheckpointer, AuditForwarder, AuditLog, CHECKPOINT_TYP, SYSTEM_ACTOR, ownSegments, segmentToWrite, toOcsf, type AuditDestination, type AuditSpool, type AuditWitness, type SinkCursor } from '../audit/index.js';
import { ConfigError, mutableToolCatalog, systemClock, systemRandom, type Clock, type MutableToolCatalog, type Random, type ToolSpec } from '../core/index.js';
import { CredentialService } from '../credentials/index.js';
import { kernelOver, RateWindow, type Decision, type DecisionPorts, type DecisionRequest, type Kernel } from '../decision/index.js';
import { HttpProxy, McpGateway, TxnTokens, UpstreamPool, loadApiActions, toolSpecsOf, upstreamToolSpecs, type ApiActions } from '../gateway/index.js';
import { IdentityService, KeyRing, OidcTrust, PrincipalTrust } from '../identity/index.js';
import { PolicyEngine } from '../policy/index.js';
import { TaskMonitor } from '../monitor/index.js';
import { SecretVault } from '../secrets/index.js';
import type { SettingsRepo } from '../store/index.js';
import { fileAuditSpool, fileAuditWitness, memoryAuditSpool, openStore, StoreHealth, type SqliteStoreOptions, type Store } from '../store/index.js';
import { dirname, resolve } from 'node:path';
import type { Config } from './config.js';
import { AdminAuth, ApprovalDesk, ConsoleViews, DriftResponder, Notifier, PolicyDistribution, ReplicaSync, PossessionCheck, TaskLifecycle, TaskMemory, ToolRegistry, Trail, decisionPortsOver } from './services/index.js';
import type { ApprovalService } from '../approvals/index.js';
import { ConsoleSignIn } from '../console/index.js';
export type { GrantedTask } from './services/index.js';
import { deliverWebhook, fileAuditDestination, httpIssuerDirectory, httpTokenEndpoint, policyDirectory, readCedarFiles, vaultKey, webhookAuditDestination, type EncodeEvent } from './adapters/index.js';
import { MANDATE_VERSION } from './version.js';
import { Telemetry, type Logger, type TelemetryOptions } from './telemetry/index.js';

export interface ControlPlaneOptions extends TelemetryOptions {
  clock?: Clock;
  random?: Random;
  /** An embedded store file that other processes write too (`mandate serve --workers`). */
  sharedStore?: SqliteStoreOptions['shared'];
}

/** What `start` opens before the services are wired over it. */
interface Opened {
  config: Config;
  store: Store;
  keys: KeyRing;
  identity: IdentityService;
  credentials: CredentialService;
  policy: PolicyEngine;
  audit: AuditLog;
  checkpointer: AuditCheckpointer;
  witness: AuditWitness | undefined;
  tools: MutableToolCatalog;
  secrets: SecretVault;
  health: StoreHealth;
  admin: AdminAuth;
  apiActions: ApiActions;
  /** The key MCP session ids are made with, the same on every replica (`src/gateway/mcp/session-ids.ts`). */
  sessionKey: string;
  clock: Clock;
  random: Random;
  telemetry: Telemetry;
}

/**
 * The composition root: opens the store, keys and policies, and wires the
 * application services and the enforcement points over them. The operations
 * themselves live in the services (src/server/services) and the kernel
 * (src/decision); this class only holds them together and closes them in order.
 */
export class ControlPlane {
  readonly config: Config;
  readonly store: Store;
  readonly keys: KeyRing;
  readonly identity: IdentityService;
  readonly credentials: CredentialService;
  readonly policy: PolicyEngine;
  readonly audit: AuditLog;
  /** DPoP proofs of the keys SVIDs and task credentials are bound to. */
  readonly possession: PossessionCheck;
  private readonly checkpointer: AuditCheckpointer;
  readonly tools: MutableToolCatalog;
  readonly secrets: SecretVault;
  /** Whether the store can be used now; every store call on the decision path goes through it. */
  readonly health: StoreHealth;
  readonly admin: AdminAuth;
  readonly clock: Clock;
  /** Tells this replica's own change notifications apart from the others'. */
  readonly replicaId: string;
  readonly decisionPorts: DecisionPorts;
  /** Authenticate, decide, account: what every enforcement point runs. */
  readonly kernel: Kernel;
  readonly upstreams: UpstreamPool;
  readonly mcp: McpGateway;
  /** The HTTP API gateway at `/proxy/<upstream>/…`. */
  readonly http: HttpProxy;
  readonly approvalDesk: ApprovalDesk;
  readonly approvals: ApprovalService;
  readonly monitor: TaskMonitor;
  /** Which policy set this replica serves, and pushing a new one. */
  readonly policies: PolicyDistribution;
  /** Tools registered through the API. */
  readonly toolRegistry: ToolRegistry;
  /** Tasks from grant to end, and revocation. */
  readonly tasks: TaskLifecycle;
  /** Per-task state this replica holds in memory. */
  readonly memory: TaskMemory;
  /** Other replicas' changes, and the freshness decisions depend on. */
  readonly sync: ReplicaSync;
  /** Recent decisions and chain verification. */
  readonly trail: Trail;
  /** The operator console's lists, task trees and the compliance report. */
  readonly views: ConsoleViews;
  /** Logs, metrics and traces. */
  readonly telemetry: Telemetry;
  /** Sign-in to the operator console; undefined when `console.oidc` is not configured. */
  readonly console: ConsoleSignIn | undefined;
  /** The URL the API listens on, once known (links in webhook payloads). */
  publicUrl: string | undefined;
  private readonly notifier: Notifier;
  /** Delivers the trail to `audit.sink`, when one is configured. */
  private sink: AuditForwarder | undefined;

  private constructor(o: Opened) {
    const { config, store, policy, audit, tools, secrets, health, clock, random } = o;
    this.config = config;
    this.store = store;
    this.keys = o.keys;
    this.identity = o.identity;
    this.credentials = o.credentials;
    this.policy = policy;
    this.audit = audit;
    this.tools = tools;
    this.secrets = secrets;
    this.health = health;
    this.admin = o.admin;
    this.clock = clock;
    this.telemetry = o.telemetry;
    this.replicaId = random.token(9);
    const baseUrl = () => this.publicUrl ?? `http://${config.server.host}:${config.server.port}`;

    this.notifier = new Notifier({ secrets, deliver: deliverWebhook, clock });
    this.policies = new PolicyDistribution({ source: config.policy.source, engine: policy, sets: store.policies, changes: store.changes, audit, clock });
    this.toolRegistry = new ToolRegistry({ catalog: tools, tools: store.tools, changes: store.changes, audit, clock });
    this.checkpointer = o.checkpointer;
    this.trail = new Trail({ log: audit, records: store.audit, tasks: store.tasks, witness: o.witness });
    this.views = new ConsoleViews({ reads: store.console, clock, report: { config, store, witness: o.witness, apiTools: toolSpecsOf(o.apiActions), flush: () => audit.flush() } });
    this.approvalDesk = new ApprovalDesk({
      approvals: {
        approvals: store.approvals,
        approvers: store.approvers,
        audit,
        clock,
        random,
        defaults: { approvers: config.approvals.approvers, expirySeconds: config.approvals.expirySeconds, separationOfDuties: config.approvals.separationOfDuties },
      },
      webhook: config.approvals.webhook,
      notifier: this.notifier,
      baseUrl,
      maxWaitSeconds: config.approvals.maxWaitSeconds,
      clock,
      changes: store.changes,
    });
    this.approvals = this.approvalDesk.service;
    const drift = new DriftResponder({ end: (id, status, reason) => this.tasks.end(id, status, reason, SYSTEM_ACTOR), audit, webhook: config.monitor.webhook, notifier: this.notifier, baseUrl });
    this.monitor = new TaskMonitor({
      repo: store.behaviour,
      settings: config.monitor,
      audit,
      clock,
      respond: (task, signal, response, score) => drift.respond(task, signal, response, score),
      publish: (taskId) => store.changes.publish({ kind: 'task', taskId, origin: this.replicaId }),
      capacity: config.cache.monitor,
    });
    const rate = new RateWindow(config.cache.tasks);
    this.memory = new TaskMemory({ tasks: store.tasks, agents: store.agents, capacity: config.cache, monitor: this.monitor, credentials: o.credentials, rate, clock });
    this.possession = new PossessionCheck({ replay: store.dpopProofs, clock });
    this.console = config.console.oidc
      ? new ConsoleSignIn({
          client: config.console.oidc,
          roles: config.console.roles,
          sessionTtlSeconds: config.console.sessionTtlSeconds,
          clock,
          random,
          directory: httpIssuerDirectory,
          tokenEndpoint: httpTokenEndpoint,
          sessions: store.consoleSessions,
          audit,
        })
      : undefined;
    this.tasks = new TaskLifecycle({
      identity: o.identity,
      credentials: o.credentials,
      approvals: this.approvals,
      tasks: store.tasks,
      changes: store.changes,
      tools,
      ceiling: policy,
      audit,
      clock,
      random,
      // The pool is built below; a grant runs only once the plane is.
      toolParams: { paramsOf: (name) => this.upstreams.paramsOf(name) },
      forget: (id) => this.memory.forget(id),
      observeValues: (task, found) => this.monitor.observeValues(task, found),
      delegationLimits: config.delegation,
      possession: this.possession,
      principals: new PrincipalTrust(config.principals.issuers, clock, httpIssuerDirectory),
      requirePrincipalToken: config.principals.requireToken,
      environment: config.environment,
      behaviourOf: (task) => this.monitor.state(task),
    });
    this.sync = new ReplicaSync({
      changes: store.changes,
      credentials: o.credentials,
      policies: this.policies,
      toolRegistry: this.toolRegistry,
      memory: this.memory,
      health,
      audit,
      replicaId: this.replicaId,
      catchUpMs: config.store.catchUpMs,
      failClosedAfterMs: config.store.failClosedAfterMs,
    });
    this.decisionPorts = decisionPortsOver({
      possession: this.possession,
      verifySvid: async (svid) => {
        const { claims } = await o.identity.verifySvid(svid);
        return { spiffeId: claims.spiffeId, expiresAtMs: claims.expiresAtMs };
      },
      approvals: this.approvals,
      monitor: this.monitor,
      credentials: o.credentials,
      memory: this.memory,
      tasks: store.tasks,
      tools,
      ceiling: policy,
      rate,
      health,
      storeAvailable: () => this.sync.storeAvailable(),
      audit,
      recordArguments: config.audit.arguments,
      clock,
      random,
      environment: config.environment,
    });
    this.kernel = o.telemetry.kernel(kernelOver(this.decisionPorts));
    const upstreamCalls = o.telemetry.upstreamCalls();
    o.telemetry.metrics?.watch({
      // Bounded like a decision's store call: a scrape never waits on a store that hangs.
      approvalsPending: () => health.guard(store.approvals.countPending(clock.nowMs())).catch(() => undefined),
      revocationsActive: () => o.credentials.revocationSet.size,
      storeReachable: () => this.sync.storeAvailable(),
    });

    const txnTokens = new TxnTokens({ sign: (claims, typ) => o.keys.signSync(claims, typ), clock, trustDomain: config.trustDomain });
    this.upstreams = new UpstreamPool(config.upstreams, {
      clock,
      secrets,
      log: o.telemetry.logger,
      onToolsChanged: () => this.mcp.notifyToolsChanged(),
      onUpstreamNotice: (upstream, method, params) => this.mcp.upstreamNotice(upstream, method, params),
    });
    this.mcp = new McpGateway(
      {
        kernel: this.kernel,
        waitForApproval: (id, ms) => this.approvalDesk.waitFor(id, ms),
        approvalUrl: (id) => `${this.publicUrl ?? ''}/v1/approvals/${id}`,
        tools,
        audit,
        clock,
        sessionKey: o.sessionKey,
        publishClosed: (id) => void store.changes.publish({ kind: 'mcp-session', id }).catch(() => undefined),
        // Best effort: PostgreSQL notifications hold 8,000 bytes, and a lost answer ends in the request's timeout.
        publishAnswer: (sessionId, message) => void store.changes.publish({ kind: 'mcp-answer', sessionId, message }).catch(() => undefined),
        originAllowed: (origin) => originAllowed(origin, config.server.allowedOrigins),
        mayRedact: (tool) => policy.mayRedact(tool),
        upstreamCalls,
        txnTokens,
      },
      this.upstreams,
      (req) => `http://${req.headers.host ?? `${config.server.host}:${config.server.port}`}/.well-known/oauth-protected-resource/mcp`,
    );
    this.http = new HttpProxy({ kernel: this.kernel, tools, audit, clock, random, secrets, upstreamCalls, txnTokens }, config.apis, o.apiActions);
    store.changes.subscribe((change) => {
      if (change.kind === 'mcp-session') this.mcp.sessionClosedElsewhere(change.id);
      else if (change.kind === 'mcp-answer') this.mcp.answerFromElsewhere(change.sessionId, change.message);
    });
  }

  /** Opens the store, keys, policies and revocations. Throws ConfigError on invalid policies. */
  static async start(config: Config, opts: ControlPlaneOptions = {}): Promise<ControlPlane> {
    const clock = opts.clock ?? systemClock;
    const random = opts.random ?? systemRandom;
    const telemetry = await Telemetry.start(config.metrics.enabled, opts);
    const log: Logger = telemetry.logger;
    const policy = PolicyEngine.fromSource(policyDirectory(config.policy.dir), { decisionCache: config.cache.decisions });
    // OpenAPI documents are read before the store opens: a bad one fails start-up with nothing to clean up.
    const apiActions = loadApiActions(config.apis);
    const store = await openStore(config.store.url, {
      queryTimeoutMs: config.store.queryTimeoutMs,
      maxLiveCounts: config.cache.tasks,
      nowMs: () => clock.nowMs(),
      shared: opts.sharedStore,
    });
    let plane: ControlPlane | undefined;
    let stopCheckpoints: () => void = () => undefined;
    try {
      let audit: AuditLog | undefined;
      const health = new StoreHealth({
        answerWithinMs: config.store.answerWithinMs,
        probeMs: config.store.probeMs,
        ping: () => store.ping(),
        // Back only once the spool is in the store (the chain stays in order) and revocations are re-read.
        recover: async () => audit !== undefined && (await audit.replay()) && (plane === undefined || (await plane.sync.sync())),
        onDown: () => audit?.storeDown(),
        log: log.child({ component: 'store' }),
      });
      // A segment cut or rewritten under this writer since a witness last saw it is not continued: a new one is started.
      const witness = auditWitnessFor(config);
      const target = await segmentToWrite(store.audit, config.audit.segment, (await witness?.read()) ?? []);
      audit = await AuditLog.open(store.audit, target.segment, clock, random, {
        spool: auditSpoolFor(config),
        appendTimeoutMs: config.store.answerWithinMs,
        onStoreFault: (err) => health.fault(err),
        lag: telemetry.auditLag(),
      });
      const maxTtl = Math.max(config.credentials.maxTaskTtlSeconds, config.identity.svidTtlSeconds);
      if (target.restartedFrom) {
        const { segment, finding } = target.restartedFrom;
        log.warn(`audit: segment ${segment} no longer holds what ${witness?.name} witnessed (${finding.kind}); writing to a new segment, ${target.segment}`);
        await audit.record({ type: 'audit.segment_restarted', data: { previous: segment, finding, witness: witness?.name ?? null } });
      }
      const kidsBefore = (await store.keys.list()).length;
      const keys = await KeyRing.open(store.keys, clock, maxTtl);
      if (kidsBefore === 0) await audit.record({ type: 'key.created', data: { kids: keys.kids() } });
      const checkpointer = await AuditCheckpointer.start({
        log: audit,
        repo: store.audit,
        clock,
        sign: (checkpoint) => keys.signWithKey({ ...checkpoint }, CHECKPOINT_TYP),
        witnesses: witness ? [witness] : [],
        everyEvents: config.audit.checkpointEveryEvents,
        everyMs: config.audit.checkpointEverySeconds * 1000,
        onFault: (what, err) => log.error(`audit: ${what} failed: ${err instanceof Error ? err.message : String(err)}`),
      });
      stopCheckpoints = () => checkpointer.abandon();
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
        // Every revocation made here is published: the one place to count them.
        publish: (revocation) => {
          telemetry.metrics?.revoked(revocation.kind);
          return store.changes.publish({ kind: 'revocation', revocation });
        },
        cacheSize: config.cache.tasks,
      });
      await credentials.loadRevocations();
      const admin = await AdminAuth.open(store.settings, config.server.adminToken, random, log, config.metrics.token);
      const tools = mutableToolCatalog(uniqueTools([...config.tools, ...upstreamToolSpecs(config.upstreams), ...toolSpecsOf(apiActions)]));
      const secrets = new SecretVault(store.secrets, vaultKey(config.secrets), audit, clock);
      const sessionKey = await store.settings.setIfAbsent('mcp.session_key', random.token(32));
      plane = new ControlPlane({ config, store, keys, identity, credentials, policy, audit, checkpointer, witness, tools, secrets, health, admin, apiActions, sessionKey, clock, random, telemetry });
      for (const agent of config.agents) {
        if (!(await store.agents.getByName(agent.name))) await identity.registerAgent(agent, SYSTEM_ACTOR);
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
      if (config.audit.sink) plane.sink = await startSink(config, plane, audit, clock, log);
      return plane;
    } catch (err) {
      plane?.closeTimers();
      stopCheckpoints();
      await store.close();
      throw err;
    }
  }

  /** One decision for a raw credential (`POST /v1/decide`, the SDK, tests). */
  decide(req: DecisionRequest): Promise<Decision> {
    return this.kernel.decideRequest(req);
  }

  /** Whether this replica can use its store now (readiness; decisions are refused while it cannot). */
  storeAvailable(): boolean {
    return this.sync.storeAvailable();
  }

  private closeTimers(): void {
    this.health.close();
    this.policies.close();
    this.approvalDesk.close();
    this.memory.close();
    this.sync.close();
  }

  async close(): Promise<void> {
    this.closeTimers();
    await this.notifier.settle();
    await this.mcp.close();
    await this.upstreams.close();
    await this.http.close();
    // The last events get a checkpoint too: a tail deleted after a clean stop is then caught.
    await this.checkpointer.stop();
    await this.audit.flush();
    // A healthy sink gets what is stored before the store closes; the rest is delivered from the cursor at the next start.
    await this.sink?.stop(2000);
    await this.store.close();
    await this.telemetry.close();
  }
}

/** The sink's cursor, one setting per segment: a restart resumes delivery where it stopped. */
function settingsSinkCursor(settings: SettingsRepo): SinkCursor {
  const key = (segment: string) => `audit.sink.delivered:${segment}`;
  return {
    async delivered(segment) {
      const value = Number(await settings.get(key(segment)));
      return Number.isSafeInteger(value) && value > 0 ? value : 0;
    },
    setDelivered: (segment, seq) => settings.set(key(segment), String(seq)),
  };
}

/** Starts delivering this writer's segments to `audit.sink`, behind the writer and never in a decision's way. */
async function startSink(config: Config, plane: ControlPlane, audit: AuditLog, clock: Clock, log: Logger): Promise<AuditForwarder> {
  const sink = config.audit.sink!;
  const encode: EncodeEvent = sink.format === 'ocsf' ? (e) => JSON.stringify(toOcsf(e, MANDATE_VERSION)) : (e) => JSON.stringify(e);
  let destination: AuditDestination;
  if (sink.webhook) {
    const hook = sink.webhook;
    // Secrets are read again at most once a minute: a rotated token is picked up without a `secret.used` record per post.
    let headers: { values: Record<string, string>; atMs: number } | undefined;
    destination = webhookAuditDestination(
      {
        url: hook.url,
        timeoutMs: hook.timeoutMs,
        headers: async () => {
          if (!headers || clock.nowMs() - headers.atMs > 60_000) headers = { values: (await plane.secrets.resolveAll(hook.headers, 'audit.sink')).values, atMs: clock.nowMs() };
          return headers.values;
        },
      },
      encode,
    );
  } else destination = fileAuditDestination(sink.file!, encode);
  const forwarder = AuditForwarder.start({
    repo: plane.store.audit,
    cursor: settingsSinkCursor(plane.store.settings),
    destination,
    segments: ownSegments(await plane.store.audit.segments(), config.audit.segment, audit.segment),
    batchEvents: sink.batchEvents,
    backoffMs: sink.backoffMs,
    maxBackoffMs: sink.maxBackoffMs,
    pollMs: 1000,
    onFault: (err, attempt) => log.warn(`audit sink ${destination.name}: ${err instanceof Error ? err.message : String(err)} (attempt ${attempt}); retrying`),
  });
  audit.whenStored(() => forwarder.nudge());
  return forwarder;
}

/** A loopback page, or one the configuration names; anything unparsable is refused. */
function originAllowed(origin: string, allowed: readonly string[]): boolean {
  if (allowed.includes(origin)) return true;
  try {
    return ['localhost', '127.0.0.1', '[::1]'].includes(new URL(origin).hostname);
  } catch {
    return false;
  }
}

/** The witness of the checkpoints: a file beside the store by default; none for `:memory:`, which nothing outlives. */
export function auditWitnessFor(config: Config): AuditWitness | undefined {
  if (config.audit.witnessFile) return fileAuditWitness(config.audit.witnessFile);
  const url = config.store.url;
  if (url === ':memory:') return undefined;
  if (url.startsWith('file:')) return fileAuditWitness(`${dirname(url.slice('file:'.length))}/audit-witness.jsonl`);
  // One witness per database: deployments on other databases or schemas from the same folder must not share one.
  const which = createHash('sha256').update(url.replace(/\/\/[^@/]*@/, '//')).digest('hex').slice(0, 12);
  return fileAuditWitness(resolve('.mandate', `audit-witness-${which}.jsonl`));
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
