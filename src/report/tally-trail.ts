import type { ReportThresholds, TrailFacts, UndetailedTask } from './model.js';

/** One audit event as the tally needs it; `data` only for the types `needsData` names. */
export interface TalliedEvent {
  type: string;
  atMs: number;
  taskId: string | null;
  data?: Record<string, unknown>;
}

/** Tasks listed by name per finding; the count goes on beyond it, so a big trail makes a bounded report. */
export const MAX_LISTED = 50;

const WITH_DATA = new Set(['decision', 'attestation.succeeded', 'attestation.failed', 'task.granted', 'task.refused', 'monitor.signal', 'revocation', 'secret.used']);

/**
 * Counts what the trail shows over a period, one event at a time, so the edge can
 * page through a trail of any size: by type, decisions by outcome and code,
 * attestations, grants (their lifetimes and how much their mandates say), drift
 * signals, revocations and secret uses.
 */
export class TrailTally {
  readonly #facts: TrailFacts = {
    events: 0,
    firstAtMs: null,
    lastAtMs: null,
    byType: counts(),
    decisionsByOutcome: counts(),
    decisionsByCode: counts(),
    attestationsByMethod: counts(),
    attestationFailuresByCode: counts(),
    refusedItemsByCode: counts(),
    childTasks: 0,
    longestTaskTtlSeconds: null,
    longTtlTasks: [],
    longTtlTaskCount: 0,
    undetailedTasks: [],
    undetailedTaskCount: 0,
    signalsBySignal: counts(),
    signalsByResponse: counts(),
    revocationsByKind: counts(),
    secretsUsedByName: counts(),
  };

  constructor(
    private readonly period: { sinceMs: number | null; untilMs: number | null },
    private readonly thresholds: Pick<ReportThresholds, 'maxTaskTtlSeconds' | 'minPurposeWords'>,
  ) {}

  /** Whether events of this type are counted by what their data says (the others by type alone: their data need not be parsed). */
  static needsData(type: string): boolean {
    return WITH_DATA.has(type);
  }

  /** Whether an event at this time falls in the period: since inclusive, until exclusive. */
  includes(atMs: number): boolean {
    return (this.period.sinceMs === null || atMs >= this.period.sinceMs) && (this.period.untilMs === null || atMs < this.period.untilMs);
  }

  add(e: TalliedEvent): void {
    if (!this.includes(e.atMs)) return;
    const f = this.#facts;
    f.events++;
    f.firstAtMs = f.firstAtMs === null ? e.atMs : Math.min(f.firstAtMs, e.atMs);
    f.lastAtMs = f.lastAtMs === null ? e.atMs : Math.max(f.lastAtMs, e.atMs);
    bump(f.byType, e.type);
    const data = e.data ?? {};
    switch (e.type) {
      case 'decision':
        bump(f.decisionsByOutcome, text(data.outcome));
        bump(f.decisionsByCode, text(data.code));
        return;
      case 'attestation.succeeded':
        bump(f.attestationsByMethod, text(data.method));
        return;
      case 'attestation.failed':
        bump(f.attestationFailuresByCode, text(data.code));
        return;
      case 'task.granted':
        this.#granted(e, data);
        return;
      case 'task.refused':
        for (const item of Array.isArray(data.refused) ? data.refused : []) bump(f.refusedItemsByCode, text((item as { code?: unknown }).code));
        return;
      case 'monitor.signal':
        bump(f.signalsBySignal, text(data.signal));
        bump(f.signalsByResponse, text(data.response));
        return;
      case 'revocation':
        bump(f.revocationsByKind, text(data.kind));
        return;
      case 'secret.used':
        bump(f.secretsUsedByName, text(data.name));
        return;
    }
  }

  #granted(e: TalliedEvent, data: Record<string, unknown>): void {
    const f = this.#facts;
    const taskId = e.taskId ?? 'unknown';
    if (typeof data.parentTaskId === 'string') f.childTasks++;
    if (typeof data.expiresAtMs === 'number') {
      const ttlSeconds = Math.round((data.expiresAtMs - e.atMs) / 1000);
      f.longestTaskTtlSeconds = Math.max(f.longestTaskTtlSeconds ?? 0, ttlSeconds);
      if (ttlSeconds > this.thresholds.maxTaskTtlSeconds) {
        f.longTtlTaskCount++;
        if (f.longTtlTasks.length < MAX_LISTED) f.longTtlTasks.push({ taskId, ttlSeconds });
      }
    }
    const undetailed = undetailedTask(taskId, data.mandate, this.thresholds.minPurposeWords);
    if (undetailed) {
      f.undetailedTaskCount++;
      if (f.undetailedTasks.length < MAX_LISTED) f.undetailedTasks.push(undetailed);
    }
  }

  result(): TrailFacts {
    // Through JSON: the counts become plain objects, a key named `__proto__` an own property like any other.
    return JSON.parse(JSON.stringify(this.#facts)) as TrailFacts;
  }
}

/**
 * A mandate that says too little for anyone to judge its calls against it later:
 * a purpose of a few words, no data classes, no limits. Undefined when it says enough.
 */
export function undetailedTask(taskId: string, mandate: unknown, minPurposeWords: number): UndetailedTask | undefined {
  const m = (mandate !== null && typeof mandate === 'object' ? mandate : {}) as { purpose?: unknown; dataClasses?: unknown; limits?: unknown };
  const purposeWords = typeof m.purpose === 'string' ? wordsIn(m.purpose) : 0;
  const missing: string[] = [];
  if (purposeWords < minPurposeWords) missing.push('purpose');
  if (!Array.isArray(m.dataClasses) || m.dataClasses.length === 0) missing.push('dataClasses');
  if (m.limits === null || typeof m.limits !== 'object' || Object.keys(m.limits).length === 0) missing.push('limits');
  return missing.length === 0 ? undefined : { taskId, purposeWords, missing };
}

export function wordsIn(text: string): number {
  const trimmed = text.trim();
  return trimmed === '' ? 0 : trimmed.split(/\s+/u).length;
}

/** Keys come from the trail's data: no prototype, so no key can reach one. */
function counts(): Record<string, number> {
  return Object.create(null) as Record<string, number>;
}

function bump(counts: Record<string, number>, key: string): void {
  counts[key] = (counts[key] ?? 0) + 1;
}

function text(value: unknown): string {
  return typeof value === 'string' && value !== '' ? value : 'unknown';
}
