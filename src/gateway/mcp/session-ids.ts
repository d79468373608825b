import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * MCP session ids that every replica and worker of one deployment can check
 * without sharing session state: `<nonce>.<protocol version>.<mac>`, the MAC
 * (HMAC-SHA256 under a key kept in the store) binding the nonce and version to
 * the task. A client whose requests land on different processes (a second
 * connection, a GET stream) keeps its session; an id made for another task, or
 * made up, opens nothing. The id grants nothing by itself: every request still
 * carries the task credential.
 */
export interface SessionIds {
  mint(taskId: string, protocolVersion: string): string;
  /** The protocol version an id was made with for this task; undefined for any other id. */
  open(id: string, taskId: string): string | undefined;
}

const MAC_CHARS = 22; // 132 bits

export function sessionIds(key: string, versions: readonly string[]): SessionIds {
  const mac = (nonce: string, version: string, taskId: string) => createHmac('sha256', key).update(`${nonce}.${version}.${taskId}`).digest('base64url').slice(0, MAC_CHARS);
  return {
    mint: (taskId, version) => {
      const nonce = randomBytes(12).toString('base64url');
      return `${nonce}.${version}.${mac(nonce, version, taskId)}`;
    },
    open: (id, taskId) => {
      const parts = id.split('.');
      if (parts.length !== 3) return undefined;
      const [nonce, version, given] = parts as [string, string, string];
      if (!versions.includes(version) || given.length !== MAC_CHARS) return undefined;
      const expected = mac(nonce, version, taskId);
      return timingSafeEqual(Buffer.from(given), Buffer.from(expected)) ? version : undefined;
    },
  };
}
