import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AuditEntry } from '../audit/model.js';
import { CodedError, manualClock } from '../core/index.js';
import { openSqliteStore } from '../store/index.js';
import { SecretVault } from './index.js';

describe('secret vault', () => {
  async function vault() {
    const store = await openSqliteStore(':memory:');
    const events: AuditEntry[] = [];
    const key = Buffer.alloc(32, 7);
    return { store, events, vault: new SecretVault(store.secrets, key, { record: async (e) => void events.push(e) }, manualClock()) };
  }

  it('stores only ciphertext, versions each put, and resolves the newest', async () => {
    const { store, vault: v, events } = await vault();
    assert.deepEqual(await v.put('github-token', 'ghp_first', 'admin'), { name: 'github-token', version: 1 });
    assert.deepEqual(await v.put('github-token', 'ghp_second', 'admin'), { name: 'github-token', version: 2 });
    const row = await store.secrets.latest('github-token');
    assert.ok(row && !row.ciphertext.includes('ghp') && !Buffer.from(row.ciphertext, 'base64').toString().includes('ghp'));
    assert.deepEqual(await v.resolve('github-token'), { name: 'github-token', version: 2, value: 'ghp_second' });
    assert.equal(JSON.stringify(events).includes('ghp'), false, 'audit names secrets, never values');
    await store.close();
  });

  it('a row edited, moved to another name, or read with another key does not decrypt', async () => {
    const { store, vault: v } = await vault();
    await v.put('a', 'value-a', 'admin');
    const row = (await store.secrets.latest('a'))!;
    await store.secrets.insert({ ...row, name: 'b' });
    await assert.rejects(v.resolve('b'), (e: unknown) => e instanceof CodedError && e.code === 'gateway.secret_unavailable');
    const other = new SecretVault(store.secrets, Buffer.alloc(32, 9), { record: async () => undefined }, manualClock());
    await assert.rejects(other.resolve('a'), (e: unknown) => e instanceof CodedError && e.code === 'gateway.secret_unavailable');
    await assert.rejects(v.resolve('missing'), /not stored/);
    await store.close();
  });

  it('resolves literal-or-secret maps with prefixes and records the versions used', async () => {
    const { store, vault: v, events } = await vault();
    await v.put('api', 's3cr3t', 'admin');
    const { values, secrets } = await v.resolveAll({ PLAIN: 'x', AUTH: { secret: 'api', prefix: 'Bearer ' } }, 'upstream:crm');
    assert.deepEqual(values, { PLAIN: 'x', AUTH: 'Bearer s3cr3t' });
    assert.deepEqual(secrets.map((s) => [s.name, s.version]), [['api', 1]]);
    assert.deepEqual(events.at(-1), { type: 'secret.used', data: { name: 'api', version: 1, usedBy: 'upstream:crm' } });
    await assert.rejects(v.put('Bad Name', 'x', 'admin'), (e: unknown) => e instanceof CodedError && e.code === 'request.invalid');
    await store.close();
  });
});
