import type { Selectable } from 'kysely';
import type { SecretRecord } from '../../secrets/index.js';
import type { SecretRepo } from '../../secrets/index.js';
import type { RepoFactory } from '../index.js';
import type { Database } from '../index.js';

const toSecret = (r: Selectable<Database['secrets']>): SecretRecord => ({
  name: r.name,
  version: Number(r.version),
  ciphertext: r.ciphertext,
  iv: r.iv,
  tag: r.tag,
  createdAtMs: Number(r.created_at_ms),
});

export const secretRepo: RepoFactory<SecretRepo> = (db) => ({
  async insert(r) {
    await db
      .insertInto('secrets')
      .values({ name: r.name, version: r.version, ciphertext: r.ciphertext, iv: r.iv, tag: r.tag, created_at_ms: r.createdAtMs })
      .execute();
  },
  async latest(name) {
    const r = await db.selectFrom('secrets').selectAll().where('name', '=', name).orderBy('version', 'desc').limit(1).executeTakeFirst();
    return r && toSecret(r);
  },
  async list() {
    const rows = await db
      .selectFrom('secrets as s')
      .select(['s.name', 's.version', 's.created_at_ms'])
      .where(({ eb, selectFrom }) => eb('s.version', '=', selectFrom('secrets as n').select(({ fn }) => fn.max('n.version').as('v')).whereRef('n.name', '=', 's.name')))
      .orderBy('s.name')
      .execute();
    return rows.map((r) => ({ name: r.name, version: Number(r.version), createdAtMs: Number(r.created_at_ms) }));
  },
});
