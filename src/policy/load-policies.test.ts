import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError } from '../core/index.js';
import { PERMIT_AGENTS, policyDir } from './fixtures.js';
import { loadPolicies } from './load-policies.js';

function configErrorOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected a ConfigError');
}

test('loads *.cedar files sorted, with @id or <file>:<line> ids', () => {
  const loaded = loadPolicies([
    { name: 'b.cedar', text: '// second file\n\npermit (principal, action == Action::"read", resource);\n' },
    { name: 'a.cedar', text: PERMIT_AGENTS },
  ]);
  assert.deepEqual(loaded.files, ['a.cedar', 'b.cedar']);
  assert.deepEqual(
    loaded.policies.map((p) => [p.id, p.effect]),
    [
      ['permit-agents', 'permit'],
      ['b.cedar:3', 'permit'],
    ],
  );
});

test('reads the @step_up annotation of each policy', () => {
  const loaded = loadPolicies([
    { name: 'p.cedar', text: `${PERMIT_AGENTS}@id("pay")\n@step_up("finance")\nforbid (principal, action == Action::"payment", resource);\n` },
  ]);
  assert.equal(loaded.policies.find((p) => p.id === 'pay')?.stepUp, 'finance');
  assert.equal(loaded.policies.find((p) => p.id === 'permit-agents')?.stepUp, undefined);
});

test('a syntax error is a ConfigError naming file:line:col, even after non-ASCII text', () => {
  const dir = policyDir({ 'ok.cedar': PERMIT_AGENTS, 'bad.cedar': '// déjà vu ✓\n\npermit (principal, action, resource)\n  when { x };\n' });
  const err = configErrorOf(() => loadPolicies(dir.readPolicies()));
  assert.match(err.message, /bad\.cedar:4:10: invalid variable: x/);
  assert.doesNotMatch(err.message, /ok\.cedar/);
});

test('an unknown attribute is a ConfigError at the attribute, with every problem listed', () => {
  const many = Array.from({ length: 11 }, (_, i) => `permit (principal, action, resource) when { ${i} == ${i} };`).join('\n');
  const err = configErrorOf(() =>
    loadPolicies([
      { name: 'one.cedar', text: `${many}\nforbid (principal, action, resource) when { resource.owner == "x" };\n` },
      { name: 'two.cedar', text: 'forbid (principal, action, resource) when { context.task.callCount > "3" };\n' },
    ]),
  );
  // Line 12: the twelfth policy, whose position cedar-wasm reports out of source order.
  assert.match(err.message, /one\.cedar:12:45: attribute `owner` on entity type `Tool` not found/);
  assert.match(err.message, /two\.cedar:1:70: unexpected type: expected Long but saw String/);
});

test('tag access must be guarded by hasTag (strict validation)', () => {
  const err = configErrorOf(() =>
    loadPolicies([{ name: 't.cedar', text: 'forbid (principal, action, resource) when { resource.getTag("path") like "/etc/*" };' }]),
  );
  assert.match(err.message, /t\.cedar:1:45: unable to guarantee safety of access to tag/);
});

test('duplicate ids are an error, across files too', () => {
  const err = configErrorOf(() =>
    loadPolicies([
      { name: 'a.cedar', text: '@id("same") permit (principal, action, resource);' },
      { name: 'b.cedar', text: '\n@id("same") forbid (principal, action, resource);' },
    ]),
  );
  assert.match(err.message, /b\.cedar:2:1: duplicate policy id `same` \(first at a\.cedar:1\)/);
});

test('@step_up must be on a forbid and name an approval', () => {
  const err = configErrorOf(() =>
    loadPolicies([
      { name: 'a.cedar', text: '@id("p") @step_up("human") permit (principal, action, resource);\n@id("f") @step_up forbid (principal, action, resource);' },
    ]),
  );
  assert.match(err.message, /a\.cedar:1:1: `@step_up` applies to forbid policies only/);
  assert.match(err.message, /a\.cedar:2:1: `@step_up` needs a value/);
});

test('templates are refused rather than silently never applying', () => {
  const err = configErrorOf(() => loadPolicies([{ name: 't.cedar', text: 'permit (principal == ?principal, action, resource);' }]));
  assert.match(err.message, /t\.cedar:1:1: policy templates/);
});

test('the hash covers file names and contents, not their read order', () => {
  const a = { name: 'a.cedar', text: PERMIT_AGENTS };
  const b = { name: 'b.cedar', text: 'forbid (principal, action == Action::"execute", resource);' };
  const h = loadPolicies([a, b]).hash;
  assert.match(h, /^[0-9a-f]{64}$/);
  assert.equal(loadPolicies([b, a]).hash, h);
  assert.notEqual(loadPolicies([a, { ...b, name: 'c.cedar' }]).hash, h);
  assert.notEqual(loadPolicies([a, { ...b, text: `${b.text} ` }]).hash, h);
});

test('a commented-out copy of a policy does not shift its location', () => {
  const text = '// permit (principal, action, resource);\npermit (principal, action, resource);\n';
  assert.deepEqual(
    loadPolicies([{ name: 'c.cedar', text }]).policies.map((p) => p.id),
    ['c.cedar:2'],
  );
});
