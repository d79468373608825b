import type { ApprovalService } from '../../approvals/index.js';
import type { AuditSink } from '../../audit/index.js';
import { CodedError, Lru, sha256Hex, type Clock, type Random, type ToolCatalog } from '../../core/index.js';
import type { CredentialService } from '../../credentials/index.js';
import type { DecisionPorts, RateWindow } from '../../decision/index.js';
import type { TaskRepo } from '../../mandate/index.js';
import type { TaskMonitor } from '../../monitor/index.js';
import { buildCedarRequest, type PolicyEngine } from '../../policy/index.js';
import type { StoreHealth } from '../../store/index.js';
import type { PossessionCheck } from './possession.js';
import type { TaskMemory } from './task-memory.js';

export interface DecisionPortsDeps {
  /** DPoP proofs for key-bound credentials. */
  possession: PossessionCheck;
  /** An agent's SVID verified: the SPIFFE ID it proves, and until when. Errors: identity.*. */
  verifySvid(svid: string): Promise<{ spiffeId: string; expiresAtMs: number }>;
  approvals: ApprovalService;
  monitor: TaskMonitor;
  credentials: CredentialService;
  memory: TaskMemory;
  tasks: Pick<TaskRepo, 'incrementCalls'>;
  tools: ToolCatalog;
  ceiling: PolicyEngine;
  rate: RateWindow;
  health: StoreHealth;
  storeAvailable: () => boolean;
  audit: AuditSink;
  recordArguments: DecisionPorts['recordArguments'];
  clock: Clock;
  random: Random;
  environment: string;
}

/**
 * What the kernel runs on: every store call on the decision path goes through the
 * store's health guard. What is already in memory is handed out as is while the
 * store is healthy: a guard (a timer and a race, ≈ 4 µs) bounds waiting on the
 * store, and there is none. While it is down, every call still fails fast, so the
 * gateways answer 503 before anything else.
 */
export function decisionPortsOver(d: DecisionPortsDeps): DecisionPorts {
  const guard = <T>(call: Promise<T>) => d.health.guard(call);
  const known = <T>(value: T | undefined, load: () => Promise<T>): Promise<T> => (value !== undefined && d.health.available ? Promise.resolve(value) : guard(load()));
  const { approvals, monitor, memory } = d;
  // A delegated credential comes with its actor's SVID on every call: verified once until it expires.
  const svids = new Lru<string, { spiffeId: string; expiresAtMs: number }>(10_000);
  return {
    proveHolder: async (claims, token, presented) => {
      const jkt = claims.confirm?.jkt;
      if (jkt !== undefined) {
        await d.possession.dpop(presented, { accessToken: token, jkt });
        return;
      }
      const spiffeId = claims.confirm?.spiffeId;
      if (spiffeId === undefined) return;
      if (!presented?.svid) throw new CodedError('credential.holder_unproven', 'a delegated task credential works only for the agent it was issued to: present its SVID in the `Mandate-SVID` header');
      const key = sha256Hex(presented.svid);
      let proven = svids.get(key);
      if (!proven || proven.expiresAtMs <= d.clock.nowMs()) {
        try {
          proven = await d.verifySvid(presented.svid);
        } catch (err) {
          if (err instanceof CodedError && err.code === 'store.unreachable') throw err;
          throw new CodedError('credential.holder_unproven', 'the SVID presented with the delegated credential does not verify');
        }
        svids.set(key, proven);
      }
      if (proven.spiffeId !== spiffeId) throw new CodedError('credential.holder_unproven', `the credential was issued to \`${spiffeId}\`, not to the agent whose SVID came with it`);
    },
    approvals: {
      consume: (...a) => guard(approvals.consume(...a)),
      latestFor: (...a) => guard(approvals.latestFor(...a)),
      request: (...a) => guard(approvals.request(...a)),
    },
    monitor: {
      state: (task) => known(monitor.inMemory(task), () => monitor.state(task)),
      observe: (task, o) => guard(monitor.observe(task, o)),
      observeResult: (task, labels, bytes) => guard(monitor.observeResult(task, labels, bytes)),
      observeValues: (task, found) => guard(monitor.observeValues(task, found)),
      score: (b) => monitor.score(b),
    },
    verifyCredential: (t) => d.credentials.verify(t),
    revocations: d.credentials.revocationSet,
    getTask: (id) => known(memory.tasks.cached(id), () => memory.tasks.get(id)),
    getAgent: (id) => known(memory.agents.cached(id), () => memory.agents.get(id)),
    incrementCalls: (id, max) => guard(d.tasks.incrementCalls(id, max)),
    reloadTask: async (id) => {
      memory.tasks.forget(id);
      return guard(memory.tasks.get(id));
    },
    // A new object, not a changed one: a decision in flight keeps the task it started with.
    recordCallCount: (id, count) => memory.tasks.update(id, (t) => (count > t.callCount ? { ...t, callCount: count } : t)),
    tools: d.tools,
    ceiling: d.ceiling,
    buildCedarRequest,
    rate: d.rate,
    audit: d.audit,
    recordArguments: d.recordArguments,
    clock: d.clock,
    random: d.random,
    environment: d.environment,
    storeAvailable: d.storeAvailable,
  };
}
