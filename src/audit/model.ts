import type { AgentId, EventId, TaskId } from '../core/index.js';

export const AUDIT_EVENT_TYPES = [
  'agent.registered',
  'agent.deregistered',
  'join_token.created',
  'attestation.succeeded',
  'attestation.failed',
  'key.created',
  'key.rotated',
  'task.granted',
  'task.refused',
  'task.completed',
  'revocation',
  'decision',
  'decision.withdrawn',
  'tool.result',
  'tool.registered',
  'gateway.refused',
  'secret.stored',
  'approver.registered',
  'approval.requested',
  'approval.notified',
  'approval.notify_failed',
  'approval.approved',
  'approval.denied',
  'approval.expired',
  'approval.cancelled',
  'approval.consumed',
  'approval.refused',
  'monitor.signal',
  'monitor.alert',
  'monitor.resumed',
  'monitor.suspended',
  'secret.used',
  'policy.loaded',
  'policy.what_if',
  'audit.checkpoint',
  'audit.segment_restarted',
  'console.signed_in',
  'console.sign_in_refused',
  'console.signed_out',
] as const;
export type AuditEventType = (typeof AUDIT_EVENT_TYPES)[number];

/**
 * Who asked for an action, as its records name them (`by`): `admin` (the admin
 * token), `task:<id>` (the task's own credential), `approver:<id>`,
 * `person:<subject>` (a person signed in to the console, by the identity
 * provider's `sub`), or `system` (Mandate itself: a cascade from a parent, a drift
 * response).
 */
export type Actor = 'admin' | 'system' | `task:${string}` | `approver:${string}` | `person:${string}`;
export const ADMIN_ACTOR: Actor = 'admin';
export const SYSTEM_ACTOR: Actor = 'system';

/** What a caller records; the log adds position and hashes. */
export interface AuditEntry {
  type: AuditEventType;
  taskId?: TaskId | null;
  agentId?: AgentId | null;
  data: Record<string, unknown>;
}

/**
 * One link of a hash chain. Each writer (replica) owns a `segment` with its own
 * chain, so replicas never contend for one head; signed checkpoints tie segments later.
 */
export interface AuditEvent {
  segment: string;
  seq: number;
  id: EventId;
  type: AuditEventType;
  atMs: number;
  taskId: TaskId | null;
  agentId: AgentId | null;
  data: Record<string, unknown>;
  prevHash: string;
  hash: string;
  /** `data` as canonical JSON, when the writer made it for the hash: stored as it is. */
  dataText?: string;
}

export const GENESIS_HASH = '0'.repeat(64);

/** The decision id a `decision` record carries, kept beside it in the store so one decision is found by an index; null for any other event. */
export function decisionIdOf(e: Pick<AuditEvent, 'type' | 'data'>): string | null {
  const id = e.type === 'decision' ? e.data['decisionId'] : undefined;
  return typeof id === 'string' ? id : null;
}

/** Where a record became durable: in the store, or in the local spool while the store is out of reach. */
export type AuditReceipt = 'stored' | 'spooled';

/** The port through which every context records what happened; resolves once the event is durable. */
export interface AuditSink {
  // void: a sink that only ever stores (tests, in-process fakes).
  record(entry: AuditEntry): Promise<AuditReceipt | void>;
}
