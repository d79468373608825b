import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RevocationSet } from './revocation-set.js';

const subject = { credentialId: 'crd_1', taskId: 'tsk_1', agentId: 'agt_1', principal: 'alice', grantedAtMs: 100 };
const rev = (kind: 'credential' | 'task' | 'agent' | 'principal', s: string, createdAtMs = 200, expiresAtMs = 10_000) => ({ id: `rvk_${kind}`, kind, subject: s, reason: 'r', createdAtMs, expiresAtMs });

describe('revocation set', () => {
  it('cuts by credential, task, agent and principal', () => {
    for (const [kind, s] of [['credential', 'crd_1'], ['task', 'tsk_1'], ['agent', 'agt_1'], ['principal', 'alice']] as const) {
      const set = new RevocationSet();
      assert.equal(set.revokedBy(subject), undefined);
      set.add(rev(kind, s));
      assert.equal(set.revokedBy(subject), kind);
    }
  });

  it('agent and principal revocations cut only what was granted up to them', () => {
    const set = new RevocationSet();
    set.add(rev('agent', 'agt_1', 50));
    set.add(rev('principal', 'alice', 50));
    assert.equal(set.revokedBy(subject), undefined, 'granted after the revocation');
    assert.equal(set.revokedBy({ ...subject, grantedAtMs: 50 }), 'agent');
    assert.equal(set.revokedBy({ ...subject, agentId: 'agt_2', grantedAtMs: 50 }), 'principal');
    assert.equal(set.revokedBy({ ...subject, agentId: 'agt_2', principal: null, grantedAtMs: 50 }), undefined);
  });

  it('forgets entries once nothing they cut can be valid', () => {
    const set = new RevocationSet();
    set.add(rev('task', 'tsk_1', 200, 1000));
    set.add(rev('agent', 'agt_9', 200, 5000));
    set.prune(1000);
    assert.equal(set.size, 1);
    assert.equal(set.revokedBy({ ...subject, taskId: 'tsk_1' }), undefined, 'the expired task revocation is gone');
  });
});
