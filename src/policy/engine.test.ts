import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError } from '../core/index.js';
import { buildCedarRequest } from './build-request.js';
import { PolicyEngine } from './engine.js';
import { facts, PERMIT_AGENTS, policyDir, TOOLS } from './fixtures.js';
import type { CedarRequest } from './model.js';

const OUTSIDER = { name: 'intern', spiffeId: 'spiffe://acme.test/agent/intern', groups: ['sandbox'] };

function engineWith(files: Record<string, string>): PolicyEngine {
  return PolicyEngine.fromSource(policyDir(files));
}

test('no policy loaded denies with policy.none_loaded', () => {
  const req = buildCedarRequest(facts());
  const empty = PolicyEngine.empty();
  assert.deepEqual(empty.evaluate(req), { outcome: 'deny', code: 'policy.none_loaded', policyIds: [], stepUp: [], redact: [], errors: [], version: 0, hash: '' });
  const emptyDir = PolicyEngine.fromSource(policyDir({}));
  assert.equal(emptyDir.version, 1);
  assert.equal(emptyDir.evaluate(req).code, 'policy.none_loaded');
});

test('a permit allows, naming the determining permits, version and hash', () => {
  const engine = engineWith({ 'p.cedar': PERMIT_AGENTS });
  const e = engine.evaluate(buildCedarRequest(facts()));
  assert.deepEqual(e, { outcome: 'allow', policyIds: ['permit-agents'], stepUp: [], redact: [], errors: [], version: 1, hash: engine.hash });
});

test('no matching permit denies with policy.no_permit', () => {
  const engine = engineWith({ 'p.cedar': PERMIT_AGENTS });
  const e = engine.evaluate(buildCedarRequest(facts({ agent: OUTSIDER })));
  assert.equal(e.outcome, 'deny');
  assert.equal(e.code, 'policy.no_permit');
  assert.deepEqual(e.policyIds, []);
});

test('a matching forbid denies with policy.forbid', () => {
  const engine = engineWith({
    'p.cedar': `${PERMIT_AGENTS}@id("no-etc")\nforbid (principal, action == Action::"write", resource)\nwhen { resource.hasTag("path") && resource.getTag("path") like "/etc/*" };\n`,
  });
  const etc = engine.evaluate(buildCedarRequest(facts({ tool: TOOLS.filesWrite, args: { path: '/etc/hosts' } })));
  assert.deepEqual([etc.outcome, etc.code, etc.policyIds], ['deny', 'policy.forbid', ['no-etc']]);
  const tmp = engine.evaluate(buildCedarRequest(facts({ tool: TOOLS.filesWrite, args: { path: '/tmp/hosts' } })));
  assert.equal(tmp.outcome, 'allow');
});

test('a forbid on an attribute missing from the context denies with policy.evaluation_error, not allow', () => {
  const engine = engineWith({ 'p.cedar': `${PERMIT_AGENTS}@id("call-cap")\nforbid (principal, action, resource) when { context.task.callCount > 10 };\n` });
  const req = buildCedarRequest(facts({ task: { callCount: 50 } }));
  delete (req.context['task'] as Record<string, unknown>)['callCount'];
  const e = engine.evaluate(req);
  assert.equal(e.outcome, 'deny');
  assert.equal(e.code, 'policy.evaluation_error');
  assert.match(e.errors.join('\n'), /`callCount`/);
});

test('a context or entity that breaks the schema denies with policy.evaluation_error', () => {
  const engine = engineWith({ 'p.cedar': PERMIT_AGENTS });
  const base = () => buildCedarRequest(facts());
  const broken: [string, (r: CedarRequest) => void][] = [
    ['an extra context attribute', (r) => void (r.context['extra'] = 'x')],
    ['a mistyped context attribute', (r) => void ((r.context['task'] as Record<string, unknown>)['callCount'] = '3')],
    ['a tool missing an attribute', (r) => void delete r.entities.find((x) => x.uid.type === 'Tool')!.attrs['risk']],
    ['an action outside the schema', (r) => void (r.action = { type: 'Action', id: 'frobnicate' })],
  ];
  for (const [what, breakIt] of broken) {
    const req = base();
    breakIt(req);
    const e = engine.evaluate(req);
    assert.deepEqual([e.outcome, e.code], ['deny', 'policy.evaluation_error'], what);
    assert.ok(e.errors.length > 0, what);
  }
});

test('a policy that errors while evaluating denies with policy.evaluation_error and its id', () => {
  // Cedar skips a policy that errors: here the forbid overflows, and bare Cedar allows.
  const engine = engineWith({
    'p.cedar': `${PERMIT_AGENTS}@id("overflow")\nforbid (principal, action, resource) when { context.task.callCount * 9223372036854775807 > 5 };\n`,
  });
  const req = buildCedarRequest(facts({ task: { callCount: 2 } }));
  const raw = engine.rawAuthorize(req);
  assert.equal(raw.type === 'success' && raw.response.decision, 'allow');
  const e = engine.evaluate(req);
  assert.deepEqual([e.outcome, e.code, e.policyIds], ['deny', 'policy.evaluation_error', ['overflow']]);
  assert.match(e.errors[0] ?? '', /^policy `overflow`: integer overflow/);
  assert.doesNotMatch(e.errors[0] ?? '', /9223372036854775807/, 'request values are redacted');
});

test('an exception inside evaluation denies with policy.evaluation_error instead of throwing', () => {
  const engine = engineWith({ 'p.cedar': PERMIT_AGENTS });
  const req = buildCedarRequest(facts());
  req.context['environment'] = 10n as unknown as string; // cannot be serialised for cedar-wasm
  assert.deepEqual([engine.evaluate(req).outcome, engine.evaluate(req).code], ['deny', 'policy.evaluation_error']);
  const nothing = engine.evaluate(null as unknown as CedarRequest);
  assert.deepEqual([nothing.outcome, nothing.code], ['deny', 'policy.evaluation_error']);
});

const STEP_UP_PAY = `@id("pay-approval")\n@step_up("human")\nforbid (principal, action == Action::"payment", resource);\n`;

test('step_up when every determining forbid is a step-up and a permit would allow', () => {
  const engine = engineWith({ 'p.cedar': PERMIT_AGENTS, 's.cedar': STEP_UP_PAY });
  const e = engine.evaluate(buildCedarRequest(facts({ tool: TOOLS.paymentsCreate, args: { amount: 5 } })));
  assert.deepEqual(e, {
    outcome: 'step_up',
    code: 'policy.step_up',
    policyIds: ['pay-approval'],
    stepUp: ['human'],
    redact: [],
    approval: { approvers: [], uses: null, windowSeconds: null, separationOfDuties: null },
    errors: [],
    version: 1,
    hash: engine.hash,
  });
});

test('approval terms come from the step-up policies: the strictest wins', () => {
  const strict = `@id("pay-finance")\n@step_up("human")\n@approvers("group:finance, principal")\n@approval_uses("3")\n@approval_window("300")\n@separation_of_duties("true")\nforbid (principal, action == Action::"payment", resource);\n`;
  const stricter = `@id("pay-once")\n@step_up("human")\n@approval_uses("1")\nforbid (principal, action == Action::"payment", resource);\n`;
  const engine = engineWith({ 'p.cedar': PERMIT_AGENTS, 's.cedar': strict, 't.cedar': stricter });
  const e = engine.evaluate(buildCedarRequest(facts({ tool: TOOLS.paymentsCreate, args: { amount: 5 } })));
  assert.deepEqual(e.approval, { approvers: ['group:finance', 'principal'], uses: 1, windowSeconds: 300, separationOfDuties: true });
});

test('step_up is only offered when a permit exists: otherwise policy.no_permit', () => {
  const engine = engineWith({ 'p.cedar': PERMIT_AGENTS, 's.cedar': STEP_UP_PAY });
  const e = engine.evaluate(buildCedarRequest(facts({ tool: TOOLS.paymentsCreate, agent: OUTSIDER })));
  assert.deepEqual([e.outcome, e.code, e.stepUp], ['deny', 'policy.no_permit', []]);
});

test('a plain forbid beats a step-up forbid', () => {
  const engine = engineWith({
    'p.cedar': PERMIT_AGENTS,
    's.cedar': STEP_UP_PAY,
    'f.cedar': `@id("no-big-payments")\nforbid (principal, action == Action::"payment", resource) when { resource.hasTag("amount") && resource.getTag("amount") == "1000000" };\n`,
  });
  const e = engine.evaluate(buildCedarRequest(facts({ tool: TOOLS.paymentsCreate, args: { amount: 1000000 } })));
  assert.deepEqual([e.outcome, e.code, e.policyIds, e.stepUp], ['deny', 'policy.forbid', ['no-big-payments'], []]);
});

test('several step-up forbids report every approval they name', () => {
  const engine = engineWith({
    'p.cedar': PERMIT_AGENTS,
    's.cedar': `${STEP_UP_PAY}@id("finance")\n@step_up("finance")\nforbid (principal, action in Action::"call_tool", resource) when { resource.risk == "high" };\n`,
  });
  const e = engine.evaluate(buildCedarRequest(facts({ tool: TOOLS.paymentsCreate })));
  assert.equal(e.outcome, 'step_up');
  assert.deepEqual([...e.policyIds].sort(), ['finance', 'pay-approval']);
  assert.deepEqual([...e.stepUp].sort(), ['finance', 'human']);
});

test('fromSource throws ConfigError on invalid policies at start-up', () => {
  const dir = policyDir({ 'bad.cedar': 'permit (principal, action, resource) when { resource.owner == "x" };' });
  assert.throws(() => PolicyEngine.fromSource(dir), (err: unknown) => err instanceof ConfigError && /bad\.cedar:1:/.test(err.message));
});

test('reload bumps the version; an invalid reload keeps the last good set serving', () => {
  const dir = policyDir({ 'p.cedar': PERMIT_AGENTS });
  const engine = PolicyEngine.fromSource(dir);
  const write = buildCedarRequest(facts({ tool: TOOLS.filesWrite }));
  const firstHash = engine.hash;
  assert.equal(engine.evaluate(write).outcome, 'allow');

  dir.write('f.cedar', '@id("no-writes") forbid (principal, action == Action::"write", resource);');
  assert.deepEqual(engine.reload(), { ok: true, version: 2 });
  assert.notEqual(engine.hash, firstHash);
  assert.deepEqual([engine.evaluate(write).code, engine.evaluate(write).version], ['policy.forbid', 2]);

  dir.write('g.cedar', 'forbid (principal, action, resource) when { nonsense };');
  const bad = engine.reload();
  assert.equal(bad.ok, false);
  assert.match(bad.ok ? '' : bad.errors, /g\.cedar:1:/);
  assert.equal(engine.version, 2);
  const still = engine.evaluate(write);
  assert.deepEqual([still.code, still.policyIds, still.version], ['policy.forbid', ['no-writes'], 2]);
});

test('watch reloads after a policy file changes', async () => {
  const dir = policyDir({ 'p.cedar': PERMIT_AGENTS });
  const engine = PolicyEngine.fromSource(dir);
  const results: unknown[] = [];
  const stop = engine.watch((r) => results.push(r), 20);
  try {
    dir.write('f.cedar', '@id("no-reads") forbid (principal, action == Action::"read", resource);');
    const deadline = Date.now() + 5000;
    while (engine.version < 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    assert.ok(engine.version >= 2, 'the watcher reloaded within 5 s');
    assert.deepEqual(results[0], { ok: true, version: 2 });
    assert.equal(engine.evaluate(buildCedarRequest(facts())).code, 'policy.forbid');
  } finally {
    stop();
  }
});

test('engines do not share pre-parsed sets', () => {
  const permissive = engineWith({ 'p.cedar': PERMIT_AGENTS });
  const strict = engineWith({ 'p.cedar': PERMIT_AGENTS, 'f.cedar': '@id("all") forbid (principal, action, resource);' });
  const req = buildCedarRequest(facts());
  assert.equal(permissive.evaluate(req).outcome, 'allow');
  assert.equal(strict.evaluate(req).code, 'policy.forbid');
});

test('fromFiles evaluates in-memory policies and has nothing to reload', () => {
  const engine = PolicyEngine.fromFiles([{ name: 'p.cedar', text: PERMIT_AGENTS }]);
  assert.equal(engine.evaluate(buildCedarRequest(facts())).outcome, 'allow');
  assert.equal(engine.reload().ok, false);
  assert.equal(engine.version, 1);
});

test('@redact on the determining permits becomes the redact obligation; it is refused on a forbid', () => {
  const engine = PolicyEngine.fromFiles([
    { name: 'a.cedar', text: '@id("base") permit (principal, action in Action::"call_tool", resource);\n@id("pii") @redact("email, phone") permit (principal, action == Action::"read", resource);\n' },
  ]);
  assert.deepEqual(engine.evaluate(buildCedarRequest(facts())).redact.sort(), ['email', 'phone']);
  assert.throws(() => PolicyEngine.fromFiles([{ name: 'b.cedar', text: '@redact("email") forbid (principal, action, resource);\n' }]), /`@redact` applies to permit policies only/);
  assert.throws(() => PolicyEngine.fromFiles([{ name: 'c.cedar', text: '@redact(" , ") permit (principal, action in Action::"call_tool", resource);\n' }]), /`@redact` needs field names/);
});
