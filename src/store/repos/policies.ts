import type { Selectable } from 'kysely';
import { z } from 'zod';
import type { RepoFactory } from '../index.js';
import type { PolicySetRepo, StoredPolicySet } from '../index.js';
import type { Database } from '../index.js';
import { parseJson } from './rows.js';

const PolicyFilesJson = z.array(z.object({ name: z.string(), text: z.string() }));

const toPolicySet = (r: Selectable<Database['policy_sets']>): StoredPolicySet => ({
  version: Number(r.version),
  files: parseJson(PolicyFilesJson, r.files, 'policy files'),
  hash: r.hash,
  createdAtMs: Number(r.created_at_ms),
  createdBy: r.created_by,
});

export const policySetRepo: RepoFactory<PolicySetRepo> = (db) => ({
  async insert(p) {
    await db
      .insertInto('policy_sets')
      .values({ version: p.version, files: JSON.stringify(p.files), hash: p.hash, created_at_ms: p.createdAtMs, created_by: p.createdBy })
      .execute();
  },
  async latest() {
    const r = await db.selectFrom('policy_sets').selectAll().orderBy('version', 'desc').limit(1).executeTakeFirst();
    return r && toPolicySet(r);
  },
  async latestVersion() {
    const r = await db.selectFrom('policy_sets').select((eb) => eb.fn.max('version').as('v')).executeTakeFirst();
    return r?.v === null || r?.v === undefined ? 0 : Number(r.v);
  },
});
