import type { TaskId } from '../core/index.js';
import type { AuditEvent, AuditEventType } from './model.js';

export interface AuditQuery {
  type?: AuditEventType;
  taskId?: TaskId;
  segment?: string;
  /** Events with seq greater than this (pagination within a segment). */
  afterSeq?: number;
  limit?: number;
  order?: 'asc' | 'desc';
}

export interface AuditRepo {
  /** Appends in one transaction; fails when a seq is already taken in its segment. */
  append(events: readonly AuditEvent[]): Promise<void>;
  last(segment: string): Promise<AuditEvent | undefined>;
  list(query: AuditQuery): Promise<AuditEvent[]>;
  segments(): Promise<string[]>;
}
