import type { Selectable } from 'kysely';
import { z } from 'zod';
import { ROLES, type ConsoleSession, type ConsoleSessionRepo } from '../../console/index.js';
import type { Database, RepoFactory } from '../index.js';
import { StringArrayJson, parseJson } from './rows.js';

const RolesJson = z.array(z.enum(ROLES));

const toSession = (r: Selectable<Database['console_sessions']>): ConsoleSession => ({
  idHash: r.id_hash,
  subject: r.subject,
  issuer: r.issuer,
  name: r.name,
  email: r.email,
  groups: parseJson(StringArrayJson, r.groups, 'console session groups'),
  roles: parseJson(RolesJson, r.roles, 'console session roles'),
  csrfToken: r.csrf_token,
  createdAtMs: Number(r.created_at_ms),
  expiresAtMs: Number(r.expires_at_ms),
  lastSeenAtMs: Number(r.last_seen_at_ms),
});

export const consoleSessionRepo: RepoFactory<ConsoleSessionRepo> = (db) => ({
  async insert(s) {
    await db
      .insertInto('console_sessions')
      .values({
        id_hash: s.idHash,
        subject: s.subject,
        issuer: s.issuer,
        name: s.name,
        email: s.email,
        groups: JSON.stringify(s.groups),
        roles: JSON.stringify(s.roles),
        csrf_token: s.csrfToken,
        created_at_ms: s.createdAtMs,
        expires_at_ms: s.expiresAtMs,
        last_seen_at_ms: s.lastSeenAtMs,
      })
      .execute();
  },
  async get(idHash) {
    const r = await db.selectFrom('console_sessions').selectAll().where('id_hash', '=', idHash).executeTakeFirst();
    return r && toSession(r);
  },
  async touch(idHash, lastSeenAtMs) {
    await db.updateTable('console_sessions').set({ last_seen_at_ms: lastSeenAtMs }).where('id_hash', '=', idHash).execute();
  },
  async delete(idHash) {
    const r = await db.deleteFrom('console_sessions').where('id_hash', '=', idHash).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  },
  async sweep(nowMs) {
    const r = await db.deleteFrom('console_sessions').where('expires_at_ms', '<=', nowMs).executeTakeFirst();
    return Number(r.numDeletedRows);
  },
});
