import type { Selectable } from 'kysely';
import { z } from 'zod';
import type { KeyRepo } from '../../identity/index.js';
import type { SigningKeyRecord } from '../../identity/index.js';
import type { RepoFactory } from '../index.js';
import type { Database } from '../index.js';
import { numberOrNull, parseJson } from './rows.js';

const JwkJson = z.record(z.string(), z.unknown());

const toSigningKey = (r: Selectable<Database['signing_keys']>): SigningKeyRecord => ({
  kid: r.kid,
  alg: 'ES256',
  privateJwk: parseJson(JwkJson, r.private_jwk, 'signing key'),
  publicJwk: parseJson(JwkJson, r.public_jwk, 'signing key'),
  createdAtMs: Number(r.created_at_ms),
  retiredAtMs: numberOrNull(r.retired_at_ms),
  dropAtMs: numberOrNull(r.drop_at_ms),
});

export const keyRepo: RepoFactory<KeyRepo> = (db) => ({
  async list() {
    const rows = await db.selectFrom('signing_keys').selectAll().orderBy('created_at_ms', 'asc').execute();
    return rows.map(toSigningKey);
  },
  async insert(k) {
    await db
      .insertInto('signing_keys')
      .values({
        kid: k.kid,
        alg: k.alg,
        private_jwk: JSON.stringify(k.privateJwk),
        public_jwk: JSON.stringify(k.publicJwk),
        created_at_ms: k.createdAtMs,
        retired_at_ms: k.retiredAtMs,
        drop_at_ms: k.dropAtMs,
      })
      .execute();
  },
  async retire(kid, retiredAtMs, dropAtMs) {
    await db
      .updateTable('signing_keys')
      .set({ retired_at_ms: retiredAtMs, drop_at_ms: dropAtMs })
      .where('kid', '=', kid)
      .where('retired_at_ms', 'is', null)
      .execute();
  },
});
