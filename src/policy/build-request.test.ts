import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildCedarRequest } from './build-request.js';
import { facts, TOOLS } from './fixtures.js';

test('passes only the agent, the tool and their groups', () => {
  const req = buildCedarRequest(facts({ tool: TOOLS.filesWrite }));
  assert.deepEqual(req.principal, { type: 'Agent', id: 'researcher' });
  assert.deepEqual(req.action, { type: 'Action', id: 'write' });
  assert.deepEqual(req.resource, { type: 'Tool', id: 'files.write' });
  assert.deepEqual(
    req.entities.map((e) => e.uid),
    [
      { type: 'AgentGroup', id: 'agents' },
      { type: 'Agent', id: 'researcher' },
      { type: 'Tool', id: 'files.write' },
      { type: 'ToolGroup', id: 'files' },
    ],
  );
  const agent = req.entities.find((e) => JSON.stringify(e.uid) === JSON.stringify(req.principal));
  assert.deepEqual(agent?.parents, [{ type: 'AgentGroup', id: 'agents' }]);
  assert.deepEqual(agent?.attrs, { name: 'researcher', spiffeId: 'spiffe://acme.test/agent/researcher' });
  const toolEntity = req.entities.find((e) => JSON.stringify(e.uid) === JSON.stringify(req.resource));
  assert.deepEqual(toolEntity?.parents, [{ type: 'ToolGroup', id: 'files' }]);
  assert.deepEqual(toolEntity?.attrs, { name: 'files.write', kind: 'write', risk: 'medium', labels: [], tags: [], targets: [] });
});

test('a group listed twice becomes one entity (Cedar rejects duplicates)', () => {
  const req = buildCedarRequest(facts({ agent: { name: 'a', spiffeId: 's', groups: ['agents', 'ops', 'agents'] } }));
  assert.equal(req.entities.filter((e) => e.uid.type === 'AgentGroup').length, 2);
});

test('arguments become string tags: strings as-is, everything else as JSON text', () => {
  const req = buildCedarRequest(
    facts({ args: { path: '/tmp/x', n: 5, ok: true, none: null, list: [1, 'a'], obj: { b: 1 }, skipped: undefined } }),
  );
  const tags = req.entities.find((e) => e.uid.type === 'Tool')?.tags;
  assert.deepEqual({ ...tags }, { path: '/tmp/x', n: '5', ok: 'true', none: 'null', list: '[1,"a"]', obj: '{"b":1}' });
});

test('an argument named __proto__ is a tag, not a prototype', () => {
  const args = JSON.parse('{"__proto__": "/etc/passwd"}') as Record<string, unknown>;
  const tags = buildCedarRequest(facts({ args })).entities.find((e) => e.uid.type === 'Tool')?.tags ?? {};
  assert.equal(Object.getOwnPropertyDescriptor(tags, '__proto__')?.value, '/etc/passwd');
  assert.match(JSON.stringify(tags), /"__proto__":"\/etc\/passwd"/);
});

test('the task context carries every attribute, onBehalfOf "" when acting for nobody', () => {
  const req = buildCedarRequest(facts({ task: { callCount: 3, labels: ['pii'] }, environment: 'production' }));
  assert.deepEqual(req.context, {
    environment: 'production',
    task: {
      id: 'tsk_test0001',
      purpose: 'testing',
      dataClasses: [],
      callCount: 3,
      labels: ['pii'],
      toolsCalled: [],
      delegationDepth: 0,
      onBehalfOf: '',
      egress: [],
    },
    call: { targets: 0, declaredTargets: 0, trustedTargets: 0, counterpartyTargets: 0, untrustedTargets: 0, unseenTargets: 0 },
    delegation: { depth: 0, chain: [] },
  });
  const withTargets = buildCedarRequest({ ...facts({}), call: { declared: 1, trusted: 2, counterparty: 5, untrusted: 3, unseen: 4 } });
  assert.deepEqual(withTargets.context['call'], { targets: 15, declaredTargets: 1, trustedTargets: 2, counterpartyTargets: 5, untrustedTargets: 3, unseenTargets: 4 });
  const forUser = buildCedarRequest(facts({ task: { onBehalfOf: 'alice@example.com' } }));
  assert.equal((forUser.context['task'] as Record<string, unknown>)['onBehalfOf'], 'alice@example.com');
  const delegated = buildCedarRequest(facts({ task: { delegationDepth: 2, delegationChain: ['spiffe://t/agent/a', 'spiffe://t/agent/b'] } }));
  assert.deepEqual(delegated.context['delegation'], { depth: 2, chain: ['spiffe://t/agent/a', 'spiffe://t/agent/b'] });
});
