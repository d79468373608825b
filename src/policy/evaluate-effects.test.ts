import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ToolSpecSchema, type ToolSpec } from '../core/index.js';
import { policyDirectory } from '../server/adapters/index.js';
import { buildCedarRequest } from './build-request.js';
import { PolicyEngine } from './engine.js';
import { combineEvaluations, evaluateEffects, mergeApprovalTerms } from './evaluate-effects.js';
import { EXAMPLE_POLICY_DIR, facts, PERMIT_AGENTS, policyDir, TOOLS } from './fixtures.js';
import type { CedarRequest, PolicyEvaluation } from './model.js';

const AGENT = { name: 'researcher', spiffeId: 'spiffe://acme.test/agent/researcher', groups: ['agents'] };

const calendar = (effects: string[] | undefined, tags?: string[]): ToolSpec =>
  ToolSpecSchema.parse({ name: 'calendar.create_event', kind: 'write', risk: 'medium', ...(effects ? { effects } : {}), ...(tags ? { tags } : {}) });

const ev = (outcome: PolicyEvaluation['outcome'], over: Partial<PolicyEvaluation> = {}): PolicyEvaluation => ({
  outcome,
  ...(outcome === 'deny' ? { code: 'policy.forbid' as const } : outcome === 'step_up' ? { code: 'policy.step_up' as const } : {}),
  policyIds: [],
  stepUp: [],
  redact: [],
  errors: [],
  version: 3,
  hash: 'h',
  ...over,
});

/** A ceiling answering by action id, recording what it was asked. */
function scripted(answers: Record<string, PolicyEvaluation>): { evaluate(req: CedarRequest): PolicyEvaluation; asked: CedarRequest[] } {
  const asked: CedarRequest[] = [];
  return {
    asked,
    evaluate(req) {
      asked.push(req);
      const a = answers[req.action.id];
      if (!a) throw new Error(`unexpected action ${req.action.id}`);
      return a;
    },
  };
}

test('a tool without effects costs exactly one evaluation, returned as it is', () => {
  const answer = ev('allow', { policyIds: ['p'] });
  const ceiling = scripted({ write: answer });
  const req = buildCedarRequest(facts({ tool: calendar(undefined) }));
  assert.equal(evaluateEffects(ceiling, req, calendar(undefined)), answer);
  assert.equal(evaluateEffects(ceiling, req, calendar([])), answer);
  assert.equal(ceiling.asked.length, 2);
  assert.equal(ceiling.asked[0], req, 'the request as built, not a copy');
});

test('each effect is evaluated once, after the kind, with only the action changed', () => {
  const ceiling = scripted({ write: ev('allow'), send: ev('allow'), export: ev('allow') });
  const tool = calendar(['send', 'write', 'send', 'export']);
  const req = buildCedarRequest(facts({ tool }));
  evaluateEffects(ceiling, req, tool);
  assert.deepEqual(ceiling.asked.map((r) => r.action.id), ['write', 'send', 'export']);
  for (const r of ceiling.asked) {
    assert.equal(r.entities, req.entities);
    assert.equal(r.context, req.context);
    assert.equal(r.resource, req.resource);
  }
});

test('deny beats step-up beats allow, whichever action answers it', () => {
  const deny = ev('deny', { policyIds: ['no-send'], errors: [] });
  const step = ev('step_up', { policyIds: ['ask'], stepUp: ['human'] });
  const allow = ev('allow', { policyIds: ['ok'], redact: ['ssn'] });
  for (const order of [[allow, step, deny], [deny, allow, step], [step, deny, allow]]) {
    const r = combineEvaluations(order);
    assert.equal(r.outcome, 'deny');
    assert.equal(r.code, 'policy.forbid');
    assert.deepEqual(r.policyIds, ['no-send'], 'only the denying actions determine');
    assert.deepEqual(r.redact, []);
  }
  const stepped = combineEvaluations([allow, step]);
  assert.equal(stepped.outcome, 'step_up');
  assert.equal(stepped.code, 'policy.step_up');
  assert.deepEqual(stepped.policyIds, ['ask']);
  assert.deepEqual(stepped.stepUp, ['human']);
  assert.equal(combineEvaluations([allow, ev('allow')]).outcome, 'allow');
  assert.equal(combineEvaluations([allow, ev('allow')]).code, undefined);
});

test('several denials: the first denying action gives the code, every denying action its policies', () => {
  const r = combineEvaluations([ev('allow', { policyIds: ['ok'] }), ev('deny', { code: 'policy.no_permit' }), ev('deny', { policyIds: ['b', 'a'], errors: ['x'] })]);
  assert.deepEqual({ code: r.code, policyIds: r.policyIds, errors: r.errors }, { code: 'policy.no_permit', policyIds: ['a', 'b'], errors: ['x'] });
});

test('allow carries every permit and the union of redactions', () => {
  const r = combineEvaluations([ev('allow', { policyIds: ['w'], redact: ['ssn', 'email'] }), ev('allow', { policyIds: ['s', 'w'], redact: ['email', 'phone'] })]);
  assert.deepEqual(r, { outcome: 'allow', policyIds: ['s', 'w'], stepUp: [], redact: ['ssn', 'email', 'phone'], errors: [], version: 3, hash: 'h' });
});

test('step-ups of several actions merge their values and take the strictest terms', () => {
  const r = combineEvaluations([
    ev('step_up', { policyIds: ['a'], stepUp: ['manager'], approval: { approvers: ['group:finance'], uses: 3, windowSeconds: null, separationOfDuties: false } }),
    ev('allow', { policyIds: ['ok'], redact: ['iban'] }),
    ev('step_up', { policyIds: ['b'], stepUp: ['manager', 'security'], approval: { approvers: ['group:security'], uses: 1, windowSeconds: 300, separationOfDuties: true } }),
  ]);
  assert.equal(r.outcome, 'step_up');
  assert.deepEqual(r.policyIds, ['a', 'b']);
  assert.deepEqual(r.stepUp, ['manager', 'security']);
  assert.deepEqual(r.approval, { approvers: ['group:finance', 'group:security'], uses: 1, windowSeconds: 300, separationOfDuties: true });
  assert.deepEqual(r.redact, ['iban'], 'once approved, the allowing actions still redact');
  assert.deepEqual(mergeApprovalTerms([{ approvers: [], uses: null, windowSeconds: null, separationOfDuties: null }]), { approvers: [], uses: null, windowSeconds: null, separationOfDuties: null });
});

test('merged terms equal the engine merging the same step-up forbids on one action', () => {
  const a = '@id("a") @step_up("human") @approvers("group:finance") @approval_uses("3") forbid (principal, action == Action::"write", resource);';
  const b = '@id("b") @step_up("human") @approvers("group:security") @approval_window("60") @separation_of_duties("true") forbid (principal, action == Action::"send", resource);';
  const together = PolicyEngine.fromSource(policyDir({ 'p.cedar': PERMIT_AGENTS, 'f.cedar': `${a}\n${b.replace('Action::"send"', 'Action::"write"')}` }));
  const split = PolicyEngine.fromSource(policyDir({ 'p.cedar': PERMIT_AGENTS, 'f.cedar': `${a}\n${b}` }));
  const tool = calendar(['send']);
  const one = together.evaluate(buildCedarRequest(facts({ tool: calendar(undefined) })));
  const two = evaluateEffects(split, buildCedarRequest(facts({ tool })), tool);
  assert.equal(two.outcome, 'step_up');
  assert.deepEqual({ ...two, hash: '' }, { ...one, hash: '' });
});

test('with the example ceiling, a write that sends is held to the send rules', () => {
  const engine = PolicyEngine.fromSource(policyDirectory(EXAMPLE_POLICY_DIR));
  const tool = calendar(['send']);
  const task = { labels: ['confidential'] };
  const asWrite = engine.evaluate(buildCedarRequest(facts({ tool, task })));
  assert.equal(asWrite.outcome, 'allow', 'as a plain write, confidential data leaves unchecked');
  const decided = evaluateEffects(engine, buildCedarRequest(facts({ tool, task })), tool);
  assert.equal(decided.outcome, 'deny');
  assert.deepEqual(decided.policyIds, ['forbid-undeclared-egress-of-confidential']);
  const declared = evaluateEffects(engine, buildCedarRequest(facts({ tool, task: { ...task, egress: ['confidential'] } })), tool);
  assert.equal(declared.outcome, 'allow');
});

test('a tool is refused at grant time when one of its effects is refused outright', () => {
  const engine = PolicyEngine.fromSource(
    policyDir({ 'p.cedar': PERMIT_AGENTS, 'f.cedar': '@id("no-send") forbid (principal in AgentGroup::"agents", action == Action::"send", resource);' }),
  );
  assert.deepEqual(engine.checkGrant(AGENT, calendar(undefined)), { refused: false });
  assert.deepEqual(engine.checkGrant(AGENT, calendar(['send'])), { refused: true, code: 'policy.forbid', policyIds: ['no-send'] });
  const sendsOnly = PolicyEngine.fromSource(policyDir({ 'p.cedar': '@id("writes") permit (principal, action == Action::"write", resource);' }));
  assert.deepEqual(sendsOnly.checkGrant(AGENT, calendar(undefined)), { refused: false });
  assert.deepEqual(sendsOnly.checkGrant(AGENT, calendar(['send'])), { refused: true, code: 'policy.no_permit', policyIds: [] });
  // A step-up on the effect is decided at call time.
  const stepUp = PolicyEngine.fromSource(policyDir({ 'p.cedar': PERMIT_AGENTS, 'f.cedar': '@id("ask") @step_up("human") forbid (principal, action == Action::"send", resource);' }));
  assert.deepEqual(stepUp.checkGrant(AGENT, calendar(['send'])), { refused: false });
});

test('tags reach Cedar as resource.tags, empty when a tool has none', () => {
  const engine = PolicyEngine.fromSource(
    policyDir({ 'p.cedar': PERMIT_AGENTS, 'f.cedar': '@id("no-egress-tools") forbid (principal, action, resource is Tool) when { resource.tags.contains("network-egress") };' }),
  );
  assert.equal(engine.evaluate(buildCedarRequest(facts({ tool: calendar(undefined, ['network-egress']) }))).code, 'policy.forbid');
  assert.equal(engine.evaluate(buildCedarRequest(facts({ tool: calendar(undefined, ['calendar']) }))).outcome, 'allow');
  assert.equal(engine.evaluate(buildCedarRequest(facts({ tool: TOOLS.filesRead }))).outcome, 'allow');
  const entity = buildCedarRequest(facts({ tool: TOOLS.filesRead })).entities.find((e) => e.uid.type === 'Tool');
  assert.deepEqual(entity?.attrs['tags'], []);
  // Policy-only: a tag is not a label.
  assert.deepEqual(buildCedarRequest(facts({ tool: calendar(undefined, ['network-egress']) })).entities.find((e) => e.uid.type === 'Tool')?.attrs['labels'], []);
});

test('an effect that is not a kind is refused by the catalog schema', () => {
  assert.equal(ToolSpecSchema.safeParse({ name: 'web.fetch', kind: 'read', effects: ['egress'] }).success, false);
  assert.equal(ToolSpecSchema.safeParse({ name: 'web.fetch', kind: 'read', effects: ['send'], tags: ['network'] }).success, true);
  assert.equal(ToolSpecSchema.safeParse({ name: 'web.fetch', kind: 'read', tags: [''] }).success, false);
});
