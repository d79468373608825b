import type SQLite from 'better-sqlite3';
import { decisionIdOf, type AuditEvent } from '../../audit/index.js';
import type { AuditRepo } from '../../audit/index.js';
import type { Task } from '../../mandate/index.js';
import type { TaskRepo } from '../../mandate/index.js';
import { canonicalJson } from '../../core/index.js';
import { AUDIT_HASHED_TEXT } from './dialect.js';

export interface HotPathOptions {
  maxLiveCounts: number;
  nowMs: () => number;
}

/** The embedded store's own call counting and audit append, in place of the shared ones. */
export interface PreparedHotPath {
  /** The shared task repository with call counting taken over; reads see the live count. */
  tasks: TaskRepo;
  append: AuditRepo['append'];
  scan: AuditRepo['scan'];
  links: AuditRepo['links'];
  /** Tasks whose call count is held in memory. */
  liveCounts(): number;
  /** Writes the counts not yet written; before the database closes. */
  flush(): void;
}

/**
 * The two writes on every decision, the exact call count and the audit record,
 * as prepared statements in one transaction. The embedded store has a single
 * writer (this process), so the count is exact in memory; it is written in the
 * same transaction as the next audit batch, which the decision awaits before it
 * returns. One WAL commit per decision instead of two, and no Kysely query
 * building on the hot path. The store contract suite runs against this.
 *
 * INVARIANT: a count not yet written (`dirty`) is never dropped from memory. A
 * written one may be, at any time: the row holds it, and it is read back on the
 * task's next call. Written counts are dropped when the task ends or expires,
 * and beyond `maxLiveCounts`, least recently used first.
 */
export function preparedHotPath(sqlite: SQLite.Database, tasks: TaskRepo, { maxLiveCounts, nowMs }: HotPathOptions): PreparedHotPath {
  const insertEvent = prepareInsertEvent(sqlite);
  const readCount = sqlite.prepare<[string], { call_count: number; status: string; expires_at_ms: number }>('SELECT call_count, status, expires_at_ms FROM tasks WHERE id = ?');
  const writeCount = sqlite.prepare('UPDATE tasks SET call_count = ? WHERE id = ?');
  /** Live count of active tasks that took calls in this process, least recently used first. */
  const counts = new Map<string, { count: number; active: boolean; expiresAtMs: number }>();
  const dirty = new Set<string>();
  const writeDirty = () => {
    for (const id of dirty) {
      const live = counts.get(id)!;
      writeCount.run(live.count, id);
      if (!live.active) counts.delete(id);
    }
    dirty.clear();
  };
  /** Drops written counts from the front (least recently used) while over capacity, ended or expired; a few per call. */
  const trim = () => {
    let looked = 0;
    const now = nowMs();
    for (const [id, live] of counts) {
      if (looked++ >= 8) return;
      if (dirty.has(id)) continue;
      if (counts.size > maxLiveCounts || !live.active || live.expiresAtMs <= now) counts.delete(id);
      else return;
    }
  };
  const appendAll = sqlite.transaction((events: readonly AuditEvent[]) => {
    insertEvent(events);
    writeDirty();
  });
  const overlay = (t: Task): Task => {
    const live = counts.get(t.id);
    return live === undefined ? t : { ...t, callCount: live.count };
  };
  return {
    tasks: {
      insert: (t) => tasks.insert(t),
      get: async (id) => {
        const t = await tasks.get(id);
        return t && overlay(t);
      },
      list: async (q) => (await tasks.list(q)).map(overlay),
      // Call counts play no part: statuses and expiries are written at once.
      countActive: (nowMs) => tasks.countActive(nowMs),
      incrementCalls: async (id, maxCalls) => {
        let live = counts.get(id);
        if (live) {
          counts.delete(id); // most recently used: to the back
          counts.set(id, live);
        } else {
          const row = readCount.get(id);
          // An ended task takes no calls, and nothing of it is kept.
          if (!row || row.status !== 'active') return undefined;
          live = { count: Number(row.call_count), active: true, expiresAtMs: Number(row.expires_at_ms) };
          counts.set(id, live);
        }
        if (!live.active || (maxCalls !== null && live.count >= maxCalls)) return undefined;
        live.count += 1;
        dirty.add(id);
        // After dirty.add: the count just taken must not be the one dropped.
        trim();
        return live.count;
      },
      end: async (id, status, atMs, reason) => {
        const ended = await tasks.end(id, status, atMs, reason);
        const live = counts.get(id);
        if (live) {
          live.active = false;
          // A count not yet written stays until the next audit batch writes it.
          if (!dirty.has(id)) counts.delete(id);
        }
        return ended;
      },
    },
    append: async (events) => {
      appendAll(events);
    },
    scan: prepareScan(sqlite),
    links: prepareLinks(sqlite),
    liveCounts: () => counts.size,
    flush: sqlite.transaction(writeDirty),
  };
}

/**
 * The hot path when other processes write the same file (the workers of one
 * `mandate serve`): no count can be exact in one process's memory, so each call
 * is counted by one atomic conditional UPDATE, as on PostgreSQL; the audit
 * append stays a prepared statement.
 */
export function sharedHotPath(sqlite: SQLite.Database, tasks: TaskRepo): PreparedHotPath {
  const insertEvent = prepareInsertEvent(sqlite);
  const limited = sqlite.prepare<[string, number], { call_count: number }>(
    "UPDATE tasks SET call_count = call_count + 1 WHERE id = ? AND status = 'active' AND call_count < ? RETURNING call_count",
  );
  const unlimited = sqlite.prepare<[string], { call_count: number }>("UPDATE tasks SET call_count = call_count + 1 WHERE id = ? AND status = 'active' RETURNING call_count");
  const appendAll = sqlite.transaction(insertEvent);
  return {
    tasks: {
      ...tasks,
      incrementCalls: async (id, maxCalls) => {
        const row = maxCalls === null ? unlimited.get(id) : limited.get(id, maxCalls);
        return row === undefined ? undefined : Number(row.call_count);
      },
    },
    append: async (events) => {
      appendAll(events);
    },
    scan: prepareScan(sqlite),
    links: prepareLinks(sqlite),
    liveCounts: () => 0,
    flush: () => undefined,
  };
}

/** A segment's events as stored, read as rows of values rather than objects: verifying reads millions. */
function prepareScan(sqlite: SQLite.Database): AuditRepo['scan'] {
  const select = sqlite
    .prepare<[string, number, number], unknown[]>('SELECT segment, seq, id, type, at_ms, task_id, agent_id, data, prev_hash, hash FROM audit_events WHERE segment = ? AND seq > ? ORDER BY seq LIMIT ?')
    .raw(true);
  return async (segment, afterSeq, limit) =>
    select.all(segment, afterSeq, limit).map((r) => ({
      segment: r[0] as string,
      seq: Number(r[1]),
      id: r[2] as string,
      type: r[3] as string,
      atMs: Number(r[4]),
      taskId: r[5] as string | null,
      agentId: r[6] as string | null,
      dataText: r[7] as string,
      prevHash: r[8] as string,
      hash: r[9] as string,
    }));
}

/** A segment's links, the hashed text put together by SQLite: one string an event to hand to JavaScript instead of eight. */
function prepareLinks(sqlite: SQLite.Database): AuditRepo['links'] {
  const select = sqlite
    .prepare<[string, number, number], unknown[]>(`SELECT seq, prev_hash, hash, ${AUDIT_HASHED_TEXT} FROM audit_events WHERE segment = ? AND seq > ? ORDER BY seq LIMIT ?`)
    .raw(true);
  return async (segment, afterSeq, limit) =>
    select.all(segment, afterSeq, limit).map((r) => ({ seq: Number(r[0]), prevHash: r[1] as string, hash: r[2] as string, hashed: r[3] as string | null }));
}

function prepareInsertEvent(sqlite: SQLite.Database): (events: readonly AuditEvent[]) => void {
  const insert = sqlite.prepare('INSERT INTO audit_events (segment, seq, id, type, at_ms, task_id, agent_id, data, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)');
  // A decision id seen twice keeps its first place: a lookup table never refuses an audit record.
  const insertDecision = sqlite.prepare('INSERT INTO audit_decisions (decision_id, segment, seq) VALUES (?, ?, ?) ON CONFLICT (decision_id) DO NOTHING');
  // Called inside the append's transaction: a record and its place by decision id are stored together.
  return (events) => {
    for (const e of events) {
      insert.run(e.segment, e.seq, e.id, e.type, e.atMs, e.taskId, e.agentId, e.dataText ?? canonicalJson(e.data), e.prevHash, e.hash);
      const decisionId = decisionIdOf(e);
      if (decisionId !== null) insertDecision.run(decisionId, e.segment, e.seq);
    }
  };
}
