import type { Actor, AuditSink } from '../audit/index.js';
import { Lru, type Clock, type TaskId } from '../core/index.js';
import type { Task } from '../mandate/index.js';
import { driftScore, freshBehaviour, observeDecision, observeResult, type Behaviour, type DriftResponse, type MonitorSettings, type ObservedDecision, type Signal } from './behaviour.js';
import type { BehaviourRepo } from './ports.js';
import { betterTrust, recordSeen, type SourceTrust } from '../provenance/index.js';

/** Values found in one result with the trust they were found with. */
export interface SeenGroup {
  keys: Iterable<string>;
  trust: SourceTrust;
}

/** Distinct values kept per task: 10,000 hashes is about 400 KB in the store. */
const DEFAULT_MAX_SEEN = 10_000;

/** A value seen in several places keeps the best of them (the store keeps a row for each). */
function seenMap(rows: readonly [string, SourceTrust][]): Map<string, SourceTrust> {
  const seen = new Map<string, SourceTrust>();
  for (const [hash, trust] of rows) if (betterTrust(trust, seen.get(hash))) seen.set(hash, trust);
  return seen;
}

/** The salt of a task's value hashes: its id and credential id, so hashes do not correlate across tasks. */
export function seenSalt(task: Pick<Task, 'id' | 'credentialId'>): string {
  return `${task.id}:${task.credentialId}`;
}

export interface MonitorDeps {
  repo: BehaviourRepo;
  settings: MonitorSettings;
  audit: AuditSink;
  clock: Clock;
  /** Carries out `revoke` and `alert` (the composition root owns revocation and notification). */
  respond(task: Task, signal: Signal, response: DriftResponse, score: number): Promise<void>;
  /** Tells other replicas the task's stored behaviour changed. */
  publish(taskId: TaskId): Promise<void>;
  /** Tasks whose behaviour is kept in memory; the least recently decided is read back from the store when needed. */
  capacity?: number;
  /** Distinct seen values kept per task. */
  maxSeenValues?: number;
}

interface Cached {
  behaviour: Promise<Behaviour>;
  /** The same, once read: what `inMemory` hands out without a store call. */
  loaded?: Behaviour;
  expiresAtMs: number;
  /** The task was active when its state was read (a call on an ended task still reads it). */
  active: boolean;
}

/** Step 5 of the request path: per-task behaviour, signals and responses. */
export class TaskMonitor {
  private readonly cache: Lru<TaskId, Cached>;

  constructor(private readonly d: MonitorDeps) {
    this.cache = new Lru(d.capacity ?? 100_000);
  }

  /** Tasks whose state is in memory. */
  get size(): number {
    return this.cache.size;
  }

  /** The task's behaviour as the next decision must see it (labels, tools called, suspension). */
  state(task: Task): Promise<Behaviour> {
    const hit = this.cache.get(task.id);
    if (hit) return hit.behaviour;
    const behaviour = this.d.repo.get(task.id).then((stored) => ({ ...freshBehaviour(), ...(stored ?? {}), tightenedBy: stored?.tightenedBy ?? null, seen: seenMap(stored?.seen ?? []) }));
    const entry: Cached = { behaviour, expiresAtMs: task.expiresAtMs, active: task.status === 'active' };
    behaviour.then(
      (b) => (entry.loaded = b),
      () => {
        if (this.cache.peek(task.id)?.behaviour === behaviour) this.cache.delete(task.id);
      },
    );
    this.cache.set(task.id, entry);
    return behaviour;
  }

  /** The task's behaviour when it is already in memory (no store call to bound), else undefined. */
  inMemory(task: Task): Behaviour | undefined {
    return this.cache.get(task.id)?.loaded;
  }

  /** Another replica changed it, or the task ended: read it again on the next call. */
  forget(taskId: TaskId): void {
    this.cache.delete(taskId);
  }

  /** Drops the state of tasks that have expired or had ended when it was read; returns how many. */
  sweep(nowMs: number): number {
    return this.cache.prune((c) => !c.active || c.expiresAtMs <= nowMs);
  }

  score(b: Behaviour): number {
    return driftScore(b);
  }

  /** Counts a decision; fires signals and carries out their responses before the next call. */
  async observe(task: Task, d: ObservedDecision): Promise<Behaviour> {
    const b = await this.state(task);
    const firstUse = d.outcome === 'allow' && !b.toolsCalled.includes(d.tool);
    const fired = observeDecision(b, d, this.d.clock.nowMs(), this.d.settings);
    if (fired.length === 0) {
      if (firstUse) void this.persist(task, b).catch(() => undefined);
      return b;
    }
    const score = driftScore(b);
    for (const signal of fired) {
      const response = this.d.settings.responses[signal];
      if (response === 'suspend' && b.suspendedBy === null) b.suspendedBy = signal;
      if (response === 'step_up' && b.stepUpBy === null) b.stepUpBy = signal;
      if (response === 'tighten' && b.tightenedBy === null) b.tightenedBy = signal;
      // What triggered it: the decision (its record holds the call's arguments) and where the call's targets came from.
      await this.d.audit.record({
        type: 'monitor.signal',
        taskId: task.id,
        agentId: task.agentId,
        data: { signal, response, score, tool: d.tool, code: d.code, ...(d.decisionId ? { decisionId: d.decisionId } : {}), ...(d.targets?.length ? { targets: d.targets } : {}) },
      });
    }
    await this.persist(task, b);
    for (const signal of fired) {
      const response = this.d.settings.responses[signal];
      if (response === 'revoke' || response === 'alert' || response === 'tighten') await this.d.respond(task, signal, response, score);
    }
    return b;
  }

  /** A result came back with these labels. */
  async observeResult(task: Task, labels: readonly string[], bytes: number): Promise<void> {
    const b = await this.state(task);
    if (observeResult(b, labels, bytes)) await this.persist(task, b);
  }

  /**
   * Values found in a result: kept (as salted hashes, up to `maxSeenValues` per task)
   * so later calls can tell where their targets came from.
   */
  async observeValues(task: Task, found: readonly SeenGroup[]): Promise<void> {
    const b = await this.state(task);
    // Groups in order, a later one upgrading an earlier (a sender is first seen in the untrusted text, then as the sender); one write for all.
    const changed = found.flatMap((g) => recordSeen(b.seen, seenSalt(task), g.keys, g.trust, this.d.maxSeenValues ?? DEFAULT_MAX_SEEN));
    if (changed.length === 0) return;
    await this.d.repo.addSeen(task.id, changed);
    await this.d.publish(task.id).catch(() => undefined);
  }

  /** What the monitor knows of a task, as the API shows it: score, signals, suspension, labels read, tools called. */
  async summary(task: Task): Promise<{ score: number; signals: Behaviour['signals']; suspendedBy: Behaviour['suspendedBy']; stepUpBy: Behaviour['stepUpBy']; tightenedBy: Behaviour['tightenedBy']; labels: string[]; toolsCalled: string[] }> {
    const b = await this.state(task);
    return { score: driftScore(b), signals: b.signals, suspendedBy: b.suspendedBy, stepUpBy: b.stepUpBy, tightenedBy: b.tightenedBy, labels: b.labels, toolsCalled: b.toolsCalled };
  }

  /**
   * An operator suspends the task: every call is refused (`monitor.suspended`) until
   * a person resumes it. Stored and published like a drift suspension, so every
   * replica refuses from its next call on.
   */
  async suspend(task: Task, by: Actor, reason: string): Promise<void> {
    const b = await this.state(task);
    b.suspendedBy = 'operator';
    await this.persist(task, b);
    await this.d.audit.record({ type: 'monitor.suspended', taskId: task.id, agentId: task.agentId, data: { by, reason } });
  }

  /** A person lifted the suspension and the step-up response. */
  async resume(task: Task, by: Actor, reason: string): Promise<void> {
    const b = await this.state(task);
    b.suspendedBy = null;
    b.stepUpBy = null;
    b.tightenedBy = null;
    b.recentDenialsMs = [];
    // Lifted signals may fire again; alerts stay fired.
    b.signals = b.signals.filter((s) => !['suspend', 'step_up', 'tighten'].includes(this.d.settings.responses[s]));
    await this.persist(task, b);
    await this.d.audit.record({ type: 'monitor.resumed', taskId: task.id, agentId: task.agentId, data: { by, reason } });
  }

  private async persist(task: Task, b: Behaviour): Promise<void> {
    await this.d.repo.save(task.id, { labels: b.labels, toolsCalled: b.toolsCalled, signals: b.signals, suspendedBy: b.suspendedBy, stepUpBy: b.stepUpBy, tightenedBy: b.tightenedBy, score: driftScore(b) }, this.d.clock.nowMs());
    await this.d.publish(task.id).catch(() => undefined);
  }
}
