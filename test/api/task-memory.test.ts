import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { skewableClock } from '../../src/core/index.js';
import type { RunningServer } from '../../src/server/index.js';
import { grantTask, startTestServer } from '../helpers.js';

const MANDATE = {
  purpose: 'read reports',
  tools: [{ name: 'files.read', args: { path: { prefix: '/srv/reports/' } } }],
  limits: { maxCallsPerMinute: 100 },
  ttlSeconds: 300,
};

describe('per-task state in memory: dropped when the task ends or expires', () => {
  const clock = skewableClock();
  let server: RunningServer;
  before(async () => {
    server = await startTestServer({}, { clock });
  });
  after(async () => server.close());

  const decideTwice = async (credential: string) => {
    for (let i = 0; i < 2; i++) {
      const d = await server.plane.decide({ credential, tool: 'files.read', args: { path: '/srv/reports/a' } });
      assert.equal(d.outcome, 'allow', d.reason.code);
    }
  };

  it('ending a task drops its record, monitor state and rate window at once, and its verified credential on the sweep', async () => {
    const { taskId, credential } = await grantTask(server.url, 'report-bot', MANDATE);
    await decideTwice(credential);
    assert.deepEqual(server.plane.memory.counts(), { tasks: 1, monitor: 1, credentials: 1, rateWindows: 1 });
    await server.plane.tasks.end(taskId, 'completed', 'done', 'admin');
    const denied = await server.plane.decide({ credential, tool: 'files.read', args: { path: '/srv/reports/a' } });
    assert.equal(denied.reason.code, 'credential.revoked');
    server.plane.memory.sweep();
    assert.deepEqual(server.plane.memory.counts(), { tasks: 0, monitor: 0, credentials: 0, rateWindows: 0 });
  });

  it('an expired task leaves memory on the next sweep; without a per-minute limit no rate window is kept', async () => {
    const { credential } = await grantTask(server.url, 'report-bot', { ...MANDATE, limits: {} });
    await decideTwice(credential);
    assert.deepEqual(server.plane.memory.counts(), { tasks: 1, monitor: 1, credentials: 1, rateWindows: 0 });
    clock.advance(301_000);
    server.plane.memory.sweep();
    assert.deepEqual(server.plane.memory.counts(), { tasks: 0, monitor: 0, credentials: 0, rateWindows: 0 });
  });
});
