import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ERROR_CODES, type ErrorCode } from '../../core/index.js';
import { httpStatusOf, jsonRpcCodeOf } from './transport-codes.js';

describe('transport tables', () => {
  it('every code in the catalog has an HTTP status and a JSON-RPC code', () => {
    for (const code of Object.keys(ERROR_CODES) as ErrorCode[]) {
      const status = httpStatusOf(code);
      assert.ok(Number.isInteger(status) && status >= 400 && status <= 599, `${code} → ${status}`);
      assert.ok(jsonRpcCodeOf(code) < 0, `${code} → ${jsonRpcCodeOf(code)}`);
    }
  });

  it('refusals are 403, credentials 401, an unreachable store 503, in both transports', () => {
    assert.deepEqual(
      (['policy.forbid', 'mandate.arg_constraint', 'credential.revoked', 'store.unreachable', 'request.invalid', 'internal.error'] as const).map((c) => [httpStatusOf(c), jsonRpcCodeOf(c)]),
      [[403, -32003], [403, -32003], [401, -32001], [503, -32002], [400, -32602], [500, -32603]],
    );
  });

  it('every DPoP refusal is a 401, as RFC 9449 answers a bad proof', () => {
    const dpop = (Object.keys(ERROR_CODES) as ErrorCode[]).filter((c) => c.startsWith('dpop.'));
    assert.equal(dpop.length, 8);
    for (const code of dpop) assert.deepEqual([code, httpStatusOf(code), jsonRpcCodeOf(code)], [code, 401, -32001]);
  });
});
