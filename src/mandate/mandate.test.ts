import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AuditEntry } from '../audit/model.js';
import { CodedError, manualClock, sequenceRandom, toolCatalog, type AgentId, type ToolSpec } from '../core/index.js';
import { openSqliteStore } from '../store/index.js';
import { checkArg, checkCallAgainstMandate, grantMandate, MandateRefused, MandateSchema } from './index.js';

const tools: ToolSpec[] = [
  { name: 'files.read', kind: 'read', risk: 'low', labels: [], description: '' },
  { name: 'shell.exec', kind: 'execute', risk: 'critical', labels: [], description: '' },
];

describe('mandate schema', () => {
  it('accepts a full mandate and fills defaults', () => {
    const m = MandateSchema.parse({ purpose: ' summarise tickets ', tools: ['files.read', { name: 'files.write', args: { path: { prefix: '/tmp/' } } }] });
    assert.equal(m.purpose, 'summarise tickets');
    assert.equal(m.ttlSeconds, 900);
    assert.deepEqual(m.tools[0], { name: 'files.read', args: {} });
    assert.equal((m.tools[1]?.args as Record<string, { optional: boolean }>).path?.optional, false);
  });

  for (const [title, input, needle] of [
    ['unknown field', { purpose: 'p', tools: ['a.b'], colour: 1 }, '`colour`'],
    ['no tools', { purpose: 'p', tools: [] }, 'tools'],
    ['empty purpose', { purpose: '  ', tools: ['a.b'] }, 'purpose'],
    ['tool name without server', { purpose: 'p', tools: ['read'] }, 'tools.0'],
    ['duplicate tool', { purpose: 'p', tools: ['a.b', 'a.b'] }, 'declared twice'],
    ['empty constraint', { purpose: 'p', tools: [{ name: 'a.b', args: { x: {} } }] }, 'at least one'],
    ['invalid regex', { purpose: 'p', tools: [{ name: 'a.b', args: { x: { pattern: '(' } } }] }, 'regular expression'],
    ['ttl too long', { purpose: 'p', tools: ['a.b'], ttlSeconds: 10 ** 7 }, 'ttlSeconds'],
    ['string where a number belongs', { purpose: 'p', tools: ['a.b'], limits: { maxCalls: '5' } }, 'limits.maxCalls'],
    ['a plan step that is not declared', { purpose: 'p', tools: ['a.b'], plan: ['a.b', 'c.d'] }, 'plan step'],
  ] as const) {
    it(`refuses: ${title}`, () => {
      const r = MandateSchema.safeParse(input);
      assert.equal(r.success, false);
      assert.ok(JSON.stringify(r.error?.issues).includes(needle.replace(/`/g, '')) || r.error?.issues.some((i) => i.path.join('.').includes(needle)), `${needle} in ${JSON.stringify(r.error?.issues)}`);
    });
  }
});

describe('argument constraints', () => {
  const cases: [string, Record<string, unknown>, unknown, string | null][] = [
    ['equals ok', { equals: 'a' }, 'a', null],
    ['equals breaks', { equals: 'a' }, 'b', 'must equal `a`'],
    ['equals is type-strict', { equals: 5 }, '5', 'must equal `5`'],
    ['oneOf ok', { oneOf: ['a', 'b'] }, 'b', null],
    ['oneOf breaks', { oneOf: ['a', 'b'] }, 'c', 'must be one of `a`, `b`'],
    ['prefix ok', { prefix: '/tmp/' }, '/tmp/x', null],
    ['prefix breaks', { prefix: '/tmp/' }, '/etc/x', 'must start with `/tmp/`'],
    ['prefix escaped by ..', { prefix: '/tmp/' }, '/tmp/../etc/passwd', 'must not contain `..` segments'],
    ['prefix on a number', { prefix: '/tmp/' }, 5, 'must be a string'],
    ['pattern is anchored', { pattern: '[a-z]+@acme\\.com' }, 'eve@acme.com.evil.io', 'must match `[a-z]+@acme\\.com`'],
    ['pattern ok', { pattern: '[a-z]+@acme\\.com' }, 'bob@acme.com', null],
    ['max ok', { max: 100 }, 100, null],
    ['max breaks', { max: 100 }, 100.5, 'must be at most 100'],
    ['max on a numeric string', { max: 100 }, '50', 'must be a number'],
    ['min breaks', { min: 1 }, 0, 'must be at least 1'],
    ['maxLength breaks', { maxLength: 3 }, 'abcd', 'must be at most 3 long'],
    ['maxLength on arrays', { maxLength: 2 }, [1, 2, 3], 'must be at most 2 long'],
    ['required when absent', { equals: 'a' }, undefined, 'is required by the mandate'],
    ['optional when absent', { equals: 'a', optional: true }, undefined, null],
  ];
  for (const [title, c, value, expected] of cases) {
    it(title, () => assert.equal(checkArg({ optional: false, ...c } as never, value), expected));
  }

  it('a call names the first broken argument and the undeclared tool', () => {
    const m = MandateSchema.parse({ purpose: 'p', tools: [{ name: 'files.read', args: { path: { prefix: '/srv/' } } }] });
    assert.throws(() => checkCallAgainstMandate(m, 'files.write', {}), (e: unknown) => e instanceof CodedError && e.code === 'mandate.tool_not_declared');
    assert.throws(() => checkCallAgainstMandate(m, 'files.read', { path: '/etc/x' }), (e: unknown) => e instanceof CodedError && e.code === 'mandate.arg_constraint' && e.publicMessage.includes('`path`'));
    assert.equal(checkCallAgainstMandate(m, 'files.read', { path: '/srv/x', other: 1 }).name, 'files.read');
  });
});

describe('grant', () => {
  const agent = { id: 'agt_aaaaaaaaaaaa' as AgentId, name: 'bot', spiffeId: 'spiffe://t/agent/bot', groups: ['agents'] };
  const ceiling = {
    checkGrant: (_a: unknown, tool: ToolSpec) => (tool.kind === 'execute' ? { refused: true as const, code: 'policy.forbid', policyIds: ['no-shell'] } : { refused: false as const }),
  };

  async function deps() {
    const store = await openSqliteStore(':memory:');
    const events: AuditEntry[] = [];
    return { store, events, d: { tasks: store.tasks, tools: toolCatalog(tools), ceiling, audit: { record: async (e: AuditEntry) => void events.push(e) }, clock: manualClock(1_000_000), random: sequenceRandom() } };
  }

  it('grants a mandate within the catalog and the ceiling', async () => {
    const { store, d, events } = await deps();
    const task = await grantMandate(agent, { purpose: 'p', tools: ['files.read'], ttlSeconds: 60, onBehalfOf: 'alice' }, d);
    assert.equal(task.expiresAtMs, 1_060_000);
    assert.equal(task.principal, 'alice');
    assert.deepEqual(await store.tasks.get(task.id), task);
    assert.equal(events.at(-1)?.type, 'task.granted');
    await store.close();
  });

  it('refuses the whole mandate with a reason per refused item', async () => {
    const { store, d, events } = await deps();
    await assert.rejects(grantMandate(agent, { purpose: 'p', tools: ['files.read', 'shell.exec', 'nope.tool'] }, d), (e: unknown) => {
      assert.ok(e instanceof MandateRefused);
      assert.equal(e.code, 'mandate.refused');
      assert.deepEqual(
        e.refused.map((r) => [r.item, r.code, r.policyIds]),
        [
          ['tools.shell.exec', 'policy.forbid', ['no-shell']],
          ['tools.nope.tool', 'mandate.tool_unknown', []],
        ],
      );
      return true;
    });
    assert.equal(events.at(-1)?.type, 'task.refused');
    assert.equal((await store.tasks.list({})).length, 0, 'nothing granted');
    await store.close();
  });

  it('a child task only narrows its parent: tools, data classes and expiry', async () => {
    const { store, d } = await deps();
    const parent = await grantMandate(agent, { purpose: 'p', tools: ['files.read'], dataClasses: ['internal'], ttlSeconds: 60 }, d);
    const child = await grantMandate(agent, { purpose: 'c', tools: ['files.read'], ttlSeconds: 3600, parentTask: parent.id }, d);
    assert.equal(child.expiresAtMs, parent.expiresAtMs, 'a child never outlives its parent');
    assert.equal(child.delegationDepth, 1);
    await assert.rejects(grantMandate(agent, { purpose: 'c', tools: ['files.read'], dataClasses: ['pii'], parentTask: parent.id }, d), (e: unknown) => e instanceof MandateRefused && e.refused[0]?.item === 'dataClasses.pii');
    await assert.rejects(grantMandate(agent, { purpose: 'c', tools: ['files.read'], parentTask: 'tsk_doesnotexist' }, d), (e: unknown) => e instanceof CodedError && e.code === 'mandate.parent_invalid');
    await store.close();
  });
});
