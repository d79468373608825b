import assert from 'node:assert/strict';
import { after, before, describe } from 'node:test';
import type { RunningServer } from '../../src/server/index.js';
import { ADMIN_TOKEN, runCli, startTestServer } from '../helpers.js';
import { verifies } from './verifies.js';

const mandate = runCli;

describe('CLI exit codes', () => {
  let server: RunningServer;
  before(async () => {
    server = await startTestServer();
  });
  after(async () => {
    await server.close();
  });

  verifies('cli:exit-by-code', 'each failure exits by its code', async () => {
    const admin = { MANDATE_URL: server.url, MANDATE_ADMIN_TOKEN: ADMIN_TOKEN };
    const wrongToken = await mandate(['task', 'list'], { ...admin, MANDATE_ADMIN_TOKEN: 'madm_wrong' });
    assert.equal(wrongToken.code, 6, wrongToken.stderr);
    assert.match(wrongToken.stderr, /request\.unauthorized/);

    const unknown = await mandate(['agent', 'token', 'no-such-agent'], admin);
    assert.equal(unknown.code, 7, unknown.stderr);
    assert.match(unknown.stderr, /identity\.agent_unknown/);

    // Nothing listens on port 9 of the loopback interface.
    const unreachable = await mandate(['task', 'list'], { ...admin, MANDATE_URL: 'http://127.0.0.1:9' });
    assert.equal(unreachable.code, 8, unreachable.stderr);
    assert.match(unreachable.stderr, /request\.unreachable/);

    const badCredential = await mandate(['task', 'complete', '--credential', 'not-a-jwt'], admin);
    assert.equal(badCredential.code, 6, badCredential.stderr);

    const badFlag = await mandate(['decide', '--no-such-flag'], admin);
    assert.equal(badFlag.code, 2, badFlag.stderr);
  });
});
