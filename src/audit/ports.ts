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

export interface AuditRepo {
  /** Events of a segment after `afterSeq`, in seq order, as stored (verification reads millions of them). */
  scan(segment: string, afterSeq: number, limit: number): Promise<StoredEvent[]>;
  /** Appends in one transaction; fails when a seq is already taken in its segment. */
  append(events: readonly AuditEvent[]): Promise<void>;
  last(segment: string): Promise<AuditEvent | undefined>;
  list(query: AuditQuery): Promise<AuditEvent[]>;
  /** Events matching `filter`, ordered by (atMs, segment, seq), one page from `page.after`. */
  search(filter: AuditFilter, page: AuditPage): Promise<AuditEvent[]>;
  segments(): Promise<string[]>;
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
