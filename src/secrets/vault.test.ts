import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { AuditEntry } from '../audit/model.js';
import { CodedError, ConfigError, manualClock } from '../core/index.js';
import { openSqliteStore } from '../store/index.js';
import { SecretVault, loadVaultKey, vaultKey } from './index.js';

describe('secret vault', () => {
  async function vault() {
    const store = await openSqliteStore(':memory:');
    const events: AuditEntry[] = [];
    const key = Buffer.alloc(32, 7);
    return { store, events, vault: new SecretVault(store.secrets, key, { record: async (e) => void events.push(e) }, manualClock()) };
  }

  it('stores only ciphertext, versions each put, and resolves the newest', async () => {
    const { store, vault: v, events } = await vault();
    assert.deepEqual(await v.put('github-token', 'ghp_first'), { name: 'github-token', version: 1 });
    assert.deepEqual(await v.put('github-token', 'ghp_second'), { name: 'github-token', version: 2 });
    const row = await store.secrets.latest('github-token');
    assert.ok(row && !row.ciphertext.includes('ghp') && !Buffer.from(row.ciphertext, 'base64').toString().includes('ghp'));
    assert.deepEqual(await v.resolve('github-token'), { name: 'github-token', version: 2, value: 'ghp_second' });
    assert.equal(JSON.stringify(events).includes('ghp'), false, 'audit names secrets, never values');
    await store.close();
  });

  it('a row edited, moved to another name, or read with another key does not decrypt', async () => {
    const { store, vault: v } = await vault();
    await v.put('a', 'value-a');
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
    await v.put('api', 's3cr3t');
    const { values, secrets } = await v.resolveAll({ PLAIN: 'x', AUTH: { secret: 'api', prefix: 'Bearer ' } }, 'upstream:crm');
    assert.deepEqual(values, { PLAIN: 'x', AUTH: 'Bearer s3cr3t' });
    assert.deepEqual(secrets.map((s) => [s.name, s.version]), [['api', 1]]);
    assert.deepEqual(events.at(-1), { type: 'secret.used', data: { name: 'api', version: 1, usedBy: 'upstream:crm' } });
    await assert.rejects(v.put('Bad Name', 'x'), (e: unknown) => e instanceof CodedError && e.code === 'request.invalid');
    await store.close();
  });

  it('the key file is generated with mode 0600, reused, and a bad key is a start-up error', () => {
    const dir = mkdtempSync(join(tmpdir(), 'mandate-key-'));
    const keyFile = join(dir, 'nested', 'secrets.key');
    const key = loadVaultKey({ keyFile });
    assert.equal(key.length, 32);
    assert.equal(statSync(keyFile).mode & 0o777, 0o600);
    assert.deepEqual(loadVaultKey({ keyFile }), key);
    assert.deepEqual(loadVaultKey({ key: Buffer.alloc(32, 1).toString('base64'), keyFile }), Buffer.alloc(32, 1));
    assert.throws(() => loadVaultKey({ key: 'c2hvcnQ=', keyFile }), ConfigError);
    writeFileSync(join(dir, 'bad.key'), 'not-a-key');
    assert.throws(() => loadVaultKey({ keyFile: join(dir, 'bad.key') }), ConfigError);
    rmSync(dir, { recursive: true, force: true });
  });

  it('without a configured key, the key file is made when the first secret is stored, not before', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mandate-key-'));
    const keyFile = join(dir, 'nested', 'secrets.key');
    const store = await openSqliteStore(':memory:');
    const v = new SecretVault(store.secrets, vaultKey({ keyFile }), { record: async () => undefined }, manualClock());
    await assert.rejects(v.resolve('missing'), /not stored/);
    assert.deepEqual(await v.list(), []);
    await assert.rejects(v.put('Bad Name', 'x'), /must be lowercase/);
    assert.equal(existsSync(keyFile), false, 'no key file before a secret is stored');
    await v.put('api', 'value-1');
    assert.equal(statSync(keyFile).mode & 0o777, 0o600);
    assert.deepEqual(await v.resolve('api'), { name: 'api', version: 1, value: 'value-1' });
    const restarted = new SecretVault(store.secrets, vaultKey({ keyFile }), { record: async () => undefined }, manualClock());
    assert.deepEqual(await restarted.resolve('api'), { name: 'api', version: 1, value: 'value-1' }, 'the next start reads the same key');
    writeFileSync(join(dir, 'bad.key'), 'not-a-key');
    assert.throws(() => vaultKey({ keyFile: join(dir, 'bad.key') }), ConfigError, 'an existing bad key file is still a start-up error');
    assert.throws(() => vaultKey({ key: 'c2hvcnQ=', keyFile }), ConfigError, 'so is a bad configured key');
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
});
