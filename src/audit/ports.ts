import type { AgentId, TaskId } from '../core/index.js';
import type { AuditEvent, AuditEventType } from './model.js';
import type { SignedCheckpoint } from './checkpoint.js';

export interface AuditQuery {
  type?: AuditEventType;
  taskId?: TaskId;
  segment?: string;
  /** Events with seq greater than this (pagination within a segment). */
  afterSeq?: number;
  limit?: number;
  order?: 'asc' | 'desc';
}

/** An event as stored, its data as the stored text: what verifying needs, without parsing it. */
export interface StoredEvent {
  segment: string;
  seq: number;
  id: string;
  type: string;
  atMs: number;
  taskId: string | null;
  agentId: string | null;
  dataText: string;
  prevHash: string;
  hash: string;
}

/**
 * An event's link in its chain, as stored: what verifying a chain reads of every
 * event. `hashed` is the text its hash covers (`hashEvent`'s canonical JSON of the
 * envelope around the stored data), put together by the store from the stored
 * fields; null when it cannot be (a field of an unexpected type), and the event is
 * then checked from `scan`'s fields (`storedHashHolds`), as is one whose `hashed`
 * does not hash to its hash (data stored by an older version).
 */
export interface StoredLink {
  seq: number;
  prevHash: string;
  hash: string;
  hashed: string | null;
}

/** Which events a search returns: every filter given must hold. */
export interface AuditFilter {
  types?: readonly AuditEventType[];
  /** Events of any of these tasks (a task and those delegated from it). */
  taskIds?: readonly TaskId[];
  agentId?: AgentId;
  /** Events of the tasks acting on behalf of this principal. */
  principal?: string;
  /** `data.outcome`: a decision's `allow`, `deny` or `step_up`. */
  outcome?: string;
  /** `data.code`: the reason code of a decision, a withdrawal, a result or a refusal. */
  code?: string;
  /** `data.tool`: decisions, results, approvals and signals name the tool. */
  tool?: string;
  /** From this instant, inclusive. */
  sinceMs?: number;
  /** Up to this instant, exclusive. */
  untilMs?: number;
}

/** An event's place in the order searches return: time, then segment, then seq. Unique, so pages never overlap. */
export interface AuditPosition {
  atMs: number;
  segment: string;
  seq: number;
}

export interface AuditPage {
  /** Start after this event (the last of the previous page). */
  after?: AuditPosition;
  limit: number;
  order: 'asc' | 'desc';
}

/** Decisions of one outcome in one bucket of a time window. */
export interface OutcomeCount {
  /** Where the bucket starts (ms since the epoch). */
  bucketStartMs: number;
  outcome: string;
  count: number;
}

/** How often one reason code was given. */
export interface CodeCount {
  code: string;
  count: number;
}

/** Where a segment's chain ends now. */
export interface SegmentHead {
  segment: string;
  seq: number;
}

export interface AuditRepo {
  /** Events of a segment after `afterSeq`, in seq order, as stored (verification reads millions of them). */
  scan(segment: string, afterSeq: number, limit: number): Promise<StoredEvent[]>;
  /** The links of a segment after `afterSeq`, in seq order: `scan` cut to what verifying needs, with no fields to put together in JavaScript. */
  links(segment: string, afterSeq: number, limit: number): Promise<StoredLink[]>;
  /** Appends in one transaction; fails when a seq is already taken in its segment. */
  append(events: readonly AuditEvent[]): Promise<void>;
  last(segment: string): Promise<AuditEvent | undefined>;
  list(query: AuditQuery): Promise<AuditEvent[]>;
  /** Events matching `filter`, ordered by (atMs, segment, seq), one page from `page.after`. */
  search(filter: AuditFilter, page: AuditPage): Promise<AuditEvent[]>;
  segments(): Promise<string[]>;
  /** Decisions in [sinceMs, untilMs) counted by outcome in buckets of `bucketMs` from `sinceMs`, by the store; empty buckets are absent. */
  countDecisions(sinceMs: number, untilMs: number, bucketMs: number): Promise<OutcomeCount[]>;
  /** The reason codes of decisions with these outcomes in [sinceMs, untilMs), most frequent first (ties by code), counted by the store. */
  countDecisionCodes(outcomes: readonly string[], sinceMs: number, untilMs: number, limit: number): Promise<CodeCount[]>;
  /** Events of this type in [sinceMs, untilMs). */
  countEvents(type: AuditEventType, sinceMs: number, untilMs: number): Promise<number>;
  /** The `decision` record of one decision id (an indexed lookup). */
  decision(decisionId: string): Promise<AuditEvent | undefined>;
  /** Each segment's last seq. */
  heads(): Promise<SegmentHead[]>;
  /** The segments with an event at or after `sinceMs`: how a tail learns of a writer that started after it. */
  segmentsSince(sinceMs: number): Promise<string[]>;
  /** A segment's last seq, 0 when it holds nothing. */
  headOf(segment: string): Promise<number>;
  /** Events of a segment with afterSeq < seq <= upToSeq that match `filter`, in seq order: tailing the trail as writers append. */
  tail(segment: string, afterSeq: number, upToSeq: number, filter: AuditFilter, limit: number): Promise<AuditEvent[]>;
}

/** How far a sink has delivered each segment, kept in the store so a restart resumes there. */
export interface SinkCursor {
  /** The last seq delivered of `segment`; 0 when nothing was. */
  delivered(segment: string): Promise<number>;
  setDelivered(segment: string, seq: number): Promise<void>;
}

/** A record waiting in the spool: everything but its place in the chain, which replay assigns. */
export interface SpooledEntry {
  id: string;
  atMs: number;
  type: AuditEventType;
  taskId: TaskId | null;
  agentId: AgentId | null;
  data: Record<string, unknown>;
  /** The last seq known stored when this was spooled. */
  afterSeq: number;
}

/** A local append-only file of records the store could not take; written durably before a caller resumes. */
export interface AuditSpool {
  append(entries: readonly SpooledEntry[]): Promise<void>;
  /** Everything spooled, in the order it was appended; a torn last line (a crash mid-write) is dropped. */
  read(): Promise<SpooledEntry[]>;
  /** Empties the spool once its records are stored. */
  clear(): Promise<void>;
}

/** A checkpoint as a witness keeps it: with the public key that signed it, so it can be checked whatever the store holds. */
export interface WitnessedCheckpoint extends SignedCheckpoint {
  jwk: Record<string, unknown>;
}

/**
 * Somewhere outside the store that keeps every checkpoint, append-only: an
 * attacker who can rewrite the database cannot rewrite what was witnessed.
 */
export interface AuditWitness {
  /** Where it is, for reports (`file:/var/lib/mandate/audit-witness.jsonl`). */
  readonly name: string;
  append(checkpoint: WitnessedCheckpoint): Promise<void>;
  read(): Promise<WitnessedCheckpoint[]>;
}
