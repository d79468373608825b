import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ConfigError, ToolSpecSchema } from '../../core/index.js';
import { PolicyEngine, buildCedarRequest } from '../../policy/index.js';
import { policyDirectory } from './index.js';

const PERMIT_AGENTS = `@id("permit-agents")
permit (principal in AgentGroup::"agents", action in Action::"call_tool", resource);
`;

function tempDir(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'mandate-policy-'));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

test('reads *.cedar files directly in the directory, sorted, and tests/*.json named tests/<file>', () => {
  const dir = tempDir({
    'b.cedar': 'permit (principal, action == Action::"read", resource);\n',
    'a.cedar': PERMIT_AGENTS,
    'notes.txt': 'forbid (principal, action, resource);',
    'nested/c.cedar': 'forbid (principal, action, resource);',
    'tests/t.json': '{}',
    'tests/readme.md': '',
  });
  mkdirSync(join(dir, 'folder.cedar'));
  const source = policyDirectory(dir);
  assert.equal(source.name, dir);
  assert.deepEqual(source.readPolicies().map((f) => f.name), ['a.cedar', 'b.cedar']);
  assert.deepEqual(source.readTests(), [{ name: 'tests/t.json', text: '{}' }]);
  assert.deepEqual(policyDirectory(tempDir({ 'p.cedar': PERMIT_AGENTS })).readTests(), []);
});

test('a missing directory is a ConfigError', () => {
  assert.throws(
    () => policyDirectory(join(tempDir({}), 'absent')).readPolicies(),
    (err: unknown) => err instanceof ConfigError && /cannot be read: ENOENT/.test(err.message),
  );
});

test('watch reloads the engine after a policy file changes on disk', async () => {
  const dir = tempDir({ 'p.cedar': PERMIT_AGENTS });
  const engine = PolicyEngine.fromSource(policyDirectory(dir));
  const read = buildCedarRequest({
    agent: { name: 'researcher', spiffeId: 'spiffe://acme.test/agent/researcher', groups: ['agents'] },
    tool: ToolSpecSchema.parse({ name: 'files.read', kind: 'read', risk: 'low' }),
    args: {},
    task: { id: 'tsk_test0001', purpose: 'testing', dataClasses: [], callCount: 0, labels: [], toolsCalled: [], delegationDepth: 0 },
    environment: 'development',
  });
  assert.equal(engine.evaluate(read).outcome, 'allow');
  const stop = engine.watch(() => undefined, 20);
  try {
    writeFileSync(join(dir, 'f.cedar'), '@id("no-reads") forbid (principal, action == Action::"read", resource);');
    const deadline = Date.now() + 5000;
    while (engine.version < 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    assert.ok(engine.version >= 2, 'the watcher reloaded within 5 s');
    assert.equal(engine.evaluate(read).code, 'policy.forbid');
  } finally {
    stop();
  }
});
