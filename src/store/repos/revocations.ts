import type { Selectable } from 'kysely';
import type { Revocation, RevocationKind } from '../../credentials/index.js';
import type { RevocationRepo } from '../../credentials/index.js';
import type { RepoFactory } from '../index.js';
import type { Database } from '../index.js';

const toRevocation = (r: Selectable<Database['revocations']>): Revocation => ({
  id: r.id,
  kind: r.kind as RevocationKind,
  subject: r.subject,
  reason: r.reason,
  createdAtMs: Number(r.created_at_ms),
  expiresAtMs: Number(r.expires_at_ms),
});

export const revocationRepo: RepoFactory<RevocationRepo> = (db) => ({
  async insert(r) {
    await db
      .insertInto('revocations')
      .values({
        id: r.id,
        kind: r.kind,
        subject: r.subject,
        reason: r.reason,
        created_at_ms: r.createdAtMs,
        expires_at_ms: r.expiresAtMs,
      })
      .execute();
  },
  async listActive(nowMs) {
    const rows = await db.selectFrom('revocations').selectAll().where('expires_at_ms', '>', nowMs).execute();
    return rows.map(toRevocation);
  },
});
