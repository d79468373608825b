import assert from 'node:assert/strict';
import { describe } from 'node:test';
import type { TaskId } from '../../src/core/index.js';
import { grantTask, startTestServer } from '../helpers.js';
import { verifies } from './verifies.js';

const CALL = { tool: 'files.read', args: { path: '/srv/reports/q3.csv' } };

describe('revocation on one replica is linearizable', () => {
  verifies('revocation:linearizable', 'once the revoke call has returned, no decision answered after it allows the task', async () => {
    const server = await startTestServer();
    try {
      let exercised = 0;
      for (let round = 0; round < 20; round++) {
        const { credential, taskId } = await grantTask(server.url, 'report-bot', { purpose: 'race', tools: ['files.read'], ttlSeconds: 600 });
        let revoked = false;
        const late: string[] = [];
        // Decisions in flight (past authentication, waiting on the audit commit) when the revocation lands.
        const inFlight = Array.from({ length: 40 }, () =>
          server.plane.decide({ credential, ...CALL }).then((d) => {
            if (!revoked) return;
            exercised += 1;
            if (d.outcome !== 'deny') late.push(d.reason.code);
          }),
        );
        await server.plane.tasks.revoke('task', taskId, 'race test', 'admin');
        revoked = true;
        await Promise.all(inFlight);
        assert.deepEqual(late, [], `round ${round}: answers after the revocation returned must all be denials`);
      }
      assert.ok(exercised > 0, 'some decisions were still in flight when a revocation returned');
    } finally {
      await server.close();
    }
  });

  verifies('revocation:ended-in-store-refused-as-revoked', 'a task ended in the store that this replica has not heard of yet is refused as revoked, not as a used-up limit', async () => {
    const server = await startTestServer();
    try {
      const { credential, taskId } = await grantTask(server.url, 'report-bot', { purpose: 'p', tools: ['files.read'], ttlSeconds: 600 });
      assert.equal((await server.plane.decide({ credential, ...CALL })).outcome, 'allow');
      // What another replica's revocation looks like here before its notification arrives: the row changed, memory did not.
      await server.plane.store.tasks.end(taskId as TaskId, 'revoked', Date.now(), 'ended elsewhere');
      const d = await server.plane.decide({ credential, ...CALL });
      assert.deepEqual([d.outcome, d.reason.code], ['deny', 'credential.revoked']);
    } finally {
      await server.close();
    }
  });
});
