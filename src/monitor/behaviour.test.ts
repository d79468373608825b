import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_RESPONSES, driftScore, freshBehaviour, observeDecision, observeResult } from './behaviour.js';

const settings = { denialsPerMinute: 3, responses: DEFAULT_RESPONSES };
const deny = (code: string, toolKind = 'read') => ({ outcome: 'deny' as const, code, tool: 'x.y', toolKind });

describe('monitor: behaviour against the mandate', () => {
  it('an undeclared tool and a broken constraint fire their signals once', () => {
    const b = freshBehaviour();
    assert.deepEqual(observeDecision(b, deny('mandate.tool_not_declared'), 0, settings), ['undeclared_tools']);
    assert.deepEqual(observeDecision(b, deny('mandate.arg_constraint'), 100_000, settings), ['arg_violations']);
    assert.deepEqual(observeDecision(b, deny('mandate.tool_not_declared'), 200_000, settings), [], 'a signal fires once per task');
    assert.equal(b.undeclared, 2);
  });

  it('three denials within a minute make repeated_denials; spread over minutes they do not', () => {
    const spread = freshBehaviour();
    for (const t of [0, 61_000, 122_000]) observeDecision(spread, deny('policy.forbid'), t, settings);
    assert.equal(spread.signals.includes('repeated_denials'), false);
    const burst = freshBehaviour();
    observeDecision(burst, deny('policy.forbid'), 0, settings);
    observeDecision(burst, deny('policy.forbid'), 1000, settings);
    assert.deepEqual(observeDecision(burst, deny('policy.forbid'), 2000, settings), ['repeated_denials']);
  });

  it('a refused secret retrieval is forbidden_secret; an allowed one is not', () => {
    const b = freshBehaviour();
    observeDecision(b, { outcome: 'allow', code: 'policy.permit', tool: 'vault.get', toolKind: 'retrieve_secret' }, 0, settings);
    assert.deepEqual(b.signals, []);
    assert.deepEqual(observeDecision(b, deny('policy.forbid', 'retrieve_secret'), 1, settings), ['forbidden_secret']);
  });

  it('a declared plan: steps may repeat or skip forward; going back or leaving the plan is plan_deviation', () => {
    const plan = ['crm.read', 'files.write', 'email.send'];
    const allow = (tool: string) => ({ outcome: 'allow' as const, code: 'policy.permit', tool, toolKind: 'read', plan });
    const b = freshBehaviour();
    for (const tool of ['crm.read', 'crm.read', 'email.send']) assert.deepEqual(observeDecision(b, allow(tool), 0, settings), []);
    assert.deepEqual(observeDecision(b, allow('files.write'), 0, settings), ['plan_deviation'], 'going back in the plan');
    const outside = freshBehaviour();
    assert.deepEqual(observeDecision(outside, allow('shell.exec'), 0, settings), ['plan_deviation']);
    const none = freshBehaviour();
    assert.deepEqual(observeDecision(none, { ...allow('files.write'), plan: undefined }, 0, settings), [], 'no plan, no signal');
  });

  it('labels accumulate from results; tools called are remembered; the score grows with drift', () => {
    const b = freshBehaviour();
    observeDecision(b, { outcome: 'allow', code: 'policy.permit', tool: 'crm.read', toolKind: 'read' }, 0, settings);
    assert.equal(observeResult(b, ['confidential', 'pii'], 100), true);
    assert.equal(observeResult(b, ['pii'], 50), false);
    assert.deepEqual([b.labels, b.toolsCalled, b.resultBytes], [['confidential', 'pii'], ['crm.read'], 150]);
    assert.equal(driftScore(b), 0);
    observeDecision(b, deny('mandate.tool_not_declared'), 1, settings);
    assert.equal(driftScore(b), 30, '20 for the signal, 10 for one denial in two calls');
  });
});
