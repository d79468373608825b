import { ToolSpecSchema } from '../../core/index.js';
import type { RepoFactory } from '../index.js';
import type { ToolRepo } from '../index.js';
import { parseJson } from './rows.js';

export const toolRepo: RepoFactory<ToolRepo> = (db) => ({
  async upsert(spec, atMs) {
    const row = { spec: JSON.stringify(spec), updated_at_ms: atMs };
    await db
      .insertInto('tools')
      .values({ name: spec.name, ...row })
      .onConflict((oc) => oc.column('name').doUpdateSet(row))
      .execute();
  },
  async list() {
    const rows = await db.selectFrom('tools').selectAll().orderBy('name').execute();
    return rows.map((r) => parseJson(ToolSpecSchema, r.spec, 'tool spec'));
  },
});
