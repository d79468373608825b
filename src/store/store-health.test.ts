import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CodedError } from '../core/index.js';
import { StoreHealth } from './store-health.js';

const BOUND_MS = 40;

function health(): StoreHealth {
  // Never answers a probe: once down, the store stays down for the test.
  return new StoreHealth({ answerWithinMs: BOUND_MS, probeMs: 10_000, ping: () => new Promise(() => undefined), recover: async () => false });
}

const never = () => new Promise<never>(() => undefined);
const unreachable = (err: unknown) => err instanceof CodedError && err.code === 'store.unreachable';

describe('store health: the bound on a store call', { timeout: 10_000 }, () => {
  it('passes answers and store errors through while calls answer within the bound', async () => {
    const h = health();
    assert.equal(await h.guard(Promise.resolve(7)), 7);
    await assert.rejects(h.guard(Promise.reject(new TypeError('a bug, not the store'))), TypeError);
    assert.equal(h.available, true);
    h.close();
  });

  it('a call past the bound fails store.unreachable, fails every call waiting with it, and marks the store down', async () => {
    const h = health();
    const started = performance.now();
    const hung = h.guard(never());
    // Started later, with its own deadline later: failed all the same when the store is marked down.
    const waiting = h.guard(never());
    const answered = h.guard(Promise.resolve('in time'));
    assert.equal(await answered, 'in time');
    await assert.rejects(hung, unreachable);
    assert.ok(performance.now() - started >= BOUND_MS - 1, 'not before the bound');
    await assert.rejects(waiting, unreachable);
    assert.equal(h.available, false);
    await assert.rejects(h.guard(Promise.resolve(1)), unreachable, 'refused at once while down');
    h.close();
  });

  it('the watchdog follows the oldest call in flight: when that one has answered, it waits for the next one\'s deadline', async () => {
    const h = health();
    let answer!: (v: string) => void;
    const first = h.guard(new Promise<string>((r) => (answer = r)));
    const secondStarted = performance.now();
    const second = h.guard(never());
    answer('first');
    assert.equal(await first, 'first');
    assert.equal(h.available, true);
    await assert.rejects(second, unreachable);
    assert.ok(performance.now() - secondStarted >= BOUND_MS - 1, 'the second call had its whole bound');
    assert.equal(h.available, false);
    h.close();
  });

  it('after close, a call past the bound still fails', async () => {
    const h = health();
    const hung = h.guard(never());
    h.close();
    await assert.rejects(hung, unreachable);
  });
});
