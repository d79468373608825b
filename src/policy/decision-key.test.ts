import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { policySetTextToParts, policyToJson, type PolicyJson } from '@cedar-policy/cedar-wasm/nodejs';
import { buildCedarRequest } from './build-request.js';
import { keyerFor, likeMatcher, type LikePart } from './decision-key.js';
import { PolicyEngine } from './engine.js';
import type { CallFacts } from './model.js';

function jsonOf(text: string): PolicyJson[] {
  const parts = policySetTextToParts(text);
  if (parts.type !== 'success') throw new Error(JSON.stringify(parts.errors));
  return parts.policies.map((p) => {
    const j = policyToJson(p);
    if (j.type !== 'success') throw new Error(JSON.stringify(j.errors));
    return j.json;
  });
}

const FACTS: CallFacts = {
  agent: { name: 'report-bot', spiffeId: 'spiffe://t/a', groups: ['agents'] },
  tool: { name: 'files.read', kind: 'read', risk: 'low', labels: [], description: '', targets: ['url'] },
  args: { path: '/srv/a.csv' },
  task: { id: 'tsk_1', purpose: 'p', dataClasses: [], callCount: 1, labels: ['untrusted'], toolsCalled: ['a.b'], delegationDepth: 0 },
  call: { declared: 0, trusted: 1, counterparty: 0, untrusted: 0, unseen: 0 },
  environment: 'development',
};
const key = (policies: string, facts: CallFacts) => keyerFor(jsonOf(policies))!(buildCedarRequest(facts));
const vary = (change: (f: CallFacts) => void): CallFacts => {
  const f = structuredClone(FACTS);
  change(f);
  return f;
};

describe('decision keys: exactly what the policies read', () => {
  const POLICY = `permit (principal in AgentGroup::"agents", action, resource) when { context.task.labels.contains("untrusted") && context.call.unseenTargets > 0 && resource.getTag("path") like "/etc/*" };`;

  test('facts no policy reads do not change the key; facts one reads do', () => {
    const base = key(POLICY, FACTS);
    for (const same of [
      vary((f) => (f.task.id = 'tsk_2')),
      vary((f) => (f.task.callCount = 40)),
      vary((f) => f.task.toolsCalled.push('c.d')),
      vary((f) => f.task.labels.push('pii')),
      vary((f) => (f.args['path'] = '/home/x')),
      vary((f) => (f.call!.unseen = 0)),
    ]) assert.equal(key(POLICY, same), base, JSON.stringify(same));
    for (const other of [
      vary((f) => (f.task.labels = [])),
      vary((f) => (f.call!.unseen = 2)),
      vary((f) => (f.args['path'] = '/etc/passwd')),
      vary((f) => (f.agent.groups = ['ops'])),
      vary((f) => (f.tool.kind = 'send')),
    ]) assert.notEqual(key(POLICY, other), base, JSON.stringify(other));
  });

  test('a history of 1,000 tools called makes the same key as one of 10 when only a membership is read', () => {
    const policy = `forbid (principal, action, resource) when { context.task.toolsCalled.contains("shell.exec") };`;
    const many = vary((f) => (f.task.toolsCalled = Array.from({ length: 1000 }, (_, i) => `t.${i}`)));
    assert.equal(key(policy, many), key(policy, vary((f) => (f.task.toolsCalled = ['t.1']))));
  });

  test('constructs the analysis does not understand turn keying off for the set', () => {
    assert.equal(keyerFor(jsonOf(`permit (principal, action, resource) when { Agent::"a".name == "a" };`)), null, 'an attribute of an entity literal');
    assert.notEqual(keyerFor(jsonOf(`permit (principal, action, resource) when { {a: 1}.a == 1 && decimal("1.2").lessThan(decimal("2.0")) };`)), null, 'literals and extension calls are fine');
  });

  test('a read value holding an entity reference gets no key: Cedar decides it', () => {
    const keyer = keyerFor(jsonOf(`permit (principal, action, resource) when { context.task.labels.contains("x") };`))!;
    const req = buildCedarRequest(FACTS);
    assert.notEqual(keyer(req), undefined);
    (req.context as Record<string, unknown>)['task'] = { ...(req.context as { task: object }).task, labels: [{ __entity: { type: 'Agent', id: 'x' } }] };
    assert.equal(keyer(req), undefined, 'in a set');
    (req.context as Record<string, unknown>)['task'] = { __entity: { type: 'Task', id: 'x' } };
    assert.equal(keyer(req), undefined, 'on the way to the value');
  });
});

describe('like, as Cedar matches it', () => {
  const PATTERNS = ['/etc/*', '*..*', '*', '', '\\*', 'a*b*c', '*a*a*a*b', '/srv/*.csv', 'é*', '**', '*/', '\\**\\*'];
  const STRINGS = ['', '*', '/etc', '/etc/', '/etc/passwd', '/srv/a.csv', '/srv/a.csvx', 'abc', 'aXbYc', 'acb', 'aaaaaaab', 'aaaaaaa', 'é/ü', 'é', '**', '*x*', 'x/', '../..', 'a'.repeat(200) + 'b'];

  test('every pattern on every string gives Cedar’s answer', () => {
    for (const pattern of PATTERNS) {
      const text = `permit (principal, action in Action::"call_tool", resource is Tool) when { resource.hasTag("path") && resource.getTag("path") like "${pattern.replace(/"/g, '\\"')}" };`;
      const engine = PolicyEngine.fromFiles([{ name: 'like.cedar', text }], { decisionCache: 0 });
      const parts = (jsonOf(text)[0]!.conditions[0]!.body as { '&&': { right: { like: { pattern: unknown[] } } } })['&&'].right.like.pattern;
      const matches = likeMatcher(parts.map((p): LikePart => (p === 'Wildcard' ? 'wildcard' : { literal: (p as { Literal: string }).Literal })));
      for (const s of STRINGS) {
        const cedar = engine.evaluate(buildCedarRequest(vary((f) => (f.args['path'] = s)))).outcome === 'allow';
        assert.equal(matches(s), cedar, `${JSON.stringify(s)} like ${JSON.stringify(pattern)}`);
      }
    }
  });

  test('linear in the text whatever the pattern', () => {
    const matches = likeMatcher([...Array.from({ length: 20 }, (): LikePart[] => ['wildcard', { literal: 'a' }]).flat(), { literal: 'b' }]);
    const started = process.hrtime.bigint();
    assert.equal(matches('a'.repeat(5000)), false);
    assert.ok(Number(process.hrtime.bigint() - started) < 5e9, 'finished');
  });
});

describe('the engine keeps answers by key', () => {
  test('a kept answer is handed out as a copy; a new policy version starts empty', () => {
    const engine = PolicyEngine.fromFiles([{ name: 'p.cedar', text: `@redact("iban") permit (principal, action, resource);` }]);
    assert.equal(engine.keyed, true);
    const req = buildCedarRequest(FACTS);
    const first = engine.evaluate(req);
    first.redact.push('mutated');
    first.policyIds.length = 0;
    const second = engine.evaluate(req);
    assert.deepEqual([second.policyIds, second.redact], [['p.cedar:1'], ['iban']]);
    assert.equal(PolicyEngine.fromFiles([{ name: 'p.cedar', text: 'permit (principal, action, resource);' }], { decisionCache: 0 }).keyed, false);
  });
});
