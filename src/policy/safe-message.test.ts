import assert from 'node:assert/strict';
import { test } from 'node:test';
import { safeMessage } from './safe-message.js';

test('values quoted by Cedar are redacted; schema names, policy ids and entity uids are kept', () => {
  const ids = new Set(['no-etc']);
  assert.equal(
    safeMessage('in tag `path` on `Tool::"files.write"`, type mismatch: `sk_live_123` for `callCount` in `no-etc`', ids),
    'in tag `…` on `Tool::"files.write"`, type mismatch: `…` for `callCount` in `no-etc`',
  );
  assert.equal(safeMessage('context `{environment: "prod", task: {...}}` is not valid for `Action::"write"`', ids), 'context `…` is not valid for `Action::"write"`');
  assert.ok(safeMessage('x'.repeat(1000), ids).length <= 301);
});
