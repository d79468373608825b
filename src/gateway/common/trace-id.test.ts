import assert from 'node:assert/strict';
import { test } from 'node:test';
import { traceIdOf } from './trace-id.js';

test('the trace id is read from a well-formed traceparent, and nothing from a malformed or all-zero one', () => {
  assert.equal(traceIdOf({ traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' }), '4bf92f3577b34da6a3ce929d0e0e4736');
  assert.equal(traceIdOf({ traceparent: '00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01' }), '4bf92f3577b34da6a3ce929d0e0e4736');
  assert.equal(traceIdOf({ traceparent: '00-00000000000000000000000000000000-00f067aa0ba902b7-01' }), undefined);
  assert.equal(traceIdOf({ traceparent: '00-4bf92f3577b34da6-00f067aa0ba902b7-01' }), undefined);
  assert.equal(traceIdOf({ traceparent: 'garbage' }), undefined);
  assert.equal(traceIdOf({}), undefined);
});
