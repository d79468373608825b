import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkParseSchema } from '@cedar-policy/cedar-wasm/nodejs';
import { TOOL_KINDS } from '../core/index.js';
import { loadPolicies } from './load-policies.js';
import { CEDAR_SCHEMA } from './schema.js';

test('the schema parses', () => {
  assert.deepEqual(checkParseSchema(CEDAR_SCHEMA), { type: 'success' });
});

test('every tool kind is an action in call_tool, and delegate is not', () => {
  const text = TOOL_KINDS.map((k) => `permit (principal, action == Action::"${k}", resource) when { action in Action::"call_tool" && resource.kind == "${k}" };`).join('\n');
  assert.equal(loadPolicies([{ name: 'kinds.cedar', text }]).policies.length, TOOL_KINDS.length);
  assert.throws(() => loadPolicies([{ name: 'd.cedar', text: 'permit (principal, action == Action::"delegate", resource) when { resource.kind == "x" };' }]), /d\.cedar:1:/);
});

test('no attribute is optional: a policy cannot `has`-test its way around a missing one', () => {
  assert.doesNotMatch(CEDAR_SCHEMA, /\?\s*:/);
});
