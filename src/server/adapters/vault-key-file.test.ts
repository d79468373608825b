import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError, manualClock } from '../../core/index.js';
import { SecretVault } from '../../secrets/index.js';
import { openSqliteStore } from '../../store/index.js';
import { loadVaultKey, vaultKey } from './index.js';

describe('vault key file', () => {
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
    await assert.rejects(v.put('Bad Name', 'x', 'admin'), /must be lowercase/);
    assert.equal(existsSync(keyFile), false, 'no key file before a secret is stored');
    await v.put('api', 'value-1', 'admin');
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
