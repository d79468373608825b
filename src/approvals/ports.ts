import type { TaskId } from '../core/index.js';
import type { Approval, ApprovalStatus, Approver } from './model.js';

export interface ApprovalQuery {
  status?: ApprovalStatus;
  taskId?: TaskId;
  limit?: number;
  /** `newest` first (the default), or `oldest` first: a pending queue by who has waited longest, and so expires first. */
  order?: 'newest' | 'oldest';
  /** Only requests after this one in list order: the next page. */
  before?: ApprovalPosition;
}

/** Where an approval sits in list order. */
export interface ApprovalPosition {
  createdAtMs: number;
  id: string;
}

export interface ApprovalRepo {
  insert(a: Approval): Promise<void>;
  get(id: string): Promise<Approval | undefined>;
  list(q: ApprovalQuery): Promise<Approval[]>;
  /** The newest request for exactly this action, whatever its status. */
  latestFor(taskId: TaskId, tool: string, argsHash: string): Promise<Approval | undefined>;
  /**
   * Takes one use of an approved, unexpired approval of exactly this action,
   * atomically. INVARIANT: n uses allow exactly n calls, across replicas.
   */
  consume(taskId: TaskId, tool: string, argsHash: string, nowMs: number): Promise<Approval | undefined>;
  /**
   * Moves a pending, unexpired request whose task is still active to approved or
   * denied; undefined otherwise.
   */
  decide(id: string, status: 'approved' | 'denied', by: string, reason: string, nowMs: number): Promise<Approval | undefined>;
  /** Marks pending requests past their expiry as expired and returns them. */
  expire(nowMs: number): Promise<Approval[]>;
  /** Marks pending requests whose task is no longer active (ended, past its expiry, or gone) as cancelled and returns them. */
  cancelOrphaned(nowMs: number): Promise<Approval[]>;
  setNotify(id: string, notify: Approval['notify']): Promise<void>;
  /** Requests waiting for a person now: pending and not past their expiry (the `mandate_approvals_pending` gauge). */
  countPending(nowMs: number): Promise<number>;
}

export interface ApproverRepo {
  insert(a: Approver): Promise<void>;
  byTokenHash(hash: string): Promise<Approver | undefined>;
  list(): Promise<Approver[]>;
}

/** Where and how to post a signed notification (approval requests, monitor alerts). */
export interface WebhookTarget {
  url: string;
  /** The shared HMAC key, resolved from the vault. */
  secret: string;
  attempts: number;
  backoffMs: number;
  timeoutMs: number;
}

export interface WebhookDelivery {
  delivered: boolean;
  attempts: number;
  error: string | null;
}

/**
 * Posts `payload` signed with signWebhook, retrying with exponential backoff;
 * resolves with the outcome, never throws. The HTTP adapter is in `server/adapters`.
 */
export type DeliverWebhook = (target: WebhookTarget, payload: unknown, nowMs: () => number) => Promise<WebhookDelivery>;
