import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe } from 'node:test';
import type { RunningServer } from '../../src/server/index.js';
import { ADMIN_TOKEN, ROOT, startTestServer } from '../helpers.js';
import { verifies } from './verifies.js';

const run = promisify(execFile);

/** The walkthrough block of the README, exactly as a reader would paste it. */
function walkthrough(): string {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const block = /<!-- walkthrough:start -->\s*```sh\n([\s\S]*?)```\s*<!-- walkthrough:end -->/.exec(readme);
  assert.ok(block, 'README has a walkthrough block');
  return block[1]!;
}

describe('README walkthrough', () => {
  let server: RunningServer;
  let dir: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mandate-readme-'));
    server = await startTestServer({ MANDATE_STORE_URL: `file:${join(dir, 'mandate.db')}` });
  });
  after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  verifies('docs:readme-walkthrough', 'runs as written and shows each decision it promises', { timeout: 120_000 }, async () => {
    const { stdout } = await run('bash', ['-euo', 'pipefail', '-c', walkthrough()], {
      cwd: ROOT,
      env: { ...process.env, MANDATE_URL: server.url, MANDATE_ADMIN_TOKEN: ADMIN_TOKEN, MANDATE_STORE_URL: `file:${join(dir, 'mandate.db')}` },
    });
    const codes = [...stdout.matchAll(/"code": "([a-z_]+\.[a-z_]+)"/g)].map((m) => m[1]);
    assert.deepEqual(codes, ['policy.permit', 'mandate.arg_constraint', 'policy.step_up', 'credential.revoked']);
    assert.deepEqual([...stdout.matchAll(/^exit (\d)$/gm)].map((m) => m[1]), ['3', '4', '3']);
    assert.match(stdout, /"status": "completed"/);
    assert.match(stdout, /ok: every chain verifies and holds what was witnessed/);
    assert.match(stdout, /\d+ passed, 0 failed/);
  });
});
