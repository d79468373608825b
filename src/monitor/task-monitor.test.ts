import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { manualClock, type TaskId } from '../core/index.js';
import type { Task } from '../mandate/index.js';
import { DEFAULT_RESPONSES, type Behaviour } from './behaviour.js';
import type { StoredBehaviour } from './ports.js';
import { TaskMonitor } from './task-monitor.js';
import { taskFixture } from '../../test/fixtures/task.js';

function task(n: number, expiresAtMs: number, status: Task['status'] = 'active'): Task {
  return taskFixture(`tsk_monitor${String(n).padStart(6, '0')}`, { status, expiresAtMs });
}

function monitor(capacity?: number) {
  const clock = manualClock();
  const stored = new Map<TaskId, StoredBehaviour>();
  const m = new TaskMonitor({
    repo: { get: async (id) => stored.get(id), save: async (id, b) => void stored.set(id, b), addSeen: async () => undefined },
    settings: { denialsPerMinute: 1000, responses: DEFAULT_RESPONSES },
    audit: { record: async () => undefined } as never,
    clock,
    respond: async () => undefined,
    publish: async () => undefined,
    capacity,
  });
  return { m, clock };
}

const allow = { outcome: 'allow' as const, code: 'policy.permit', tool: 'a.b', toolKind: 'read' };
const deny = { outcome: 'deny' as const, code: 'policy.forbid', tool: 'a.b', toolKind: 'read' };

describe('task monitor: per-task state is bounded', () => {
  it('an ended task’s state is dropped; what every replica sees is read back from the store', async () => {
    const { m, clock } = monitor();
    const t = task(1, clock.nowMs() + 60_000);
    for (let i = 0; i < 5; i++) await m.observe(t, allow);
    await new Promise((r) => setImmediate(r)); // the first-use save is not awaited by observe
    assert.equal(m.size, 1);
    m.forget(t.id);
    assert.equal(m.size, 0);
    const again: Behaviour = await m.state(t);
    assert.deepEqual([again.calls, again.toolsCalled], [0, ['a.b']], 'counters are per replica; tools called are stored');
  });

  it('sweep drops expired tasks and tasks that had ended when read, and keeps live ones', async () => {
    const { m, clock } = monitor();
    const now = clock.nowMs();
    await m.state(task(1, now + 1000));
    await m.state(task(2, now + 60_000));
    await m.state(task(3, now + 60_000, 'revoked'));
    clock.advance(1000);
    assert.equal(m.sweep(clock.nowMs()), 2);
    assert.equal(m.size, 1);
  });

  it('holds at most its capacity', async () => {
    const { m, clock } = monitor(100);
    for (let i = 0; i < 1000; i++) await m.observe(task(i, clock.nowMs() + 60_000), deny);
    assert.equal(m.size, 100);
  });

  it('a task denied without pause keeps only the denials the signal needs', async () => {
    const { m, clock } = monitor();
    const t = task(1, clock.nowMs() + 3_600_000);
    let b: Behaviour | undefined;
    for (let i = 0; i < 5000; i++) {
      b = await m.observe(t, deny);
      clock.advance(1);
    }
    assert.equal(b!.denials, 5000);
    assert.ok(b!.recentDenialsMs.length <= 1000, `${b!.recentDenialsMs.length} timestamps`);
  });
});
