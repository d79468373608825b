import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe } from 'node:test';
import { ADMIN_TOKEN, ROOT, http } from '../helpers.js';
import { verifies } from './verifies.js';

describe('`mandate serve` on an in-memory store', () => {
  let dir: string;
  let child: ChildProcess;
  let url: string;
  const keyFile = () => join(dir, '.mandate', 'secrets.key');

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mandate-serve-cwd-'));
    child = spawn(process.execPath, [join(ROOT, 'bin/mandate.js'), 'serve', '--store', ':memory:', '--port', '0'], {
      cwd: dir,
      env: { ...process.env, MANDATE_SERVER_ADMIN_TOKEN: ADMIN_TOKEN, MANDATE_POLICY_DIR: join(ROOT, 'examples', 'policies'), MANDATE_POLICY_WATCH: 'false', MANDATE_SECRETS_KEY: '' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    url = await new Promise<string>((resolve, reject) => {
      createInterface({ input: child.stdout! }).on('line', (line) => {
        const m = /mandate listening on (\S+)/.exec(line);
        if (m) resolve(m[1]!);
      });
      child.once('exit', (code) => reject(new Error(`mandate serve exited with ${code}`)));
    });
  });
  after(async () => {
    // A server that died of a signal has exitCode null too, and its 'exit' is already past.
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  });

  verifies('serve:memory:no-files-at-start', 'writes nothing into the working folder at start-up', async () => {
    assert.equal((await http(url, '/v1/secrets', { token: ADMIN_TOKEN })).status, 200, 'the server answers');
    assert.deepEqual(readdirSync(dir), [], 'no `.mandate/secrets.key` (nor anything else) in the working folder');
  });

  verifies('serve:memory:key-file-on-first-secret', 'the first stored secret creates the key file, mode 0600, and later ones reuse it', async () => {
    const first = await http(url, '/v1/secrets/api-key', { method: 'PUT', token: ADMIN_TOKEN, body: { value: 'first-value' } });
    assert.deepEqual([first.status, first.body], [201, { name: 'api-key', version: 1 }]);
    assert.ok(existsSync(keyFile()), 'the key file exists once a secret is stored');
    assert.equal(statSync(keyFile()).mode & 0o777, 0o600);
    const key = statSync(keyFile()).mtimeMs;
    const second = await http(url, '/v1/secrets/api-key', { method: 'PUT', token: ADMIN_TOKEN, body: { value: 'second-value' } });
    assert.deepEqual([second.status, second.body], [201, { name: 'api-key', version: 2 }]);
    assert.equal(statSync(keyFile()).mtimeMs, key, 'the key is made once');
    assert.deepEqual((await http(url, '/v1/secrets', { token: ADMIN_TOKEN })).body.secrets.map((s: { name: string; version: number }) => [s.name, s.version]), [['api-key', 2]]);
  });
});
