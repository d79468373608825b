import { verifyTrail, type AuditEvent, type AuditFilter, type AuditLog, type AuditPosition, type AuditRepo, type AuditWitness, type TrailReport } from '../../audit/index.js';
import { CodedError, canonicalJson, parseId, sha256Hex, type TaskId } from '../../core/index.js';
import type { Task, TaskRepo } from '../../mandate/index.js';
import { assembleTrail, type TaskTrail } from './task-trail.js';

export interface AuditSearch {
  filter: AuditFilter;
  order: 'asc' | 'desc';
  limit: number;
  /** `nextCursor` of the previous page of the same search. */
  cursor?: string;
}

export interface AuditSearchPage {
  events: AuditEvent[];
  /** Where the next page starts; null when this one was not full. */
  nextCursor: string | null;
}

/** Most tasks and events one task trail returns; the rest is marked `truncated`. */
const MAX_TRAIL_TASKS = 1000;
const MAX_TRAIL_EVENTS = 50_000;
const TRAIL_PAGE = 1000;

/** Reading the audit trail: search, one task's trail, recent decisions, and proof that it was not edited. */
export class Trail {
  constructor(private readonly d: { log: AuditLog; records: AuditRepo; tasks: TaskRepo; witness?: AuditWitness }) {}

  /**
   * One page of the events matching a search, in (time, segment, seq) order. The
   * cursor is opaque to callers: the position of the last event returned, bound to
   * the search it came from. It reads what is stored: not waiting for the batch in
   * flight keeps a search from stalling behind a busy writer. Errors: request.invalid
   * (a cursor of another search).
   */
  async search(q: AuditSearch): Promise<AuditSearchPage> {
    const after = q.cursor === undefined ? undefined : decodeCursor(q.cursor, searchKey(q));
    const events = await this.d.records.search(q.filter, { after, limit: q.limit, order: q.order });
    const last = events[events.length - 1];
    return { events, nextCursor: last && events.length === q.limit ? encodeCursor(last, searchKey(q)) : null };
  }

  /**
   * One task's trail, its delegated tasks included: purpose, calls with their
   * decisions and results, and everything else recorded, in order. Errors: request.not_found.
   */
  async taskTrail(id: string): Promise<TaskTrail> {
    const taskId = parseId('task', id);
    const root = taskId && (await this.d.tasks.get(taskId));
    if (!root) throw new CodedError('request.not_found', `no task \`${id}\``);
    const tasks: Task[] = [root];
    let truncated = false;
    for (let i = 0; i < tasks.length; i++) {
      const children = await this.d.tasks.list({ parentTaskId: tasks[i]!.id, limit: MAX_TRAIL_TASKS });
      children.sort((a, b) => a.createdAtMs - b.createdAtMs || a.id.localeCompare(b.id));
      tasks.push(...children);
      if (tasks.length > MAX_TRAIL_TASKS) {
        tasks.length = MAX_TRAIL_TASKS;
        truncated = true;
        break;
      }
    }
    const events: AuditEvent[] = [];
    for (let after: AuditPosition | undefined; ; ) {
      const page = await this.d.records.search({ taskIds: tasks.map((t) => t.id) }, { after, limit: TRAIL_PAGE, order: 'asc' });
      events.push(...page);
      if (page.length < TRAIL_PAGE) break;
      if (events.length >= MAX_TRAIL_EVENTS) {
        truncated = true;
        break;
      }
      after = page[page.length - 1];
    }
    return assembleTrail(root, tasks, events, truncated);
  }

  /**
   * Decisions, newest first, each with the task's `labels` and `toolsCalled` as they
   * stood then. A record carries only what was added since the previous one of its
   * task (`labelsAdded`, `toolsCalledAdded`): the sets are its task's records up to
   * it, added up (older records carry whole sets, which add up the same).
   */
  async recentDecisions(taskId: TaskId | undefined, limit: number | undefined): Promise<AuditEvent[]> {
    const events = await this.d.records.list({ type: 'decision', taskId, limit, order: 'desc' });
    const asOf = new Map<string, { labels: string[]; toolsCalled: string[] }>();
    for (const task of new Set(events.flatMap((e) => (e.taskId ? [e.taskId] : [])))) {
      const labels = new Set<string>();
      const tools = new Set<string>();
      for (const e of await this.d.records.list({ type: 'decision', taskId: task, order: 'asc', limit: MAX_FOLDED })) {
        for (const l of strings(e.data['labelsAdded'] ?? e.data['labels'])) labels.add(l);
        for (const t of strings(e.data['toolsCalledAdded'] ?? e.data['toolsCalled'])) tools.add(t);
        asOf.set(e.id, { labels: [...labels], toolsCalled: [...tools] });
      }
    }
    return events.map((e) => ({ ...e, data: { ...e.data, ...(asOf.get(e.id) ?? {}) } }));
  }

  /** Recomputes every segment's chain and holds the store against the witnessed checkpoints, once what is recorded so far is stored. */
  async verify(): Promise<TrailReport> {
    await this.d.log.flush();
    const witness = this.d.witness;
    return verifyTrail(this.d.records, witness && { name: witness.name, checkpoints: await witness.read() });
  }
}

/** Most decision records of one task read to add up its sets. */
const MAX_FOLDED = 100_000;

function strings(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
}

/** What a cursor is bound to: the same filters in the same order, or the position means nothing. */
function searchKey(q: AuditSearch): string {
  return sha256Hex(canonicalJson({ filter: q.filter, order: q.order })).slice(0, 16);
}

function encodeCursor(e: AuditPosition, key: string): string {
  return Buffer.from(JSON.stringify([key, e.atMs, e.segment, e.seq])).toString('base64url');
}

function decodeCursor(cursor: string, key: string): AuditPosition {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    parsed = undefined;
  }
  if (Array.isArray(parsed) && parsed.length === 4 && typeof parsed[1] === 'number' && typeof parsed[2] === 'string' && typeof parsed[3] === 'number') {
    if (parsed[0] === key) return { atMs: parsed[1], segment: parsed[2], seq: parsed[3] };
    throw new CodedError('request.invalid', 'query: cursor belongs to a search with other filters or another order');
  }
  throw new CodedError('request.invalid', 'query: cursor is not one this API returned');
}
