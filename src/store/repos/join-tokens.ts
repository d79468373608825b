import type { Selectable } from 'kysely';
import type { AgentId, JoinTokenId } from '../../core/index.js';
import type { JoinTokenRepo } from '../../identity/index.js';
import type { JoinTokenRecord } from '../../identity/index.js';
import type { RepoFactory } from '../index.js';
import type { Database } from '../index.js';
import { numberOrNull } from './rows.js';

const toJoinToken = (r: Selectable<Database['join_tokens']>): JoinTokenRecord => ({
  id: r.id as JoinTokenId,
  tokenHash: r.token_hash,
  agentId: r.agent_id as AgentId,
  createdAtMs: Number(r.created_at_ms),
  expiresAtMs: Number(r.expires_at_ms),
  usedAtMs: numberOrNull(r.used_at_ms),
});

export const joinTokenRepo: RepoFactory<JoinTokenRepo> = (db) => ({
  async insert(t) {
    await db
      .insertInto('join_tokens')
      .values({
        id: t.id,
        token_hash: t.tokenHash,
        agent_id: t.agentId,
        created_at_ms: t.createdAtMs,
        expires_at_ms: t.expiresAtMs,
        used_at_ms: t.usedAtMs,
      })
      .execute();
  },
  async consume(tokenHash, nowMs) {
    // One conditional UPDATE: two attestations racing with the same token cannot both win.
    const r = await db
      .updateTable('join_tokens')
      .set({ used_at_ms: nowMs })
      .where('token_hash', '=', tokenHash)
      .where('used_at_ms', 'is', null)
      .where('expires_at_ms', '>', nowMs)
      .returningAll()
      .executeTakeFirst();
    return r && toJoinToken(r);
  },
});
