import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AuditEntry } from '../audit/model.js';
import { CodedError, manualClock, sequenceRandom, toolCatalog, type AgentId, type ToolParams, type ToolSpec } from '../core/index.js';
import { openSqliteStore } from '../store/index.js';
import { checkArg, checkCallAgainstMandate, grantMandate, MandateRefused, MandateSchema } from './index.js';
import { resolveArg } from '../core/index.js';

const tools: ToolSpec[] = [
  { name: 'files.read', kind: 'read', risk: 'low', labels: [], description: '' },
  { name: 'shell.exec', kind: 'execute', risk: 'critical', labels: [], description: '' },
  {
    name: 'mail.send',
    kind: 'send',
    risk: 'medium',
    labels: [],
    description: '',
    params: {
      to: { type: 'array', items: { type: 'string' } },
      subject: { type: 'string' },
      priority: { type: 'integer' },
      urgent: { type: 'boolean' },
      headers: { type: 'object' },
      payment: { type: 'object', properties: { iban: { type: 'string' }, amount: { type: 'number' } } },
      attachments: { type: 'array', items: { type: 'object', properties: { name: { type: 'string' } } } },
      extra: {},
    },
  },
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
    ['each ok', { each: { oneOf: ['a@x.com', 'b@x.com'] } }, ['a@x.com', 'b@x.com'], null],
    ['each on an empty list', { each: { oneOf: ['a@x.com'] } }, [], null],
    ['each names the stray item', { each: { oneOf: ['a@x.com', 'b@x.com'] } }, ['a@x.com', 'eve@evil.io'], 'item 1 must be one of `a@x.com`, `b@x.com`'],
    ['each on a string', { each: { oneOf: ['a@x.com'] } }, 'a@x.com', 'must be a list'],
    ['each of a pattern', { each: { pattern: '[a-z]+@acme\\.com' } }, ['bob@acme.com', 'eve@acme.com.evil.io'], 'item 1 must match `[a-z]+@acme\\.com`'],
    ['each item is required', { each: { equals: 'a' } }, ['a', null], 'item 1 is required by the mandate'],
    ['each of each', { each: { each: { max: 5 } } }, [[1, 2], [3, 9]], 'item 1 item 1 must be at most 5'],
    ['each on an item that is a list', { each: { oneOf: ['a'] } }, [['a']], 'item 0 is a list: `oneOf` applies to a single value (use `each` for the items of a list)'],
    ['subsetOf ok', { subsetOf: ['a', 'b', 1] }, ['b', 1, 'b'], null],
    ['subsetOf breaks', { subsetOf: ['a', 'b'] }, ['a', 'c'], 'item 1 must be one of `a`, `b`'],
    ['subsetOf is type-strict', { subsetOf: [1] }, ['1'], 'item 0 must be one of `1`'],
    ['subsetOf refuses objects', { subsetOf: ['a'] }, [{ toString: 'a' }], 'item 0 must be one of `a`'],
    ['subsetOf on a string', { subsetOf: ['a'] }, 'a', 'must be a list'],
    ['minItems breaks', { minItems: 1 }, [], 'must have at least 1 item'],
    ['maxItems breaks', { maxItems: 2 }, [1, 2, 3], 'must have at most 2 items'],
    ['maxItems at its bound', { maxItems: 2, minItems: 2 }, [1, 2], null],
    ['maxItems on a string', { maxItems: 2 }, 'ab', 'must be a list'],
    ['oneOf on a list', { oneOf: ['a@x'] }, ['a@x'], 'is a list: `oneOf` applies to a single value (use `each` for the items of a list)'],
    ['equals on a list', { equals: 'a' }, ['a'], 'is a list: `equals` applies to a single value (use `each` for the items of a list)'],
    ['prefix on a list', { prefix: '/tmp/' }, ['/tmp/a'], 'is a list: `prefix` applies to a single value (use `each` for the items of a list)'],
    ['pattern on a list', { pattern: '.*' }, ['x'], 'is a list: `pattern` applies to a single value (use `each` for the items of a list)'],
    ['max on a list', { max: 5 }, [1], 'is a list: `max` applies to a single value (use `each` for the items of a list)'],
    ['scalar and list keys together', { oneOf: ['a'], each: { oneOf: ['a'] } }, ['a'], 'is a list: `oneOf` applies to a single value (use `each` for the items of a list)'],
    ['a list over the cap', { each: { max: 5 } }, Array.from({ length: 1001 }, () => 1), 'has 1001 items: lists over 1000 items are not checked'],
    ['a list at the cap', { each: { max: 5 } }, Array.from({ length: 1000 }, () => 1), null],
    ['too many nested items', { each: { each: { max: 5 } } }, Array.from({ length: 11 }, () => Array.from({ length: 1000 }, () => 1)), 'item 9 holds too many nested items to check (over 10000)'],
  ];
  for (const [title, c, value, expected] of cases) {
    it(title, () => assert.equal(checkArg({ optional: false, ...c } as never, value), expected));
  }

  it('a dotted name reaches a nested field through own properties only', () => {
    const m = MandateSchema.parse({ purpose: 'p', tools: [{ name: 'pay.send', args: { 'payment.iban': { pattern: 'DE[0-9]{20}' }, 'meta.tag': { equals: 'x', optional: true } } }] });
    const call = (args: Record<string, unknown>) => {
      try {
        checkCallAgainstMandate(m, 'pay.send', args);
        return null;
      } catch (e) {
        return (e as CodedError).publicMessage;
      }
    };
    assert.equal(call({ payment: { iban: 'DE12345678901234567890' } }), null);
    assert.equal(call({ payment: { iban: 'GB12345678901234567890' } }), 'argument `payment.iban` must match `DE[0-9]{20}`');
    assert.equal(call({}), 'argument `payment.iban` is required by the mandate', 'a missing object means an absent value');
    assert.equal(call({ payment: null }), 'argument `payment.iban` is required by the mandate');
    assert.equal(call({ payment: 'DE12345678901234567890' }), 'argument `payment.iban` cannot be reached: `payment` must be an object');
    assert.equal(call({ payment: [{ iban: 'DE12345678901234567890' }] }), 'argument `payment.iban` cannot be reached: `payment` must be an object');
    assert.equal(call({ payment: Object.create({ iban: 'DE12345678901234567890' }) }), 'argument `payment.iban` is required by the mandate', 'inherited fields are not arguments');
    assert.equal(call({ 'payment.iban': 'DE12345678901234567890' }), 'argument `payment.iban` is required by the mandate', 'a dot always means a nested field');
    assert.equal(call({ payment: { iban: 'DE12345678901234567890' }, meta: { tag: 'y' } }), 'argument `meta.tag` must equal `x`');
    assert.equal(call({ payment: { iban: 'DE12345678901234567890' }, meta: 5 }), 'argument `meta.tag` cannot be reached: `meta` must be an object', 'optional does not excuse a wrong shape');
  });

  it('a path segment never reaches a prototype', () => {
    for (const name of ['a.__proto__', '__proto__.polluted', 'a.constructor', 'a.constructor.prototype', 'a..b', 'a.b.c.d.e.f.g.h.i']) {
      assert.equal(MandateSchema.safeParse({ purpose: 'p', tools: [{ name: 'a.b', args: { [name]: { equals: 'x' } } }] }).success, false, name);
    }
    // Even past the schema, resolution ignores such segments, own key or not.
    const args = JSON.parse('{"a":{"__proto__":{"b":"x"}}}') as Record<string, unknown>;
    assert.deepEqual(resolveArg(args, 'a.__proto__.b'), { value: undefined });
    assert.deepEqual(resolveArg({ a: {} }, 'a.constructor.name'), { value: undefined });
    assert.deepEqual(resolveArg({ a: { b: { c: 1 } } }, 'a.b.c'), { value: 1 });
  });

  it('constraint keys are validated and nest to a bound', () => {
    const parse = (c: unknown) => MandateSchema.safeParse({ purpose: 'p', tools: [{ name: 'a.b', args: { x: c } }] });
    const issues = (c: unknown) => JSON.stringify(parse(c).error?.issues ?? []);
    assert.equal(parse({ each: { each: { each: { each: { equals: 1 } } } } }).success, true, 'four levels');
    assert.match(issues({ each: { each: { each: { each: { each: { equals: 1 } } } } } }), /nests at most 4 levels/);
    assert.match(issues({ each: {} }), /at least one of/);
    assert.match(issues({ each: { oneof: ['a'] } }), /oneof/);
    assert.match(issues({ subsetOf: [] }), /subsetOf/);
    assert.match(issues({ minItems: 3, maxItems: 2 }), /minItems/);
    assert.match(issues({ maxItems: 1001 }), /maxItems/);
    assert.match(issues({ each: { pattern: '(' } }), /regular expression/);
  });

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

  it('refuses a constraint the tool parameters can never meet', async () => {
    const { store, d, events } = await deps();
    const refusals = async (args: Record<string, unknown>) => {
      try {
        await grantMandate(agent, { purpose: 'p', tools: [{ name: 'mail.send', args }] }, d);
        return [];
      } catch (e) {
        assert.ok(e instanceof MandateRefused, String(e));
        return e.refused.map((r) => [r.item, r.code, r.reason]);
      }
    };
    const reason = async (name: string, c: Record<string, unknown>) => ((await refusals({ [name]: c }))[0] ?? [])[2];
    // What the parameters allow is granted.
    assert.deepEqual(
      await refusals({
        to: { each: { pattern: '[a-z]+@x\\.com' }, maxItems: 3 },
        subject: { prefix: '[ops]', maxLength: 80 },
        priority: { oneOf: [1, 2], min: 0 },
        urgent: { equals: false },
        'payment.iban': { pattern: 'DE[0-9]{20}' },
        'payment.amount': { max: 100 },
        'headers.x-tag': { equals: 'a' },
        'extra.anything': { equals: 1 },
        attachments: { each: { maxLength: 100 } },
      }),
      [],
    );
    assert.deepEqual(await refusals({ cc: { equals: 'a' } }), [['tools.mail.send.args.cc', 'mandate.arg_constraint', 'argument `cc` of `mail.send`: the tool has no argument `cc`']]);
    assert.equal(await reason('payment.bic', { equals: 'x' }), 'argument `payment.bic` of `mail.send`: the tool has no argument `payment.bic`');
    assert.equal(await reason('subject.text', { equals: 'x' }), 'argument `subject.text` of `mail.send`: `subject` is a string, which has no field `text`');
    assert.equal(await reason('to', { oneOf: ['a@x.com'] }), 'argument `to` of `mail.send`: `oneOf` cannot apply to an array (use `each` or `subsetOf` for a list)');
    assert.equal(await reason('priority', { prefix: '1' }), 'argument `priority` of `mail.send`: `prefix` cannot apply to an integer');
    assert.equal(await reason('priority', { equals: 1.5 }), 'argument `priority` of `mail.send`: `equals` value `1.5` is not an integer');
    assert.equal(await reason('urgent', { oneOf: [true, 'yes'] }), 'argument `urgent` of `mail.send`: `oneOf` value `yes` is not a boolean');
    assert.equal(await reason('subject', { each: { equals: 'a' } }), 'argument `subject` of `mail.send`: `each` cannot apply to a string');
    assert.equal(await reason('to', { max: 3 }), 'argument `to` of `mail.send`: `max` cannot apply to an array');
    assert.equal(await reason('to', { minItems: 1, each: { max: 3 } }), 'argument `to` of `mail.send`: `each.max` cannot apply to a string');
    assert.equal(await reason('to', { subsetOf: ['a@x.com', 5] }), 'argument `to` of `mail.send`: `subsetOf` value `5` is not a string');
    assert.equal(await reason('attachments', { each: { each: { equals: 'a' } } }), 'argument `attachments` of `mail.send`: `each.each` cannot apply to an object');
    assert.equal(await reason('attachments.name', { equals: 'a' }), 'argument `attachments.name` of `mail.send`: `attachments` is an array, which has no field `name`');
    assert.equal(await reason('headers', { equals: 'a' }), 'argument `headers` of `mail.send`: `equals` cannot apply to an object');
    // Every mismatch is listed, and nothing is granted.
    assert.equal((await refusals({ cc: { equals: 'a' }, bcc: { equals: 'b' }, subject: { max: 1 } })).length, 3);
    assert.equal(events.at(-1)?.type, 'task.refused');
    // A tool without stated parameters keeps taking any constraint.
    await grantMandate(agent, { purpose: 'p', tools: [{ name: 'files.read', args: { nothing: { each: { max: 1 } } } }] }, d);
    await store.close();
  });

  it('checks constraints against learned parameters when the catalog states none, and stated ones win', async () => {
    const { store, d } = await deps();
    const asked: string[] = [];
    const learned: Record<string, ToolParams | undefined | Error> = {
      'files.read': { path: { type: 'string' }, offset: { type: 'integer' } },
      'mail.send': { to: { type: 'integer' } }, // stated parameters exist: never asked
    };
    const toolParams = {
      paramsOf: async (name: string) => {
        asked.push(name);
        const found = learned[name];
        if (found instanceof Error) throw found;
        return found;
      },
    };
    const grant = (tools: unknown[]) => grantMandate(agent, { purpose: 'p', tools }, { ...d, toolParams });
    const refusedBy = async (tools: unknown[]) => {
      try {
        await grant(tools);
        return [];
      } catch (e) {
        assert.ok(e instanceof MandateRefused, String(e));
        return e.refused.map((r) => [r.item, r.code, r.reason]);
      }
    };
    assert.deepEqual(await refusedBy([{ name: 'files.read', args: { path: { prefix: '/srv/' } } }, { name: 'mail.send', args: { to: { each: { equals: 'a@x.com' } } } }]), []);
    assert.deepEqual(asked, ['files.read'], 'a tool with stated parameters is not looked up');
    assert.deepEqual(await refusedBy([{ name: 'files.read', args: { file: { prefix: '/srv/' }, offset: { prefix: '1' } } }]), [
      ['tools.files.read.args.file', 'mandate.arg_constraint', 'argument `file` of `files.read`: the tool has no argument `file`'],
      ['tools.files.read.args.offset', 'mandate.arg_constraint', 'argument `offset` of `files.read`: `prefix` cannot apply to an integer'],
    ]);
    // No constraint on the tool: nothing to check, nothing asked.
    asked.length = 0;
    await grant(['files.read']);
    assert.deepEqual(asked, []);
    // Names left open by the source: granted unchecked, as without parameters.
    learned['files.read'] = undefined;
    assert.deepEqual(await refusedBy([{ name: 'files.read', args: { anything: { equals: 1 } } }]), []);
    await store.close();
  });

  it('refuses the constraints of a tool whose parameters cannot be learned now, and grants the same tool unconstrained', async () => {
    const { store, d, events } = await deps();
    const toolParams = {
      paramsOf: async (name: string): Promise<ToolParams | undefined> => {
        if (name === 'files.read') throw new CodedError('gateway.upstream_unavailable', 'upstream `files` could not be started');
        throw new Error('boom');
      },
    };
    const grant = (tools: unknown[]) => grantMandate(agent, { purpose: 'p', tools }, { ...d, toolParams });
    await assert.rejects(grant([{ name: 'files.read', args: { path: { prefix: '/srv/' } } }]), (e: unknown) => {
      assert.ok(e instanceof MandateRefused);
      assert.deepEqual(
        e.refused.map((r) => [r.item, r.code, r.reason]),
        [['tools.files.read', 'mandate.params_unavailable', 'the argument constraints of `files.read` cannot be checked: its parameters could not be learned from its upstream (gateway.upstream_unavailable: upstream `files` could not be started); retry, or state its `params` in the configuration']],
      );
      return true;
    });
    assert.equal(events.at(-1)?.type, 'task.refused');
    // Whatever the source throws is a refusal, never an error of the grant, and never a grant.
    const throwing = { paramsOf: (): Promise<ToolParams | undefined> => { throw new Error('sync'); } };
    await assert.rejects(grantMandate(agent, { purpose: 'p', tools: [{ name: 'files.read', args: { path: { equals: 'a' } } }] }, { ...d, toolParams: throwing }), (e: unknown) => e instanceof MandateRefused && e.refused[0]?.reason.includes('(the lookup failed)') === true);
    // Without constraints the tool does not depend on its upstream.
    await grant(['files.read']);
    await store.close();
  });

  it('learns the parameters of several tools at once, and reports in item order', async () => {
    const { store, d } = await deps();
    const many = toolCatalog([...tools, { name: 'files.write', kind: 'write', risk: 'low', labels: [], description: '' }]);
    let inFlight = 0;
    let most = 0;
    const toolParams = {
      paramsOf: async (name: string): Promise<ToolParams | undefined> => {
        most = Math.max(most, ++inFlight);
        await new Promise((r) => setTimeout(r, name === 'files.read' ? 30 : 1));
        inFlight--;
        return { path: { type: 'string' } };
      },
    };
    await assert.rejects(grantMandate(agent, { purpose: 'p', tools: [{ name: 'files.read', args: { p: { equals: 'a' } } }, { name: 'files.write', args: { q: { equals: 'b' } } }] }, { ...d, tools: many, toolParams }), (e: unknown) => {
      assert.ok(e instanceof MandateRefused);
      assert.deepEqual(e.refused.map((r) => r.item), ['tools.files.read.args.p', 'tools.files.write.args.q']);
      return true;
    });
    assert.equal(most, 2, 'both looked up at the same time');
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

  it('a child is narrowed on every axis; all its refused items are collected and recorded', async () => {
    const { store, d, events } = await deps();
    const parent = await grantMandate(
      agent,
      { purpose: 'p', tools: [{ name: 'mail.send', args: { subject: { pattern: '[A-Z].*' }, priority: { max: 3 } } }, 'files.read'], limits: { maxCalls: 10 }, onBehalfOf: 'alice', ttlSeconds: 60 },
      d,
    );
    const narrower = await grantMandate(agent, { purpose: 'c', tools: [{ name: 'mail.send', args: { subject: { pattern: '[A-Z].*', maxLength: 80 }, priority: { min: 1, max: 2 } } }], limits: { maxCalls: 4 }, parentTask: parent.id }, d);
    assert.equal(narrower.principal, 'alice');
    const wider = { purpose: 'c', tools: [{ name: 'mail.send', args: { subject: { pattern: '[A-Z][a-z]*' }, priority: { max: 5 } } }, 'shell.exec'], egress: ['confidential'], limits: { maxCalls: 11 }, onBehalfOf: 'bob', parentTask: parent.id };
    await assert.rejects(grantMandate(agent, wider, d), (e: unknown) => {
      assert.ok(e instanceof MandateRefused);
      assert.deepEqual(
        e.refused.map((r) => `${r.item}:${r.code}`),
        [
          'tools.mail.send.args.subject:mandate.delegation_unprovable',
          'tools.mail.send.args.priority:mandate.delegation_widens',
          'tools.shell.exec:mandate.delegation_widens',
          'egress.confidential:mandate.delegation_widens',
          'limits.maxCalls:mandate.delegation_widens',
          'onBehalfOf:mandate.delegation_widens',
        ],
      );
      return true;
    });
    const recorded = events.at(-1);
    assert.equal(recorded?.type, 'task.refused');
    assert.equal((recorded?.data as { refused: unknown[] }).refused.length, 6);
    await store.close();
  });

  it('a tool the parent declares but does not plan is not handed down', async () => {
    const { store, d } = await deps();
    const parent = await grantMandate(agent, { purpose: 'p', tools: ['files.read', 'mail.send'], plan: ['files.read'] }, d);
    await grantMandate(agent, { purpose: 'c', tools: ['files.read'], parentTask: parent.id }, d);
    await assert.rejects(grantMandate(agent, { purpose: 'c', tools: ['mail.send'], parentTask: parent.id }, d), (e: unknown) => {
      assert.ok(e instanceof MandateRefused);
      assert.deepEqual(e.refused.map((r) => `${r.item}:${r.code}`), ['tools.mail.send:mandate.delegation_widens']);
      return true;
    });
    await store.close();
  });
});
