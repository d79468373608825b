import { canonicalJson, sha256Hex } from '../core/index.js';
import type { AuditEvent } from './model.js';

/** The hash of an event covers every field but the hash itself, including the link to its predecessor. */
export function hashEvent(e: Omit<AuditEvent, 'hash'>): string {
  return sha256Hex(
    canonicalJson({
      segment: e.segment,
      seq: e.seq,
      id: e.id,
      type: e.type,
      atMs: e.atMs,
      taskId: e.taskId,
      agentId: e.agentId,
      data: e.data,
      prevHash: e.prevHash,
    }),
  );
}
