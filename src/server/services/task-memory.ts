import type { Clock, AgentId, TaskId } from '../../core/index.js';
import { Lru } from '../../core/index.js';
import type { CredentialService } from '../../credentials/index.js';
import type { RateWindow } from '../../decision/index.js';
import type { Agent, AgentRepo } from '../../identity/index.js';
import type { Task, TaskRepo } from '../../mandate/index.js';
import type { TaskMonitor } from '../../monitor/index.js';

/** A read-through cache, least recently used dropped first, for records changed only by the notified paths (end, another replica). */
export class Lookup<K, V> {
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
  /** The cached value (a use: it becomes the most recent), without loading it. */
  cached(key: K): V | undefined {
    return this.lru.get(key);
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

/** Expired tasks, and tasks ended on another replica, leave memory. A pass over 100,000 tasks takes milliseconds: not every few seconds. */
const SWEEP_MS = 30_000;

export interface TaskMemoryDeps {
  tasks: Pick<TaskRepo, 'get'>;
  agents: Pick<AgentRepo, 'get'>;
  capacity: { tasks: number; agents: number };
  monitor: TaskMonitor;
  credentials: CredentialService;
  rate: RateWindow;
  clock: Clock;
}

/**
 * What this replica holds in memory per task and per agent — cached records,
 * monitor state, verified credentials, rate windows — and letting go of it when
 * a task ends or expires.
 */
export class TaskMemory {
  readonly tasks: Lookup<TaskId, Task>;
  readonly agents: Lookup<AgentId, Agent>;
  private readonly sweeper: NodeJS.Timeout;

  constructor(private readonly d: TaskMemoryDeps) {
    this.tasks = new Lookup((id) => d.tasks.get(id), d.capacity.tasks);
    this.agents = new Lookup((id) => d.agents.get(id), d.capacity.agents);
    this.sweeper = setInterval(() => this.sweep(), SWEEP_MS);
    this.sweeper.unref();
  }

  /** An ended task's state leaves memory at once (its verified credential goes with the next sweep: it is revoked). */
  forget(id: TaskId): void {
    this.changedElsewhere(id);
    this.d.rate.forget(id);
  }

  /** Another replica changed the task: read it again on its next call. */
  changedElsewhere(id: TaskId): void {
    this.tasks.forget(id);
    this.d.monitor.forget(id);
  }

  /**
   * Drops what this replica holds of tasks that expired or ended (cached records,
   * monitor state, verified credentials). One pass over each cache; a task's rate
   * window goes once it has been idle for a minute.
   */
  sweep(): void {
    const now = this.d.clock.nowMs();
    this.tasks.prune((t) => t.status !== 'active' || t.expiresAtMs <= now);
    this.d.monitor.sweep(now);
    this.d.credentials.sweep(now);
  }

  /** Per-task entries in memory, by structure (for the memory benchmarks and tests). */
  counts(): { tasks: number; monitor: number; credentials: number; rateWindows: number } {
    return { tasks: this.tasks.size, monitor: this.d.monitor.size, credentials: this.d.credentials.cachedCount, rateWindows: this.d.rate.size };
  }

  close(): void {
    clearInterval(this.sweeper);
  }
}
