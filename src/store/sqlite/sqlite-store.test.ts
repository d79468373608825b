import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { GENESIS_HASH } from '../../audit/model.js';
import type { AgentId, CredentialId, EventId, TaskId } from '../../core/index.js';
import { MandateSchema } from '../../mandate/index.js';
import { openSqliteStore } from './index.js';

describe('embedded store: call counts kept in memory, written with the audit batch', () => {
  it('counts survive a restart, whether written by an audit batch or at close', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mandate-sqlite-'));
    const file = join(dir, 'm.db');
    const id = 'tsk_countsurvive1' as TaskId;
    let store = await openSqliteStore(file);
    await store.tasks.insert({
      id,
      agentId: 'agt_aaaaaaaaaaaa' as AgentId,
      agentName: 'bot',
      spiffeId: 'spiffe://t/agent/bot',
      mandate: MandateSchema.parse({ purpose: 'p', tools: ['a.b'] }),
      principal: null,
      parentTaskId: null,
      delegationDepth: 0,
      status: 'active',
      credentialId: 'crd_aaaaaaaaaaaa' as CredentialId,
      createdAtMs: 1,
      expiresAtMs: 10 ** 13,
      endedAtMs: null,
      endReason: null,
      callCount: 0,
    });
    assert.equal(await store.tasks.incrementCalls(id, 5), 1);
    assert.equal(await store.tasks.incrementCalls(id, 5), 2);
    assert.equal((await store.tasks.get(id))?.callCount, 2, 'reads see the live count');
    await store.audit.append([{ segment: 's', seq: 1, id: 'evt_000000000001' as EventId, type: 'decision', atMs: 1, taskId: id, agentId: null, data: {}, prevHash: GENESIS_HASH, hash: 'h' }]);
    assert.equal(await store.tasks.incrementCalls(id, 5), 3);
    await store.close(); // the third count has no audit batch after it: close writes it
    store = await openSqliteStore(file);
    assert.equal((await store.tasks.get(id))?.callCount, 3);
    assert.equal(await store.tasks.incrementCalls(id, 3), undefined, 'the limit holds across the restart');
    await store.tasks.end(id, 'completed', 2, 'done');
    assert.equal(await store.tasks.incrementCalls(id, null), undefined, 'an ended task takes no calls');
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
});
