import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RateWindow } from './rate-window.js';

const T0 = Date.UTC(2026, 0, 1);

describe('rate window: calls per task in the last minute', () => {
  it('counts the calls of the last 60 seconds and never misses one', () => {
    const w = new RateWindow();
    w.add('t', T0 + 500);
    w.add('t', T0 + 30_000);
    assert.equal(w.count('t', T0 + 30_000), 2);
    assert.equal(w.count('t', T0 + 60_499), 2, 'the first call is 59.999 s old');
    assert.equal(w.count('t', T0 + 61_000), 1, 'the first call left the window');
    assert.equal(w.count('t', T0 + 91_000), 0);
    assert.equal(w.count('other', T0), 0);
  });

  it('holds the same few slots per task after 100,000 calls', () => {
    const w = new RateWindow();
    for (let i = 0; i < 100_000; i++) w.add('t', T0 + i * 10); // 100 calls a second for 1,000 s
    const now = T0 + 100_000 * 10;
    assert.equal(w.count('t', now), 6000, 'the last 60 s hold 6,000 calls');
    assert.equal(w.size, 1);
    const slots = (w as unknown as { tasks: { peek(k: string): { counts: Uint32Array } } }).tasks.peek('t')!;
    assert.ok(slots.counts.length <= 61, `${slots.counts.length} slots`);
  });

  it('a task idle for a whole window is dropped when another task calls', () => {
    const w = new RateWindow();
    for (let i = 0; i < 1000; i++) w.add(`idle-${i}`, T0);
    w.add('busy', T0 + 30_000);
    assert.equal(w.size, 1001);
    w.add('busy', T0 + 61_000);
    assert.equal(w.size, 1, 'only the task that called in the last minute is kept');
  });

  it('forget drops a task at once; the capacity bounds the number of tasks', () => {
    const w = new RateWindow(10);
    w.add('t', T0);
    w.forget('t');
    assert.equal(w.count('t', T0), 0);
    assert.equal(w.size, 0);
    for (let i = 0; i < 100; i++) w.add(`t${i}`, T0);
    assert.equal(w.size, 10);
  });

  it('a clock that steps back still counts the call', () => {
    const w = new RateWindow();
    w.add('t', T0 + 10_000);
    w.add('t', T0 + 5_000);
    assert.equal(w.count('t', T0 + 10_000), 2);
  });
});
