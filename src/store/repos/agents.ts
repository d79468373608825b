import type { Selectable } from 'kysely';
import { z } from 'zod';
import { CodedError, type AgentId } from '../../core/index.js';
import type { AgentRepo } from '../../identity/index.js';
import type { Agent } from '../../identity/index.js';
import type { RepoFactory } from '../index.js';
import type { Database } from '../index.js';
import { StringArrayJson, numberOrNull, parseJson } from './rows.js';

const AttestationJson = z.object({
  joinToken: z.boolean(),
  oidc: z.array(z.object({ issuer: z.string(), claims: z.record(z.string(), z.string()) })),
});

export const toAgent = (r: Selectable<Database['agents']>): Agent => ({
  id: r.id as AgentId,
  name: r.name,
  spiffeId: r.spiffe_id,
  groups: parseJson(StringArrayJson, r.groups, 'agent groups'),
  attestation: parseJson(AttestationJson, r.attestation, 'agent attestation'),
  createdAtMs: Number(r.created_at_ms),
  disabledAtMs: numberOrNull(r.disabled_at_ms),
  dpopJkt: r.dpop_jkt ?? null,
});

export const agentRepo: RepoFactory<AgentRepo> = (db, dialect) => ({
  async count() {
    const r = await db
      .selectFrom('agents')
      .select((eb) => [eb.fn.countAll<number>().as('registered'), eb.fn.count<number>('disabled_at_ms').as('disabled')])
      .executeTakeFirst();
    return { registered: Number(r?.registered ?? 0), disabled: Number(r?.disabled ?? 0) };
  },
  async insert(a) {
    try {
      await db
        .insertInto('agents')
        .values({
          id: a.id,
          name: a.name,
          spiffe_id: a.spiffeId,
          groups: JSON.stringify(a.groups),
          attestation: JSON.stringify(a.attestation),
          created_at_ms: a.createdAtMs,
          disabled_at_ms: a.disabledAtMs,
          dpop_jkt: a.dpopJkt,
        })
        .execute();
    } catch (err) {
      if (dialect.isUniqueViolation(err)) throw new CodedError('identity.agent_exists', `agent \`${a.name}\` is already registered`);
      throw err;
    }
  },
  async get(id) {
    const r = await db.selectFrom('agents').selectAll().where('id', '=', id).executeTakeFirst();
    return r && toAgent(r);
  },
  async getByName(name) {
    const r = await db.selectFrom('agents').selectAll().where('name', '=', name).executeTakeFirst();
    return r && toAgent(r);
  },
  async list() {
    const rows = await db.selectFrom('agents').selectAll().orderBy('name').execute();
    return rows.map(toAgent);
  },
  async setDpopJkt(id, jkt) {
    await db.updateTable('agents').set({ dpop_jkt: jkt }).where('id', '=', id).execute();
  },
  async disable(id, atMs) {
    await db.updateTable('agents').set({ disabled_at_ms: atMs }).where('id', '=', id).where('disabled_at_ms', 'is', null).execute();
  },
});
