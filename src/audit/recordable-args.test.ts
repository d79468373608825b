import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MAX_RECORDED_ARGS_BYTES, recordableArgs } from './recordable-args.js';

test('secret-named fields are masked at any depth, other fields kept as given', () => {
  const args = { path: '/srv/a', password: 'hunter2', nested: { client_secret: 'x', items: [{ accessToken: 't', id: 3 }], sessionId: 's' }, Cookie: 'c=1', count: 2, ok: true, none: null };
  assert.deepEqual(recordableArgs(args), { path: '/srv/a', password: '[redacted]', nested: { client_secret: '[redacted]', items: [{ accessToken: '[redacted]', id: 3 }], sessionId: '[redacted]' }, Cookie: '[redacted]', count: 2, ok: true, none: null });
});

test('credential values are masked whatever their field is called', () => {
  const pem = '-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----';
  const out = recordableArgs({ a: 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.abc', b: pem, c: 'Bearer abcdefghijk', d: ['Basic dXNlcjpwYXNz'], e: 'a bearer of news' });
  assert.deepEqual(out, { a: '[redacted]', b: '[redacted]', c: '[redacted]', d: ['[redacted]'], e: 'a bearer of news' });
});

test('arguments larger than the bound are omitted with their size', () => {
  const out = recordableArgs({ body: 'x'.repeat(MAX_RECORDED_ARGS_BYTES) });
  assert.equal(typeof out, 'string');
  assert.match(out as string, /^\[omitted: \d+ bytes\]$/);
  assert.equal(typeof recordableArgs({ body: 'x'.repeat(MAX_RECORDED_ARGS_BYTES - 100) }), 'object');
});
