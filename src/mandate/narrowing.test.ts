import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkArg } from './check-call.js';
import { ArgConstraintSchema, MandateSchema, type ArgConstraint, type ArgConstraintInput, type MandateInput } from './model.js';
import { narrowDelegation, parentDelegates, type DelegatingParent } from './narrowing.js';

const mandate = (input: Partial<MandateInput>) => MandateSchema.parse({ purpose: 'p', tools: ['files.read'], ...input });
const parentOf = (input: Partial<MandateInput>, principal: string | null = null, expiresAtMs = 10_000): DelegatingParent => ({ mandate: mandate(input), principal, expiresAtMs });

/** The refused items of `child` under `parent`, as `item:code`. */
function refusals(parent: Partial<MandateInput>, child: Partial<MandateInput>, principal: string | null = null): string[] {
  return narrowDelegation(parentOf(parent, principal), mandate(child), 5_000).refused.map((r) => `${r.item}:${r.code}`);
}

/** The codes refused for argument `x` of `files.read` (none when it narrows), and the reasons. */
function argVerdict(parent: ArgConstraintInput, child: ArgConstraintInput | undefined): { codes: string[]; reasons: string } {
  const { refused } = narrowDelegation(
    parentOf({ tools: [{ name: 'files.read', args: { x: parent } }] }),
    mandate({ tools: [{ name: 'files.read', args: child ? { x: child } : {} }] }),
    0,
  );
  for (const r of refused) assert.equal(r.item, 'tools.files.read.args.x');
  return { codes: refused.map((r) => r.code.replace('mandate.delegation_', '')), reasons: refused.map((r) => r.reason).join(' | ') };
}

describe('delegation narrowing: axes', () => {
  it('tools: equal and fewer pass, one the parent lacks is refused by name', () => {
    assert.deepEqual(refusals({ tools: ['files.read', 'files.write'] }, { tools: ['files.read', 'files.write'] }), []);
    assert.deepEqual(refusals({ tools: ['files.read', 'files.write'] }, { tools: ['files.write'] }), []);
    assert.deepEqual(refusals({ tools: ['files.read'] }, { tools: ['files.read', 'shell.exec'] }), ['tools.shell.exec:mandate.delegation_widens']);
  });

  it('plan: a parent that plans hands down only planned tools', () => {
    const parent = { tools: ['files.read', 'files.write'], plan: ['files.read'] };
    assert.deepEqual(refusals(parent, { tools: ['files.read'] }), []);
    assert.deepEqual(refusals(parent, { tools: ['files.read', 'files.write'] }), ['tools.files.write:mandate.delegation_widens']);
    const [r] = narrowDelegation(parentOf(parent), mandate({ tools: ['files.write'] }), 0).refused;
    assert.match(r!.reason, /plan does not include `files\.write`/);
    // The child's own plan is its own business: only its tools are held to the parent's plan.
    assert.deepEqual(refusals({ tools: ['files.read', 'files.write'], plan: ['files.write', 'files.read'] }, { tools: ['files.read', 'files.write'], plan: ['files.read', 'files.write'] }), []);
    assert.equal(parentDelegates(mandate(parent), 'files.write'), false);
    assert.equal(parentDelegates(mandate({ tools: ['files.read', 'files.write'] }), 'files.write'), true);
  });

  it('data classes and egress: subsets pass, more is refused by name', () => {
    assert.deepEqual(refusals({ dataClasses: ['internal', 'pii'] }, { dataClasses: ['internal', 'pii'] }), []);
    assert.deepEqual(refusals({ dataClasses: ['internal', 'pii'] }, { dataClasses: ['pii'] }), []);
    assert.deepEqual(refusals({ dataClasses: ['internal'] }, { dataClasses: ['internal', 'pii'] }), ['dataClasses.pii:mandate.delegation_widens']);
    assert.deepEqual(refusals({ egress: ['confidential'] }, { egress: ['confidential'] }), []);
    assert.deepEqual(refusals({ egress: ['confidential'] }, {}), []);
    assert.deepEqual(refusals({}, { egress: ['confidential'] }), ['egress.confidential:mandate.delegation_widens']);
  });

  for (const limit of ['maxCalls', 'maxCallsPerMinute', 'maxResultBytes'] as const) {
    it(`limits.${limit}: equal and lower pass, higher or absent is refused`, () => {
      assert.deepEqual(refusals({}, { limits: { [limit]: 1000 } }), [], 'a parent without the limit leaves it open');
      assert.deepEqual(refusals({ limits: { [limit]: 10 } }, { limits: { [limit]: 10 } }), []);
      assert.deepEqual(refusals({ limits: { [limit]: 10 } }, { limits: { [limit]: 3 } }), []);
      assert.deepEqual(refusals({ limits: { [limit]: 10 } }, { limits: { [limit]: 11 } }), [`limits.${limit}:mandate.delegation_widens`]);
      assert.deepEqual(refusals({ limits: { [limit]: 10 } }, {}), [`limits.${limit}:mandate.delegation_widens`]);
    });
  }

  it('expiry: a child never outlives its parent, and is clamped rather than refused', () => {
    const parent = parentOf({}, null, 10_000);
    assert.deepEqual(narrowDelegation(parent, mandate({}), 50_000), { refused: [], expiresAtMs: 10_000 });
    assert.deepEqual(narrowDelegation(parent, mandate({}), 10_000), { refused: [], expiresAtMs: 10_000 });
    assert.deepEqual(narrowDelegation(parent, mandate({}), 4_000), { refused: [], expiresAtMs: 4_000 });
  });

  it('principal: a child acts for its parent\'s principal or names no other', () => {
    assert.deepEqual(refusals({}, {}, 'alice'), []);
    assert.deepEqual(refusals({}, { onBehalfOf: 'alice' }, 'alice'), []);
    assert.deepEqual(refusals({}, { onBehalfOf: 'bob' }, 'alice'), ['onBehalfOf:mandate.delegation_widens']);
    assert.deepEqual(refusals({}, { onBehalfOf: 'bob' }, null), ['onBehalfOf:mandate.delegation_widens']);
  });

  it('argument paths: each the parent constrains must be constrained in the child; more are fine', () => {
    const parent = { tools: [{ name: 'files.read', args: { path: { prefix: '/srv/' } } }, 'files.write'] };
    assert.deepEqual(refusals(parent, { tools: [{ name: 'files.read', args: { path: { prefix: '/srv/' } } }] }), []);
    assert.deepEqual(refusals(parent, { tools: [{ name: 'files.read', args: { path: { prefix: '/srv/a/' }, mode: { equals: 'r' } } }, { name: 'files.write', args: { path: { equals: '/x' } } }] }), []);
    assert.deepEqual(refusals(parent, { tools: ['files.read'] }), ['tools.files.read.args.path:mandate.delegation_widens']);
    assert.deepEqual(refusals(parent, { tools: [{ name: 'files.read', args: { 'path.inner': { prefix: '/srv/' } } }] }), ['tools.files.read.args.path:mandate.delegation_widens'], 'paths are compared as written');
  });

  it('collects every refused item at once, on every axis', () => {
    const parent = { tools: [{ name: 'files.read', args: { path: { prefix: '/srv/' } } }], dataClasses: ['internal'], limits: { maxCalls: 5 } };
    const child = { tools: [{ name: 'files.read', args: { path: { pattern: '/srv/.*' } } }, 'shell.exec'], dataClasses: ['pii'], egress: ['confidential'], limits: { maxCalls: 6 }, onBehalfOf: 'bob' };
    assert.deepEqual(refusals(parent, child, 'alice'), [
      'tools.files.read.args.path:mandate.delegation_unprovable',
      'tools.shell.exec:mandate.delegation_widens',
      'dataClasses.pii:mandate.delegation_widens',
      'egress.confidential:mandate.delegation_widens',
      'limits.maxCalls:mandate.delegation_widens',
      'onBehalfOf:mandate.delegation_widens',
    ]);
  });
});

type Verdict = 'ok' | 'widens' | 'unprovable' | 'widens+unprovable';

describe('delegation narrowing: argument constraints', () => {
  const cases: [string, ArgConstraintInput, ArgConstraintInput | undefined, Verdict, RegExp?][] = [
    ['absent from the child', { equals: 'a' }, undefined, 'widens', /the child does not/],
    // optional
    ['required in both', { equals: 'a' }, { equals: 'a' }, 'ok'],
    ['optional parent, required child', { equals: 'a', optional: true }, { equals: 'a' }, 'ok'],
    ['optional in both', { equals: 'a', optional: true }, { equals: 'a', optional: true }, 'ok'],
    ['required parent, optional child', { equals: 'a' }, { equals: 'a', optional: true }, 'widens', /left out/],
    // equals
    ['equals: different value', { equals: 'a' }, { equals: 'b' }, 'widens', /allows `"b"`/],
    ['equals: type-strict', { equals: '5' }, { equals: 5 }, 'widens'],
    ['equals: by a one-value oneOf', { equals: 'a' }, { oneOf: ['a'] }, 'ok'],
    ['equals: oneOf with more', { equals: 'a' }, { oneOf: ['a', 'b'] }, 'widens', /allows `"b"`/],
    ['equals: by min equal to max', { equals: 5 }, { min: 5, max: 5 }, 'ok'],
    ['equals: the child has a prefix only', { equals: '/a' }, { prefix: '/a' }, 'widens'],
    ['equals: the child has a pattern only', { equals: 'a' }, { pattern: 'a' }, 'unprovable', /cannot be shown/],
    // oneOf
    ['oneOf: same', { oneOf: ['a', 'b'] }, { oneOf: ['b', 'a'] }, 'ok'],
    ['oneOf: subset', { oneOf: ['a', 'b'] }, { oneOf: ['a'] }, 'ok'],
    ['oneOf: superset', { oneOf: ['a', 'b'] }, { oneOf: ['a', 'b', 'c'] }, 'widens', /allows `"c"`/],
    ['oneOf: equals inside', { oneOf: ['a', 'b'] }, { equals: 'b' }, 'ok'],
    ['oneOf: equals outside', { oneOf: ['a', 'b'] }, { equals: 'c' }, 'widens'],
    ['oneOf: a stray value the child itself refuses', { oneOf: ['/a/x', '/a/y'] }, { oneOf: ['/a/x', '/b/z'], prefix: '/a/' }, 'ok'],
    ['oneOf: the child has a range', { oneOf: [1, 2] }, { min: 1, max: 2 }, 'widens'],
    // prefix
    ['prefix: same', { prefix: '/tmp/' }, { prefix: '/tmp/' }, 'ok'],
    ['prefix: extended', { prefix: '/tmp/' }, { prefix: '/tmp/a/' }, 'ok'],
    ['prefix: extended mid-segment', { prefix: '/tmp/a' }, { prefix: '/tmp/ab' }, 'ok'],
    ['prefix: extended by a dotted name', { prefix: '/tmp/' }, { prefix: '/tmp/.cache' }, 'ok'],
    ['prefix: shorter', { prefix: '/tmp/a/' }, { prefix: '/tmp/' }, 'widens', /does not start with/],
    ['prefix: unrelated', { prefix: '/tmp/' }, { prefix: '/etc/' }, 'widens'],
    ['prefix: extended with a .. segment', { prefix: '/tmp/' }, { prefix: '/tmp/../etc/' }, 'widens', /climb out/],
    ['prefix: extended to end in ..', { prefix: '/tmp/' }, { prefix: '/tmp/..' }, 'widens', /climb out/],
    ['prefix: extended to end in .', { prefix: '/tmp/' }, { prefix: '/tmp/.' }, 'widens', /climb out/],
    ['prefix: extended with a backslash .. segment', { prefix: 'C:\\data\\' }, { prefix: 'C:\\data\\..\\' }, 'widens'],
    ['prefix: by equals under it', { prefix: '/tmp/' }, { equals: '/tmp/x' }, 'ok'],
    ['prefix: by equals escaping it', { prefix: '/tmp/' }, { equals: '/tmp/../etc/passwd' }, 'widens', /`\.\.` segments/],
    ['prefix: by oneOf, one outside', { prefix: '/tmp/' }, { oneOf: ['/tmp/x', '/etc/x'] }, 'widens', /"\/etc\/x"/],
    ['prefix: the child has none', { prefix: '/tmp/' }, { maxLength: 10 }, 'widens', /has none/],
    ['prefix: the child has a pattern', { prefix: '/tmp/' }, { pattern: '/tmp/[a-z]+' }, 'unprovable'],
    // pattern
    ['pattern: identical', { pattern: '[a-z]+' }, { pattern: '[a-z]+' }, 'ok'],
    ['pattern: identical, the child adds more', { pattern: '[a-z]+' }, { pattern: '[a-z]+', maxLength: 3, prefix: 'a' }, 'ok'],
    ['pattern: a different one', { pattern: '[a-z]+' }, { pattern: '[a-c]+' }, 'unprovable', /differs from the parent's `\[a-z\]\+`.*cannot be shown/],
    ['pattern: the child has none', { pattern: '[a-z]+' }, { prefix: 'a' }, 'widens', /has none/],
    ['pattern: by values that all match', { pattern: '[a-z]+' }, { oneOf: ['ab', 'cd'] }, 'ok'],
    ['pattern: by values, one not matching', { pattern: '[a-z]+' }, { oneOf: ['ab', 'Cd'] }, 'widens', /"Cd"/],
    ['pattern: anchored when testing values', { pattern: '[a-z]+' }, { equals: 'ab1' }, 'widens'],
    ['pattern: values decide even beside another pattern', { pattern: '[a-z]+' }, { oneOf: ['ab'], pattern: 'a.' }, 'ok'],
    // min / max
    ['min/max: same', { min: 1, max: 10 }, { min: 1, max: 10 }, 'ok'],
    ['min/max: inside', { min: 1, max: 10 }, { min: 2, max: 9 }, 'ok'],
    ['max: above', { max: 10 }, { max: 11 }, 'widens', /`max` 11 is above the parent's 10/],
    ['min: below', { min: 1 }, { min: 0 }, 'widens', /`min` 0 is below/],
    ['max: absent from the child', { max: 10 }, { min: 0 }, 'widens', /has none/],
    ['min/max: one side only', { min: 1, max: 10 }, { max: 5 }, 'widens', /`min`/],
    ['max: by values inside', { max: 10 }, { oneOf: [1, 10] }, 'ok'],
    ['max: by values, one above', { max: 10 }, { oneOf: [1, 11] }, 'widens', /`11`/],
    ['max: by a numeric string', { max: 10 }, { equals: '5' }, 'widens', /must be a number/],
    ['max: a pattern is no number', { max: 10 }, { pattern: '[0-9]' }, 'widens'],
    // maxLength
    ['maxLength: same', { maxLength: 5 }, { maxLength: 5 }, 'ok'],
    ['maxLength: smaller', { maxLength: 5 }, { maxLength: 3 }, 'ok'],
    ['maxLength: larger', { maxLength: 5 }, { maxLength: 6 }, 'widens', /above the parent's 5/],
    ['maxLength: absent from the child', { maxLength: 5 }, { prefix: 'a' }, 'widens', /has none/],
    ['maxLength: by maxItems of a list', { maxLength: 5 }, { maxItems: 4 }, 'ok'],
    ['maxLength: by too large a maxItems', { maxLength: 5 }, { maxItems: 6 }, 'widens'],
    ['maxLength: by values', { maxLength: 2 }, { oneOf: ['ab', 10] }, 'ok'],
    ['maxLength: by values, one too long', { maxLength: 2 }, { oneOf: ['ab', true] }, 'widens', /`true`/],
    ['maxLength: the child has a pattern', { maxLength: 5 }, { pattern: '[a-z]{0,5}' }, 'unprovable'],
    // minItems / maxItems
    ['minItems: same or more', { minItems: 2 }, { minItems: 3 }, 'ok'],
    ['minItems: fewer', { minItems: 2 }, { minItems: 1 }, 'widens', /below the parent's 2/],
    ['minItems: absent from a list child', { minItems: 1 }, { maxItems: 3 }, 'widens', /has none/],
    ['minItems: 0 is any list', { minItems: 0 }, { subsetOf: ['a'] }, 'ok'],
    ['minItems: the child needs no list', { minItems: 0 }, { maxLength: 3 }, 'widens', /requires a list/],
    ['maxItems: same or fewer', { maxItems: 3 }, { maxItems: 2 }, 'ok'],
    ['maxItems: more', { maxItems: 3 }, { maxItems: 4 }, 'widens', /above the parent's 3/],
    ['maxItems: absent from a list child', { maxItems: 3 }, { minItems: 1 }, 'widens', /has none/],
    ['maxItems: the largest checked list', { maxItems: 1000 }, { each: { equals: 'a' } }, 'ok'],
    // subsetOf
    ['subsetOf: same', { subsetOf: ['a', 'b'] }, { subsetOf: ['a', 'b'] }, 'ok'],
    ['subsetOf: subset', { subsetOf: ['a', 'b'] }, { subsetOf: ['b'] }, 'ok'],
    ['subsetOf: superset', { subsetOf: ['a', 'b'] }, { subsetOf: ['a', 'c'] }, 'widens', /item `"c"`/],
    ['subsetOf: type-strict', { subsetOf: [1] }, { subsetOf: ['1'] }, 'widens'],
    ['subsetOf: a stray the child\'s each refuses', { subsetOf: ['a', 'b'] }, { subsetOf: ['a', 'zz'], each: { maxLength: 1 } }, 'ok'],
    ['subsetOf: by each with values inside', { subsetOf: ['a', 'b'] }, { each: { oneOf: ['a'] } }, 'ok'],
    ['subsetOf: by each with a value outside', { subsetOf: ['a', 'b'] }, { each: { oneOf: ['a', 'c'] } }, 'widens'],
    ['subsetOf: by an optional each', { subsetOf: ['a', 'b'] }, { each: { oneOf: ['a'], optional: true } }, 'widens', /null item/],
    ['subsetOf: by each with a pattern', { subsetOf: ['a', 'b'] }, { each: { pattern: '[ab]' } }, 'unprovable'],
    ['subsetOf: the child leaves items open', { subsetOf: ['a'] }, { maxItems: 2 }, 'widens'],
    ['subsetOf: the child needs no list', { subsetOf: ['a'] }, { equals: 'a' }, 'widens', /is a list|must be a list/],
    // each
    ['each: same', { each: { max: 10 } }, { each: { max: 10 } }, 'ok'],
    ['each: stricter', { each: { min: 0, max: 10 } }, { each: { min: 1, max: 5 }, maxItems: 3 }, 'ok'],
    ['each: looser', { each: { max: 10 } }, { each: { max: 20 } }, 'widens', /in `each`, the child's `max` 20/],
    ['each: optional items', { each: { max: 10 } }, { each: { max: 10, optional: true } }, 'widens', /in `each`, the child lets it be left out/],
    ['each: by subsetOf inside', { each: { oneOf: ['a', 'b'] } }, { subsetOf: ['a'] }, 'ok'],
    ['each: by subsetOf, one refused', { each: { prefix: 'a' } }, { subsetOf: ['ab', 'ba'] }, 'widens', /item `"ba"`/],
    ['each: the child leaves items open', { each: { max: 1 } }, { maxItems: 3 }, 'widens', /`each`/],
    ['each: nested', { each: { each: { oneOf: ['a', 'b'] } } }, { each: { each: { equals: 'a' }, maxItems: 2 } }, 'ok'],
    ['each: nested, looser', { each: { each: { oneOf: ['a', 'b'] } } }, { each: { each: { oneOf: ['a', 'c'] } } }, 'widens', /in `each`, the child allows item `"c"`/],
    ['each: a different pattern', { each: { pattern: '[a-z]+' } }, { each: { pattern: '[a-y]+' } }, 'unprovable', /in `each`/],
    ['each: by a prefix as long as maxLength', { each: { oneOf: ['ab', 'c'] } }, { each: { prefix: 'ab', maxLength: 2 } }, 'ok'],
    ['equals: by a prefix longer than maxLength (nothing passes)', { equals: 'z' }, { prefix: 'ab', maxLength: 1 }, 'ok'],
    ['each: only the empty list', { each: { equals: 'a' }, minItems: 0 }, { maxItems: 0 }, 'ok'],
    ['each: only the empty list, parent needs one', { each: { equals: 'a' }, minItems: 1 }, { maxItems: 0 }, 'widens'],
    // several at once
    ['both a widening and an unprovable part', { pattern: '[a-z]+' }, { pattern: '[a-c]+', optional: true }, 'widens+unprovable'],
    ['a constraint the child cannot meet at all', { equals: 'a' }, { equals: 'b', oneOf: ['c'] }, 'ok'],
  ];
  for (const [title, parent, child, expected, reason] of cases) {
    it(`${expected}: ${title}`, () => {
      const { codes, reasons } = argVerdict(parent, child);
      assert.equal(codes.length === 0 ? 'ok' : codes.join('+'), expected, reasons);
      if (reason) assert.match(reasons, reason);
    });
  }

  it('the reason names the tool, the argument and why', () => {
    const { reasons } = argVerdict({ max: 10 }, { max: 11 });
    assert.equal(reasons, 'argument `x` of `files.read`: the child\'s `max` 11 is above the parent\'s 10');
    assert.match(argVerdict({ pattern: 'a' }, { pattern: 'b' }).reasons, /a narrowing that cannot be shown is refused$/);
  });
});

describe('delegation narrowing: sound against the call-time check', () => {
  // Whatever it grants, no value passes the child's constraint and fails the parent's.
  const VALUES: unknown[] = [
    undefined, null, '', 'a', 'b', 'ab', 'abc', 'ba', 'A', '5', '/tmp/', '/tmp/x', '/tmp/a/b', '/tmp/../etc', '/tmp/.', '/tmp/./x', '/tmp/..', '/tmp/a/../b', '/etc/x',
    0, 1, 2, 5, 10, 11, -3, 100, true, false, {}, { a: 1 },
    [], ['a'], ['b'], ['a', 'b'], ['a', 'c'], ['ab'], [1], [1, 2], [11], [null], ['a', null], [[]], [['a']], [['a', 'c']], ['/tmp/x', '/tmp/../y'],
  ];
  const PARTS: Record<string, unknown>[] = [
    { equals: 'a' }, { equals: 5 }, { equals: '/tmp/x' }, { oneOf: ['a', 'b'] }, { oneOf: ['a', 'ab', 'c'] }, { oneOf: [1, 5, 10] }, { oneOf: ['/tmp/x', '/tmp/../etc'] },
    { prefix: '/tmp/' }, { prefix: '/tmp/a' }, { prefix: '/tmp/.' }, { prefix: '/' }, { prefix: 'a' },
    { pattern: '[a-z]+' }, { pattern: 'a.*' }, { pattern: '.*' },
    { min: 0 }, { min: 2 }, { max: 10 }, { max: 5 }, { min: 5, max: 5 },
    { maxLength: 1 }, { maxLength: 2 }, { maxLength: 5 }, { maxLength: 6 },
    { subsetOf: ['a', 'b'] }, { subsetOf: ['a'] }, { subsetOf: ['a', 'c', 1] }, { minItems: 1 }, { minItems: 0 }, { maxItems: 0 }, { maxItems: 1 }, { maxItems: 2 },
    { each: { oneOf: ['a', 'b'] } }, { each: { equals: 'a', optional: true } }, { each: { maxLength: 1 } }, { each: { max: 10 } }, { each: { prefix: '/tmp/' } },
    { each: { each: { oneOf: ['a', 'b'] } } }, { each: { subsetOf: ['a'] } }, { each: { maxItems: 0 } },
    { optional: true },
  ];
  let seed = 42;
  const rand = (n: number) => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    return seed % n;
  };
  const build = (base: Record<string, unknown>, parts: number): ArgConstraint | undefined => {
    const c: Record<string, unknown> = { ...base };
    for (let i = 0; i < parts; i++) Object.assign(c, PARTS[rand(PARTS.length)]);
    const parsed = ArgConstraintSchema.safeParse(c);
    return parsed.success ? parsed.data : undefined;
  };

  const holds = (parent: ArgConstraint, child: ArgConstraint): boolean => {
    const { refused } = narrowDelegation(parentOf({ tools: [{ name: 'files.read', args: { x: parent } }] }), mandate({ tools: [{ name: 'files.read', args: { x: child } }] }), 0);
    if (refused.length > 0) return false;
    for (const v of VALUES) {
      if (checkArg(child, v) === null) assert.equal(checkArg(parent, v), null, `${JSON.stringify(v)} passes ${JSON.stringify(child)} but not ${JSON.stringify(parent)}`);
    }
    return true;
  };

  it('for every pair of single constraints, and each with another added', () => {
    let granted = 0;
    for (const a of PARTS) {
      for (const b of PARTS) {
        const parent = build(a, 0);
        const child = build(b, 0);
        const both = build({ ...a, ...b }, 0);
        if (parent && child && holds(parent, child)) granted++;
        if (parent && both && holds(parent, both)) granted++;
        if (both && parent && holds(both, parent)) granted++;
      }
    }
    assert.ok(granted > 500, `${granted} pairs granted: too few to mean much`);
  });

  it('over many random pairs, a granted child never lets through what its parent refuses', () => {
    let granted = 0;
    for (let i = 0; i < 20_000; i++) {
      const parent = build({}, 1 + rand(3));
      // Half the children start from their parent, so that many narrow it.
      const child = parent && build(rand(2) === 0 ? { ...parent } : {}, rand(2) === 0 ? 1 : 1 + rand(3));
      if (!parent || !child) continue;
      if (holds(parent, child)) granted++;
    }
    assert.ok(granted > 2_000, `${granted} pairs granted: too few to mean much`);
  });
});
