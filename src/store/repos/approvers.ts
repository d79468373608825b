import type { Selectable } from 'kysely';
import { CodedError } from '../../core/index.js';
import type { Approver } from '../../approvals/index.js';
import type { ApproverRepo } from '../../approvals/index.js';
import type { RepoFactory } from '../index.js';
import type { Database } from '../index.js';
import { StringArrayJson, parseJson } from './rows.js';

const toApprover = (r: Selectable<Database['approvers']>): Approver => ({
  id: r.id,
  groups: parseJson(StringArrayJson, r.groups, 'approver groups'),
  tokenHash: r.token_hash,
  createdAtMs: Number(r.created_at_ms),
});

export const approverRepo: RepoFactory<ApproverRepo> = (db, dialect) => ({
  async insert(a) {
    try {
      await db.insertInto('approvers').values({ id: a.id, groups: JSON.stringify(a.groups), token_hash: a.tokenHash, created_at_ms: a.createdAtMs }).execute();
    } catch (err) {
      if (dialect.isUniqueViolation(err)) throw new CodedError('request.conflict', `approver \`${a.id}\` already exists`);
      throw err;
    }
  },
  async byTokenHash(hash) {
    const r = await db.selectFrom('approvers').selectAll().where('token_hash', '=', hash).executeTakeFirst();
    return r && toApprover(r);
  },
  async list() {
    const rows = await db.selectFrom('approvers').selectAll().orderBy('id').execute();
    return rows.map(toApprover);
  },
});
