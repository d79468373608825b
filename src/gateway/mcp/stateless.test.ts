import assert from 'node:assert/strict';
import { test } from 'node:test';
import { META, isEnvelopeError, isStatelessRequest, openState, readEnvelope, sealState, stampResult, statusOfError } from './stateless.js';

const envelope = (version: unknown, capabilities: unknown = {}) => ({ jsonrpc: '2.0', id: 7, method: 'tools/list', params: { _meta: { [META.protocolVersion]: version, [META.clientCapabilities]: capabilities } } });

test('a request is stateless when its _meta claims a version or its header names 2026-07-28 or later, never with a session', () => {
  assert.equal(isStatelessRequest(undefined, envelope('2026-07-28'), false), true);
  assert.equal(isStatelessRequest('2026-07-28', { jsonrpc: '2.0', method: 'tools/list' }, false), true);
  assert.equal(isStatelessRequest('2027-01-01', {}, false), true);
  assert.equal(isStatelessRequest('2025-11-25', { jsonrpc: '2.0', method: 'initialize' }, false), false);
  assert.equal(isStatelessRequest('1999-01-01', {}, false), false);
  assert.equal(isStatelessRequest('2026-07-28', envelope('2026-07-28'), true), false);
});

test('the envelope is checked in the order the revision gives: header, required keys, agreement, support', () => {
  const supported = ['2026-07-28'];
  const codeOf = (e: ReturnType<typeof readEnvelope>) => (isEnvelopeError(e) ? [e.status, e.code] : 'ok');
  assert.deepEqual(codeOf(readEnvelope(undefined, envelope('2026-07-28'), supported)), [400, -32020]);
  assert.deepEqual(codeOf(readEnvelope('2026-07-28', { params: {} }, supported)), [400, -32602]);
  assert.deepEqual(codeOf(readEnvelope('2026-07-28', envelope('2026-07-28', null), supported)), [400, -32602]);
  assert.deepEqual(codeOf(readEnvelope('2026-07-28', envelope('v999.0.0'), supported)), [400, -32020]);
  const unsupported = readEnvelope('v999.0.0', envelope('v999.0.0'), supported);
  assert.ok(isEnvelopeError(unsupported));
  assert.deepEqual([unsupported.status, unsupported.code, unsupported.data], [400, -32022, { supported, requested: 'v999.0.0' }]);
  const ok = readEnvelope('2026-07-28', envelope('2026-07-28', { sampling: {} }), supported);
  assert.ok(!isEnvelopeError(ok));
  assert.deepEqual(ok.clientCapabilities, { sampling: {} });
  assert.equal(ok.logLevel, undefined);
});

test('results say they are complete, and lists and reads carry private caching hints; errors map to their HTTP status', () => {
  assert.deepEqual(stampResult('tools/call', { content: [] }), { content: [], resultType: 'complete' });
  assert.deepEqual(stampResult('tools/list', { tools: [], ttlMs: 5000, cacheScope: 'public' }), { tools: [], ttlMs: 5000, cacheScope: 'private', resultType: 'complete' });
  assert.deepEqual(stampResult('resources/read', { resultType: 'input_required', requestState: 's' }), { resultType: 'input_required', requestState: 's' });
  assert.deepEqual([-32601, -32020, -32021, -32022, -32602, -32603].map(statusOfError), [404, 400, 400, 400, 200, 200]);
});

test('a sealed requestState opens only for the same task, upstream, method, target and arguments, unaltered and in time', () => {
  const binding = { taskId: 't1', upstream: 'up', method: 'tools/call', target: 'ask', args: { a: 1 } };
  const sealed = sealState('key', binding, 'inner-state', 1_000);
  assert.equal(openState('key', binding, sealed, 2_000), 'inner-state');
  assert.equal(openState('key', binding, sealState('key', binding, undefined, 1_000), 2_000), null);
  assert.equal(openState('key', binding, `${sealed}-TAMPERED`, 2_000), undefined);
  assert.equal(openState('other-key', binding, sealed, 2_000), undefined);
  for (const other of [{ taskId: 't2' }, { upstream: 'up2' }, { method: 'prompts/get' }, { target: 'ask2' }, { args: { a: 2 } }]) {
    assert.equal(openState('key', { ...binding, ...other }, sealed, 2_000), undefined, JSON.stringify(other));
  }
  assert.equal(openState('key', binding, sealed, 1_000 + 10 * 60_000 + 1), undefined, 'expired');
  assert.notEqual(sealState('key', binding, 'round-2', 1_000), sealed, 'a new upstream state makes a new sealed one');
});
