import type { AuditEvent, AuditFilter, AuditRepo, CodeCount } from '../../audit/index.js';
import { CodedError, parseId, type Clock } from '../../core/index.js';
import type { AgentRepo } from '../../identity/index.js';
import type { TaskRepo, TaskStatus } from '../../mandate/index.js';
import type { ApprovalRepo } from '../../approvals/index.js';
import type { LoadedPolicies } from '../../policy/index.js';

/** Decisions of each outcome in one time bucket. */
export interface OutcomeBucket {
  startMs: number;
  allow: number;
  deny: number;
  step_up: number;
}

/** What the console's first page shows, every number counted by the store. */
export interface Overview {
  atMs: number;
  agents: { registered: number; disabled: number };
  tasks: { active: number; suspended: number };
  approvals: { pending: number };
  /** Drift signals (`monitor.signal`) recorded in the last hour. */
  driftAlerts: number;
  decisionsLastMinute: Omit<OutcomeBucket, 'startMs'>;
  windowMinutes: number;
  bucketSeconds: number;
  /** Every bucket of the window, oldest first, empty ones included. */
  series: OutcomeBucket[];
  /** Refusals (deny and step_up) in the window by reason code, most frequent first. */
  topReasons: CodeCount[];
}

/** A determining policy: its id, and where this replica holds its set, its source as a person edits it. */
export interface PolicySource {
  id: string;
  file?: string;
  line?: number;
  text?: string;
}

/** Where the text of determining policies comes from: the set a version names, when this replica holds it. */
export interface PolicySources {
  policyVersion: number | null;
  policies: PolicySource[];
  /** The decision was taken under a version this replica no longer holds (or names policies it lacks): some have their id only. */
  sourceUnavailable: boolean;
}

/** A task as a decision's detail shows it. */
export interface DecisionTask {
  id: string;
  purpose: string;
  agent: string;
  agentId: string;
  principal: string | null;
  status: TaskStatus;
  /** The path of its whole trail. */
  trail: string;
}

export interface DecisionDetail extends PolicySources {
  /** The decision record as stored. */
  record: AuditEvent;
  task: DecisionTask | null;
}

const HOUR_MS = 3_600_000;
const MINUTE_MS = 60_000;
const REFUSALS = ['deny', 'step_up'] as const;
const TOP_REASONS = 10;

/** The read side of the operator console: aggregates, one decision with its policies' text. Reads only; records nothing. */
export class ConsoleReads {
  constructor(
    private readonly d: {
      records: AuditRepo;
      agents: AgentRepo;
      tasks: TaskRepo;
      approvals: Pick<ApprovalRepo, 'countPending'>;
      /** The policy set this replica serves now, and its version. */
      policies: () => { version: number; loaded: LoadedPolicies | undefined };
      clock: Clock;
    },
  ) {}

  /** Counts for the console's overview over a window ending now; every count is an SQL aggregate. */
  async overview(windowMinutes: number, bucketSeconds: number): Promise<Overview> {
    const nowMs = this.d.clock.nowMs();
    const bucketMs = bucketSeconds * 1000;
    // Buckets are aligned to their size, so a console polling every few seconds sees the same buckets fill.
    const untilMs = (Math.floor(nowMs / bucketMs) + 1) * bucketMs;
    const sinceMs = untilMs - Math.ceil((windowMinutes * MINUTE_MS) / bucketMs) * bucketMs;
    const [agents, tasks, pending, driftAlerts, lastMinute, counted, topReasons] = await Promise.all([
      this.d.agents.count(),
      this.d.tasks.countActive(nowMs),
      this.d.approvals.countPending(nowMs),
      this.d.records.countEvents('monitor.signal', nowMs - HOUR_MS, nowMs + 1),
      this.d.records.countDecisions(nowMs - MINUTE_MS, nowMs + 1, MINUTE_MS + 1),
      this.d.records.countDecisions(sinceMs, untilMs, bucketMs),
      this.d.records.countDecisionCodes(REFUSALS, sinceMs, untilMs, TOP_REASONS),
    ]);
    const series: OutcomeBucket[] = [];
    for (let startMs = sinceMs; startMs < untilMs; startMs += bucketMs) series.push({ startMs, allow: 0, deny: 0, step_up: 0 });
    for (const c of counted) {
      const bucket = series[Math.round((c.bucketStartMs - sinceMs) / bucketMs)];
      if (bucket && isOutcome(c.outcome)) bucket[c.outcome] += c.count;
    }
    const decisionsLastMinute = { allow: 0, deny: 0, step_up: 0 };
    for (const c of lastMinute) if (isOutcome(c.outcome)) decisionsLastMinute[c.outcome] += c.count;
    return { atMs: nowMs, agents, tasks, approvals: { pending }, driftAlerts, decisionsLastMinute, windowMinutes, bucketSeconds, series, topReasons };
  }

  /** One decision record, the text of the policies that decided it, and its task. Errors: request.not_found. */
  async decision(id: string): Promise<DecisionDetail> {
    const decisionId = parseId('decision', id);
    const event = decisionId && (await this.d.records.decision(decisionId));
    if (!event) throw new CodedError('request.not_found', `no decision \`${id}\``);
    const version = typeof event.data['policyVersion'] === 'number' ? event.data['policyVersion'] : null;
    const ids = Array.isArray(event.data['policies']) ? event.data['policies'].filter((p): p is string => typeof p === 'string') : [];
    const task = event.taskId ? await this.d.tasks.get(event.taskId) : undefined;
    return {
      record: event,
      ...this.sourcesOf(ids, version),
      task: task ? { id: task.id, purpose: task.mandate.purpose, agent: task.agentName, agentId: task.agentId, principal: task.principal, status: task.status, trail: `/v1/tasks/${task.id}/trail` } : null,
    };
  }

  /** The text of these policies in the set of `version`: only the set this replica serves is held. */
  sourcesOf(ids: readonly string[], version: number | null): PolicySources {
    const { version: current, loaded } = this.d.policies();
    if (ids.length === 0) return { policyVersion: version, policies: [], sourceUnavailable: false };
    const byId = new Map(version === current ? (loaded?.policies ?? []).map((p) => [p.id, p]) : []);
    const policies = ids.map((id) => {
      const p = byId.get(id);
      return p ? { id, file: p.file, line: p.line, text: p.text } : { id };
    });
    return { policyVersion: version, policies, sourceUnavailable: policies.some((p) => p.text === undefined) };
  }
}

function isOutcome(o: string): o is 'allow' | 'deny' | 'step_up' {
  return o === 'allow' || o === 'deny' || o === 'step_up';
}

/** Where a live stream stands in each writer's segment: the last seq it has looked at. */
export type TailCursor = Map<string, number>;

/** Most events one segment gives a stream per read. */
const TAIL_PAGE = 200;
/** New segments are looked for among events this much older than the last look: a writer's batch may land late. */
const DISCOVERY_MARGIN_MS = 10_000;

/**
 * Follows the trail as every writer appends to it: each segment by seq from where
 * the stream stands, so a decision another replica stored is seen however late its
 * batch landed. Filtered by the store; a segment whose new events all fail the
 * filter is skipped up to the head read before them, so they are not read again.
 */
export class DecisionTail {
  private lastDiscoveryMs: number;

  private constructor(
    private readonly records: AuditRepo,
    private readonly filter: AuditFilter,
    readonly cursor: TailCursor,
    private readonly clock: Clock,
  ) {
    this.lastDiscoveryMs = clock.nowMs();
  }

  /** From a resumed cursor, or from the head of every segment now. */
  static async start(records: AuditRepo, filter: AuditFilter, clock: Clock, resumeFrom: TailCursor | undefined): Promise<DecisionTail> {
    const cursor: TailCursor = resumeFrom ?? new Map((await records.heads()).map((h) => [h.segment, h.seq]));
    return new DecisionTail(records, { ...filter, types: ['decision'] }, cursor, clock);
  }

  /**
   * The matching decisions stored since the last read, oldest first, each with the
   * cursor that resumes right after it; `cursor` has then moved past them all.
   */
  async read(discoverEveryMs: number): Promise<{ event: AuditEvent; resumeAt: TailCursor }[]> {
    const nowMs = this.clock.nowMs();
    if (nowMs - this.lastDiscoveryMs >= discoverEveryMs) {
      // A segment unknown to this cursor began after it was taken: all of it is new.
      for (const segment of await this.records.segmentsSince(this.lastDiscoveryMs - DISCOVERY_MARGIN_MS)) if (!this.cursor.has(segment)) this.cursor.set(segment, 0);
      this.lastDiscoveryMs = nowMs;
    }
    const pages = await Promise.all(
      [...this.cursor].map(async ([segment, afterSeq]) => {
        const head = await this.records.headOf(segment);
        if (head <= afterSeq) return { segment, events: [] as AuditEvent[], upTo: afterSeq };
        const events = await this.records.tail(segment, afterSeq, head, this.filter, TAIL_PAGE);
        // A full page may stop short of the head: resume after its last event, not at the head.
        return { segment, events, upTo: events.length === TAIL_PAGE ? events[events.length - 1]!.seq : head };
      }),
    );
    const out: { event: AuditEvent; resumeAt: TailCursor }[] = [];
    const running = new Map(this.cursor);
    // Merged by time, each segment taken in seq order: an event's cursor never passes one of its segment not yet sent.
    const queues = pages.map((p) => p.events).filter((q) => q.length > 0);
    while (queues.length > 0) {
      let next = 0;
      for (let i = 1; i < queues.length; i++) if (earlier(queues[i]![0]!, queues[next]![0]!)) next = i;
      const event = queues[next]!.shift()!;
      if (queues[next]!.length === 0) queues.splice(next, 1);
      running.set(event.segment, event.seq);
      out.push({ event, resumeAt: new Map(running) });
    }
    for (const p of pages) this.cursor.set(p.segment, p.upTo);
    // The last event resumes where the whole read ended: past events the filter skipped too.
    if (out.length > 0) out[out.length - 1]!.resumeAt = new Map(this.cursor);
    return out;
  }
}

function earlier(a: AuditEvent, b: AuditEvent): boolean {
  return a.atMs < b.atMs || (a.atMs === b.atMs && a.segment < b.segment);
}

/** A cursor as an SSE event id: opaque to clients, who send it back as `Last-Event-ID`. */
export function encodeTailCursor(cursor: TailCursor): string {
  return Buffer.from(JSON.stringify([...cursor].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))).toString('base64url');
}

/** Errors: request.invalid (not an id this API sent). */
export function decodeTailCursor(id: string): TailCursor {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(id, 'base64url').toString('utf8'));
  } catch {
    parsed = undefined;
  }
  const isEntry = (e: unknown): e is [string, number] => Array.isArray(e) && e.length === 2 && typeof e[0] === 'string' && Number.isSafeInteger(e[1]) && (e[1] as number) >= 0;
  if (!Array.isArray(parsed) || parsed.length > 1000 || !parsed.every(isEntry)) throw new CodedError('request.invalid', 'header: Last-Event-ID is not an event id this stream sent');
  return new Map(parsed);
}
