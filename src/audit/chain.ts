import { canonicalJson, sha256Hex } from '../core/index.js';
import type { AuditEvent } from './model.js';
import type { StoredEvent } from './ports.js';

const J = JSON.stringify;

/** The hash of an event covers every field but the hash itself, including the link to its predecessor. */
export function hashEvent(e: Omit<AuditEvent, 'hash'>): string {
  return hashWithDataText(e, canonicalJson(e.data));
}

/**
 * The same hash, around data already written as canonical JSON: the canonical
 * text of the whole event (keys in sorted order) is put together around it, so
 * the data is serialised once for the hash and the store alike.
 */
export function hashWithDataText(e: Omit<AuditEvent, 'hash' | 'data'> | StoredEvent, dataText: string): string {
  return sha256Hex(
    `{"agentId":${J(e.agentId)},"atMs":${J(e.atMs)},"data":${dataText},"id":${J(e.id)},"prevHash":${J(e.prevHash)},"segment":${J(e.segment)},"seq":${J(e.seq)},"taskId":${J(e.taskId)},"type":${J(e.type)}}`,
  );
}


/**
 * Whether a stored event hashes to its stored hash. Data is stored as canonical
 * JSON, so the canonical text of the whole event is put together around it as it
 * is, with no parsing; data stored otherwise (by an older version) is parsed and
 * made canonical first. Either way the hash is `hashEvent`'s.
 */
export function storedHashHolds(e: StoredEvent): boolean {
  if (hashWithDataText(e, e.dataText) === e.hash) return true;
  let data: unknown;
  try {
    data = JSON.parse(e.dataText);
  } catch {
    return false;
  }
  return hashEvent({ segment: e.segment, seq: e.seq, id: e.id as AuditEvent['id'], type: e.type as AuditEvent['type'], atMs: e.atMs, taskId: e.taskId as AuditEvent['taskId'], agentId: e.agentId as AuditEvent['agentId'], data: data as Record<string, unknown>, prevHash: e.prevHash }) === e.hash;
}
