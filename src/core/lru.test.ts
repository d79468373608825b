import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Lru } from './lru.js';

describe('LRU', () => {
  it('holds at most its capacity and evicts the least recently used first', () => {
    const lru = new Lru<string, number>(3);
    lru.set('a', 1);
    lru.set('b', 2);
    lru.set('c', 3);
    assert.equal(lru.get('a'), 1, 'a hit makes `a` the most recently used');
    lru.set('d', 4);
    assert.equal(lru.size, 3);
    assert.equal(lru.has('b'), false, '`b` was the least recently used');
    assert.deepEqual([...lru.keys()], ['c', 'a', 'd']);
  });

  it('peek does not change the order; set on a present key refreshes it', () => {
    const lru = new Lru<string, number>(2);
    lru.set('a', 1);
    lru.set('b', 2);
    assert.equal(lru.peek('a'), 1);
    lru.set('c', 3);
    assert.deepEqual([...lru.keys()], ['b', 'c'], 'peek left `a` least recently used');
    lru.set('b', 20);
    lru.set('d', 4);
    assert.deepEqual([...lru.keys()], ['b', 'd']);
    assert.equal(lru.get('b'), 20);
  });

  it('stays bounded under many distinct keys', () => {
    const lru = new Lru<number, number>(100);
    for (let i = 0; i < 10_000; i++) lru.set(i, i);
    assert.equal(lru.size, 100);
    assert.deepEqual([...lru.keys()].slice(0, 2), [9900, 9901]);
  });

  it('prune drops what the predicate names', () => {
    const lru = new Lru<string, number>(10);
    for (const [k, v] of [['a', 1], ['b', 2], ['c', 3]] as const) lru.set(k, v);
    assert.equal(lru.prune((v) => v % 2 === 1), 2);
    assert.deepEqual([...lru.keys()], ['b']);
  });

  it('refuses a capacity that is not a positive integer', () => {
    assert.throws(() => new Lru(0), TypeError);
    assert.throws(() => new Lru(1.5), TypeError);
  });
});
