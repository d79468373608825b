import type { RepoFactory } from '../index.js';
import type { SettingsRepo } from '../index.js';

export const settingsRepo: RepoFactory<SettingsRepo> = (db) => ({
  async get(key) {
    const r = await db.selectFrom('settings').select('value').where('key', '=', key).executeTakeFirst();
    return r?.value;
  },
  async setIfAbsent(key, value) {
    await db
      .insertInto('settings')
      .values({ key, value })
      .onConflict((oc) => oc.column('key').doNothing())
      .execute();
    const r = await db.selectFrom('settings').select('value').where('key', '=', key).executeTakeFirstOrThrow();
    return r.value;
  },
  async set(key, value) {
    await db
      .insertInto('settings')
      .values({ key, value })
      .onConflict((oc) => oc.column('key').doUpdateSet({ value }))
      .execute();
  },
});
