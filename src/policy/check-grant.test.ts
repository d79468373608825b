import assert from 'node:assert/strict';
import { test } from 'node:test';
import { policyDirectory } from '../server/adapters/index.js';
import { PolicyEngine } from './engine.js';
import { EXAMPLE_POLICY_DIR, PERMIT_AGENTS, policyDir, tool, TOOLS } from './fixtures.js';

const AGENT = { name: 'researcher', spiffeId: 'spiffe://acme.test/agent/researcher', groups: ['agents'] };
const OUTSIDER = { name: 'intern', spiffeId: 'spiffe://acme.test/agent/intern', groups: [] };

test('the example ceiling refuses shell.exec outright but not files.write', () => {
  const engine = PolicyEngine.fromSource(policyDirectory(EXAMPLE_POLICY_DIR));
  assert.deepEqual(engine.checkGrant(AGENT, TOOLS.shellExec), { refused: true, code: 'policy.forbid', policyIds: ['forbid-shell-execute'] });
  // files.write is forbidden for some paths only: never refused for what an argument might be.
  assert.deepEqual(engine.checkGrant(AGENT, TOOLS.filesWrite), { refused: false });
  // Step-up and context-dependent forbids are decided at call time.
  assert.deepEqual(engine.checkGrant(AGENT, TOOLS.paymentsCreate), { refused: false });
  assert.deepEqual(engine.checkGrant(AGENT, TOOLS.vaultGetSecret), { refused: false });
  assert.deepEqual(engine.checkGrant(AGENT, TOOLS.emailSend), { refused: false });
});

test('a tool no permit could ever allow for this agent is refused with policy.no_permit', () => {
  const engine = PolicyEngine.fromSource(policyDirectory(EXAMPLE_POLICY_DIR));
  assert.deepEqual(engine.checkGrant(OUTSIDER, TOOLS.filesRead), { refused: true, code: 'policy.no_permit', policyIds: [] });
  assert.deepEqual(engine.checkGrant(AGENT, tool('ops.reboot', 'execute', 'critical')), { refused: true, code: 'policy.no_permit', policyIds: [] });
});

test('an argument-dependent forbid never refuses, even written as `unless hasTag`', () => {
  // With no arguments at all this forbid is true; at call time a /tmp path passes it.
  const engine = PolicyEngine.fromSource(
    policyDir({
      'p.cedar': PERMIT_AGENTS,
      'f.cedar': '@id("tmp-only") forbid (principal, action == Action::"write", resource)\nunless { resource.hasTag("path") && resource.getTag("path") like "/tmp/*" };',
    }),
  );
  assert.deepEqual(engine.checkGrant(AGENT, TOOLS.filesWrite), { refused: false });
});

test('an argument-dependent permit still counts as a possible permit', () => {
  const engine = PolicyEngine.fromSource(
    policyDir({ 'p.cedar': '@id("tmp-writes") permit (principal, action == Action::"write", resource)\nwhen { resource.hasTag("path") && resource.getTag("path") like "/tmp/*" };' }),
  );
  assert.deepEqual(engine.checkGrant(AGENT, TOOLS.filesWrite), { refused: false });
  assert.deepEqual(engine.checkGrant(AGENT, TOOLS.filesRead), { refused: true, code: 'policy.no_permit', policyIds: [] });
});

test('a context-dependent forbid never refuses; one on the tool itself does', () => {
  const engine = PolicyEngine.fromSource(
    policyDir({
      'p.cedar': PERMIT_AGENTS,
      'f.cedar':
        '@id("prod") forbid (principal, action, resource) when { context.environment == "production" };\n' +
        '@id("no-high") forbid (principal in AgentGroup::"agents", action in Action::"call_tool", resource) when { resource.risk == "high" };',
    }),
  );
  assert.deepEqual(engine.checkGrant(AGENT, TOOLS.filesRead), { refused: false });
  assert.deepEqual(engine.checkGrant(AGENT, TOOLS.paymentsCreate), { refused: true, code: 'policy.forbid', policyIds: ['no-high'] });
});

test('an engine with no policy refuses every grant', () => {
  assert.deepEqual(PolicyEngine.empty().checkGrant(AGENT, TOOLS.filesRead), { refused: true, code: 'policy.no_permit', policyIds: [] });
});

test('a grant-time check is kept per agent and tool: asked again, the same answer, never a shared list', () => {
  const engine = PolicyEngine.fromSource(policyDirectory(EXAMPLE_POLICY_DIR));
  const first = engine.checkGrant(AGENT, TOOLS.shellExec);
  assert.ok(first.refused);
  first.policyIds.push('changed by a caller');
  assert.deepEqual(engine.checkGrant(AGENT, TOOLS.shellExec), { refused: true, code: 'policy.forbid', policyIds: ['forbid-shell-execute'] });
  // Another agent's groups are another question.
  assert.deepEqual(engine.checkGrant(OUTSIDER, TOOLS.filesRead), { refused: true, code: 'policy.no_permit', policyIds: [] });
  assert.deepEqual(engine.checkGrant(AGENT, TOOLS.filesRead), { refused: false });
});
