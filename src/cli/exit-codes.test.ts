import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ERROR_CODES, type ErrorCode } from '../core/index.js';
import { EXIT, exitCodeOf } from './exit-codes.js';

test('every code in the catalog exits with one of the documented codes, and the ones a script acts on are distinct', () => {
  const documented = new Set<number>(Object.values(EXIT));
  for (const code of Object.keys(ERROR_CODES) as ErrorCode[]) assert.ok(documented.has(exitCodeOf(code)), code);
  assert.equal(exitCodeOf('policy.step_up'), EXIT.stepUp);
  assert.equal(exitCodeOf('policy.forbid'), EXIT.deny);
  assert.equal(exitCodeOf('credential.revoked'), EXIT.unauthorized);
  assert.equal(exitCodeOf('identity.agent_unknown'), EXIT.notFound);
  assert.equal(exitCodeOf('request.unreachable'), EXIT.unavailable, 'the control plane out of reach: retry');
  assert.equal(exitCodeOf('store.unreachable'), EXIT.unavailable);
  assert.equal(exitCodeOf('gateway.upstream_error'), EXIT.error, 'an upstream that failed: not a retry as is');
  assert.equal(exitCodeOf('mandate.invalid'), EXIT.usage);
});
