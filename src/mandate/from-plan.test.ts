import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { CodedError } from '../core/index.js';
import { checkCallAgainstMandate, MandateSchema, mandateFromPlan, PLAN_CALLS_PER_STEP } from './index.js';

const RENT = {
  purpose: 'pay the March rent and send the receipt to Bob',
  onBehalfOf: 'alice@example.com',
  steps: [
    { tool: 'bank.balance' },
    { tool: 'payments.create', args: { iban: 'DE89 3704 0044 0532 0130 00', amount: { max: 1200 } } },
    { tool: 'email.send', args: { to: ['bob@example.com'] } },
  ],
  ttlSeconds: 900,
  dataClasses: [],
  egress: [],
};

/** The mandate.invalid message a plan is refused with. */
function refusal(plan: unknown): string {
  try {
    mandateFromPlan(plan);
  } catch (err) {
    assert.ok(err instanceof CodedError, String(err));
    assert.equal(err.code, 'mandate.invalid');
    return err.message;
  }
  assert.fail('the plan was accepted');
}

const plan = (steps: unknown[], extra: Record<string, unknown> = {}) => ({ purpose: 'p', steps, ...extra });

describe('mandateFromPlan', () => {
  it('turns the rent plan into a mandate the schema accepts', () => {
    const mandate = mandateFromPlan(RENT);
    assert.deepEqual(mandate, {
      purpose: RENT.purpose,
      tools: [
        { name: 'bank.balance', args: {} },
        { name: 'payments.create', args: { iban: { oneOf: ['DE89 3704 0044 0532 0130 00'] }, amount: { max: 1200, optional: false } } },
        { name: 'email.send', args: { to: { each: { oneOf: ['bob@example.com'] }, maxItems: 1 } } },
      ],
      dataClasses: [],
      egress: [],
      limits: { maxCalls: 9 },
      ttlSeconds: 900,
      plan: ['bank.balance', 'payments.create', 'email.send'],
      onBehalfOf: 'alice@example.com',
    });
    assert.ok(MandateSchema.safeParse(mandate).success);
  });

  it('keeps stated values exactly as stated and checks calls against them', () => {
    const mandate = MandateSchema.parse(mandateFromPlan(RENT));
    checkCallAgainstMandate(mandate, 'payments.create', { iban: 'DE89 3704 0044 0532 0130 00', amount: 1200 });
    assert.throws(() => checkCallAgainstMandate(mandate, 'payments.create', { iban: 'DE89370400440532013000', amount: 10 }), /mandate|oneOf|one of/);
    assert.throws(() => checkCallAgainstMandate(mandate, 'payments.create', { iban: 'DE89 3704 0044 0532 0130 00', amount: 1201 }));
    assert.throws(() => checkCallAgainstMandate(mandate, 'email.send', { to: ['bob@example.com', 'eve@example.com'] }));
  });

  it('a scalar stated in several steps of one tool becomes oneOf every value', () => {
    const mandate = mandateFromPlan(plan([{ tool: 'email.send', args: { to: 'bob@example.com', urgent: true } }, { tool: 'files.read' }, { tool: 'email.send', args: { to: 'carol@example.com' } }, { tool: 'email.send', args: { to: 'bob@example.com' } }]));
    assert.deepEqual(mandate.tools, [
      { name: 'email.send', args: { to: { oneOf: ['bob@example.com', 'carol@example.com'] }, urgent: { oneOf: [true] } } },
      { name: 'files.read', args: {} },
    ]);
    assert.deepEqual(mandate.plan, ['email.send', 'files.read', 'email.send', 'email.send']);
    assert.equal(mandate.limits?.maxCalls, 4 * PLAN_CALLS_PER_STEP);
    // A number and the same digits as a string are different statements.
    const numbers = mandateFromPlan(plan([{ tool: 'a.b', args: { n: 1 } }, { tool: 'a.b', args: { n: '1' } }]));
    assert.deepEqual(numbers.tools[0], { name: 'a.b', args: { n: { oneOf: [1, '1'] } } });
  });

  it('lists become each-oneOf of every item, bounded by the longest list stated', () => {
    const mandate = mandateFromPlan(plan([{ tool: 'email.send', args: { to: ['bob@example.com'] } }, { tool: 'email.send', args: { to: ['carol@example.com', 'bob@example.com'] } }]));
    assert.deepEqual(mandate.tools[0]!.args, { to: { each: { oneOf: ['bob@example.com', 'carol@example.com'] }, maxItems: 2 } });
  });

  it('objects of constraint keys pass through as constraints', () => {
    const mandate = mandateFromPlan(plan([{ tool: 'files.read', args: { path: { prefix: '/srv/' } } }, { tool: 'files.write', args: { path: { pattern: '^/tmp/[a-z]+$', optional: true }, size: { min: 0, max: 10 } } }, { tool: 'files.read', args: { path: { prefix: '/srv/' } } }]));
    assert.deepEqual(mandate.tools, [
      { name: 'files.read', args: { path: { prefix: '/srv/', optional: false } } },
      { name: 'files.write', args: { path: { pattern: '^/tmp/[a-z]+$', optional: true }, size: { min: 0, max: 10, optional: false } } },
    ]);
  });

  it('nested objects of stated values become dotted paths', () => {
    const mandate = mandateFromPlan(plan([{ tool: 'payments.create', args: { payment: { iban: 'DE89', amount: { max: 5 }, meta: { ref: 'march' } } } }, { tool: 'payments.create', args: { 'payment.iban': 'FR76' } }]));
    assert.deepEqual(mandate.tools[0]!.args, { 'payment.iban': { oneOf: ['DE89', 'FR76'] }, 'payment.amount': { max: 5, optional: false }, 'payment.meta.ref': { oneOf: ['march'] } });
    const parsed = MandateSchema.parse(mandate);
    checkCallAgainstMandate(parsed, 'payments.create', { payment: { iban: 'FR76', amount: 5, meta: { ref: 'march' } } });
    assert.throws(() => checkCallAgainstMandate(parsed, 'payments.create', { payment: { iban: 'GB00', amount: 5, meta: { ref: 'march' } } }));
  });

  it('arguments not stated are left unconstrained, and a step stating nothing lifts nothing', () => {
    const mandate = mandateFromPlan(plan([{ tool: 'email.send', args: { to: 'bob@example.com', cc: undefined } }, { tool: 'email.send' }]));
    assert.deepEqual(mandate.tools[0]!.args, { to: { oneOf: ['bob@example.com'] } });
  });

  it('limits: derived maxCalls is overridable, other limits pass through', () => {
    assert.deepEqual(mandateFromPlan(plan([{ tool: 'a.b' }], { limits: { maxCalls: 2, maxCallsPerMinute: 1 } })).limits, { maxCalls: 2, maxCallsPerMinute: 1 });
    assert.deepEqual(mandateFromPlan(plan([{ tool: 'a.b' }], { limits: { maxResultBytes: 10 } })).limits, { maxResultBytes: 10, maxCalls: PLAN_CALLS_PER_STEP });
    assert.equal(mandateFromPlan(plan([{ tool: 'a.b' }, { tool: 'a.b' }], { limits: { maxCalls: undefined } })).limits.maxCalls, 2 * PLAN_CALLS_PER_STEP);
  });

  it('refuses unknown fields, naming them', () => {
    assert.match(refusal({ ...RENT, tools: [] }), /unknown field `tools`/);
    assert.match(refusal(plan([{ tool: 'a.b', arguments: {} }])), /steps\.0: unknown field `arguments`/);
    assert.match(refusal(plan([{ tool: 'a.b', args: { n: { max: 1, maxx: 2 } } }])), /steps\.0\.args\.n: mixes constraint keys \(max\) with fields \(maxx\)/);
    assert.match(refusal(plan([{ tool: 'a.b' }], { limits: { calls: 1 } })), /limits: unknown field `calls`/);
  });

  it('refuses obviously wrong values with errors that name them', () => {
    assert.match(refusal(plan([{ tool: 'a.b', args: { to: '' } }])), /steps\.0\.args\.to: an empty string/);
    assert.match(refusal(plan([{ tool: 'a.b', args: { to: '  ' } }])), /steps\.0\.args\.to: an empty string/);
    assert.match(refusal(plan([{ tool: 'a.b', args: { n: Number.NaN } }])), /steps\.0\.args\.n: NaN is not a finite number/);
    assert.match(refusal(plan([{ tool: 'a.b', args: { n: Infinity } }])), /Infinity is not a finite number/);
    assert.match(refusal(plan([{ tool: 'a.b', args: { s: 'x'.repeat(5000) } }])), /steps\.0\.args\.s: a value longer than/);
    assert.match(refusal(plan([{ tool: 'a.b', args: { to: [] } }])), /steps\.0\.args\.to: an empty list/);
    assert.match(refusal(plan([{ tool: 'a.b', args: { to: ['ok', ''] } }])), /steps\.0\.args\.to\.1: an empty string/);
    assert.match(refusal(plan([{ tool: 'a.b', args: { to: [['x']] } }])), /steps\.0\.args\.to\.0: .*nested list/);
    assert.match(refusal(plan([{ tool: 'a.b', args: { to: null } }])), /steps\.0\.args\.to: null/);
    assert.match(refusal(plan([{ tool: 'a.b', args: { to: {} } }])), /an empty object/);
    assert.match(refusal(plan([{ tool: 'a.b', args: { 'a..b': 1 } }])), /empty segment/);
    assert.match(refusal(plan([{ tool: 'a.b', args: { p: { __proto__x: 1, constructor: 1 } } }])), /prototype/);
    assert.match(refusal(plan([{ tool: 'a.b', args: { n: { max: 'ten' } } }])), /steps\.0\.args\.n\.max:/);
    assert.match(refusal(plan([{ tool: 'a.b', args: { n: { pattern: '(' } } }])), /not a valid regular expression/);
    assert.match(refusal(plan([{ tool: 'a.b', args: { n: { optional: true } } }])), /needs at least one of/);
    assert.match(refusal(plan([{ tool: 'nodot' }])), /steps\.0\.tool: expected `<server>\.<tool>`/);
    assert.match(refusal(plan([])), /steps:/);
    assert.match(refusal({ steps: [{ tool: 'a.b' }] }), /purpose:/);
    assert.match(refusal(plan([{ tool: 'a.b', args: { to: Array.from({ length: 300 }, (_, i) => `u${i}@example.com`) } }])), /300 distinct values/);
  });

  it('refuses the same argument stated in incompatible ways across steps', () => {
    assert.match(refusal(plan([{ tool: 'email.send', args: { to: 'bob@example.com' } }, { tool: 'email.send', args: { to: ['carol@example.com'] } }])), /steps\.1\.args\.to: `to` of `email\.send` is a single value in step 0 and a list here/);
    assert.match(refusal(plan([{ tool: 'a.b', args: { n: { max: 1 } } }, { tool: 'a.b', args: { n: { max: 2 } } }])), /different constraint in step 0/);
    assert.match(refusal(plan([{ tool: 'a.b', args: { n: { max: 1 } } }, { tool: 'a.b', args: { n: 1 } }])), /a constraint in step 0 and a single value here/);
  });

  it('the example plan gives a valid mandate', () => {
    const example = JSON.parse(readFileSync(new URL('../../../examples/plans/send-report.json', import.meta.url), 'utf8'));
    assert.ok(MandateSchema.safeParse(mandateFromPlan(example)).success);
  });
});
