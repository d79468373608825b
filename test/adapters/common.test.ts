// What every adapter shares, without a framework: the call guard against a task
// that answers as scripted, and the renewing task against an agent that declares
// tasks on a clock the test moves.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { argsOf, exposedToolName, guardedCall, MandateRefusal, redactResult, refusalText, RenewingTask } from '../../src/adapters/common/index.js';
import { MandateApiError, type Decision, type MandateDeclaration, type TaskHandle } from '../../src/sdk/index.js';
import { until } from '../helpers.js';

const decision = (over: Partial<Decision> = {}): Decision => ({
  id: 'dec_1',
  outcome: 'allow',
  reason: { code: 'policy.permit', message: 'permitted' },
  layer: 'policy',
  policies: [],
  policyVersion: 1,
  stepUp: [],
  approvalId: null,
  drift: null,
  obligations: { redact: [] },
  taskId: 'tsk_1',
  agentId: 'agt_1',
  tool: 'files.read',
  callCount: 1,
  targets: [],
  atMs: 0,
  ...over,
});

type Report = { tool: string; outcome: Record<string, unknown> };

/** A task that decides as told and records what it is asked and told. */
function scriptedTask(answer: () => Promise<Decision>, opts: { reportFails?: boolean } = {}) {
  const reports: Report[] = [];
  const asked: { tool: string; args: Record<string, unknown>; waitMs: number | undefined }[] = [];
  const task = {
    id: 'tsk_1',
    credential: 'cred',
    expiresAtMs: Date.now() + 600_000,
    authorize: async (tool: string, args: Record<string, unknown>, o: { waitMs?: number } = {}) => {
      asked.push({ tool, args, waitMs: o.waitMs });
      return answer();
    },
    report: async (tool: string, outcome: Record<string, unknown>) => {
      if (opts.reportFails) throw new MandateApiError(401, 'credential.revoked', 'the task was revoked', undefined);
      reports.push({ tool, outcome });
    },
  } as unknown as TaskHandle;
  return { task, reports, asked };
}

describe('the call guard', () => {
  it('runs an allowed call, applies the redact obligation and reports the redacted content with labels and size', async () => {
    const { task, reports, asked } = scriptedTask(async () => decision({ obligations: { redact: ['email'] } }));
    const out = await guardedCall(task, 'crm.lookup', { id: 7 }, async () => ({ name: 'Ada', email: 'ada@example.com' }), { labels: ['confidential'], waitMs: 5 });
    assert.deepEqual(out, { ok: true, result: { name: 'Ada', email: '[redacted]' }, decision: decision({ obligations: { redact: ['email'] } }) });
    assert.deepEqual(asked, [{ tool: 'crm.lookup', args: { id: 7 }, waitMs: 5 }]);
    const content = { name: 'Ada', email: '[redacted]' };
    assert.deepEqual(reports, [{ tool: 'crm.lookup', outcome: { status: 'ok', decisionId: 'dec_1', args: { id: 7 }, bytes: JSON.stringify(content).length, labels: ['confidential'], content } }]);
  });

  it('refuses without running: deny, step-up, and a control plane that cannot be asked', async () => {
    let ran = 0;
    const run = async () => ++ran;
    const deny = await guardedCall(scriptedTask(async () => decision({ outcome: 'deny', reason: { code: 'mandate.arg_constraint', message: 'path: not under /srv/' } })).task, 'files.read', {}, run);
    assert.deepEqual(deny.ok ? undefined : deny.text, 'denied (mandate.arg_constraint): path: not under /srv/');
    const stepUp = await guardedCall(scriptedTask(async () => decision({ outcome: 'step_up', approvalId: 'apr_9', reason: { code: 'policy.step_up', message: 'a person must approve' } })).task, 'payments.create', {}, run);
    assert.deepEqual(stepUp.ok ? undefined : stepUp.text, 'approval required (policy.step_up): a person must approve; approval apr_9 waits for a person: make the same call again once it is approved');
    const down = await guardedCall(scriptedTask(async () => Promise.reject(new TypeError('fetch failed'))).task, 'files.read', {}, run);
    assert.equal(down.ok ? undefined : down.text, 'denied (request.unreachable): the control plane could not be asked, so nothing was decided: fetch failed');
    const refusedByApi = await guardedCall(scriptedTask(async () => Promise.reject(new MandateApiError(503, 'store.unreachable', 'the store is down', undefined))).task, 'files.read', {}, run);
    assert.match(refusedByApi.ok ? '' : refusedByApi.text, /^denied \(store\.unreachable\): /);
    assert.equal(ran, 0);
  });

  it('reports a tool that throws as an error and throws on; withholds a result it cannot report', async () => {
    const failing = scriptedTask(async () => decision());
    await assert.rejects(
      guardedCall(failing.task, 'files.read', { path: '/srv/a' }, async () => {
        throw new Error('disk on fire');
      }),
      /disk on fire/,
    );
    assert.deepEqual(failing.reports, [{ tool: 'files.read', outcome: { status: 'error', decisionId: 'dec_1', args: { path: '/srv/a' } } }]);

    let ran = 0;
    const unreported = await guardedCall(scriptedTask(async () => decision(), { reportFails: true }).task, 'files.read', {}, async () => `secret ${++ran}`);
    assert.equal(ran, 1);
    assert.equal(unreported.ok ? undefined : unreported.text, 'withheld (credential.revoked): the call ran, but its result could not be reported to the control plane, so it is not shown: credential.revoked: the task was revoked');
  });

  it('reports a large result, or one it is told to keep, by size only', async () => {
    const big = scriptedTask(async () => decision());
    await guardedCall(big.task, 'files.read', {}, async () => 'x'.repeat(2000), { maxReportBytes: 1000, labels: (r, a) => [`len-${String(r).length}`, ...Object.keys(a)] });
    assert.deepEqual(big.reports[0]!.outcome, { status: 'ok', decisionId: 'dec_1', args: {}, bytes: 2000, labels: ['len-2000'] });
    const kept = scriptedTask(async () => decision());
    await guardedCall(kept.task, 'files.read', {}, async () => 'private', { reportContent: false });
    assert.equal('content' in kept.reports[0]!.outcome, false);
  });

  it('takes its task from a function at each call', async () => {
    const { task, asked } = scriptedTask(async () => decision());
    let calls = 0;
    await guardedCall(() => (calls++, task), 'files.read', {}, async () => 'ok');
    assert.equal(calls, 1);
    assert.equal(asked.length, 1);
  });
});

describe('texts and names', () => {
  it('words refusals as the gateway does, and names tools as models accept them', () => {
    assert.equal(refusalText({ outcome: 'deny', approvalId: null, reason: { code: 'policy.forbid', message: 'no' } }), 'denied (policy.forbid): no');
    assert.equal(refusalText({ outcome: 'step_up', approvalId: null, reason: { code: 'policy.step_up', message: 'ask' } }), 'approval required (policy.step_up): ask');
    assert.equal(String(new MandateRefusal('denied (x.y): z', undefined)), 'denied (x.y): z');
    assert.equal(exposedToolName('calendar.create_event'), 'calendar_create_event');
    assert.equal(exposedToolName('everything.get-sum'), 'everything_get-sum');
    assert.deepEqual(argsOf({ a: 1 }), { a: 1 });
    assert.deepEqual(argsOf('q3'), { input: 'q3' });
    assert.deepEqual(argsOf(undefined), {});
  });

  it('redacts fields at any depth, inside JSON text, and withholds text it cannot read', () => {
    assert.deepEqual(redactResult({ a: { email: 'x', b: [{ email: 'y', c: 1 }] } }, ['email']), { a: { email: '[redacted]', b: [{ email: '[redacted]', c: 1 }] } });
    assert.equal(redactResult('{"email":"x","n":1}', ['email']), '{"email":"[redacted]","n":1}');
    assert.deepEqual(redactResult([{ type: 'text', text: '{"phone":"1"}' }], ['phone']), [{ type: 'text', text: '{"phone":"[redacted]"}' }]);
    assert.match(redactResult('call 555-1234', ['phone']), /^\[redacted\]: this text cannot be redacted field by field/);
    assert.equal(redactResult('plain text', []), 'plain text');
  });
});

/** An agent whose tasks live `ttlMs` on the test's clock, recording what it declared and what was completed. */
function clockedAgent(ttlMs: number) {
  const clock = { now: 0 };
  const log: string[] = [];
  let n = 0;
  let failNext = false;
  const agent = {
    async declare(_mandate: MandateDeclaration): Promise<TaskHandle> {
      if (failNext) {
        failNext = false;
        throw new MandateApiError(503, 'store.unreachable', 'down', undefined);
      }
      const id = `tsk_${++n}`;
      log.push(`declared ${id}`);
      return { id, credential: `cred_${id}`, expiresAtMs: clock.now + ttlMs, complete: async (reason?: string) => void log.push(`completed ${id}: ${reason}`) } as unknown as TaskHandle;
    },
  };
  return { agent, clock, log, failNextDeclare: () => (failNext = true) };
}

describe('the renewing task', () => {
  const mandate: MandateDeclaration = { purpose: 'p', tools: ['files.read'] };

  it('declares again when the credential nears expiry, once for concurrent calls, and completes the old task after its last call and the retire listeners', async () => {
    const { agent, clock, log } = clockedAgent(600_000);
    const task = await RenewingTask.declare(agent, mandate, { renewBeforeMs: 60_000, now: () => clock.now });
    task.onRetire((t) => void log.push(`retired ${t.id}`));
    assert.equal((await task.current()).id, 'tsk_1');
    clock.now = 500_000;
    assert.equal((await task.current()).id, 'tsk_1', '100 s left: kept');

    // A call in flight on tsk_1 while the clock passes the renewal point.
    let release!: () => void;
    const inFlight = task.use(async (t) => {
      await new Promise<void>((r) => (release = r));
      return t.id;
    });
    await new Promise((r) => setImmediate(r));
    clock.now = 550_000;
    const [a, b] = await Promise.all([task.current(), task.use(async (t) => t.id)]);
    assert.equal(a.id, 'tsk_2');
    assert.equal(b, 'tsk_2');
    assert.deepEqual(log, ['declared tsk_1', 'declared tsk_2'], 'one declaration for both calls; tsk_1 still has a call in flight');
    release();
    assert.equal(await inFlight, 'tsk_1');
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(log.slice(2), ['retired tsk_1', 'completed tsk_1: renewed: the same mandate was declared again']);

    await task.complete('all done');
    assert.deepEqual(log.slice(4), ['retired tsk_2', 'completed tsk_2: all done']);
    await assert.rejects(task.current(), /was completed/);
  });

  it('renews at half the lifetime when that comes later, and carries on with the current credential while a renewal fails', async () => {
    const { agent, clock, log, failNextDeclare } = clockedAgent(30_000);
    const task = await RenewingTask.declare(agent, mandate, { renewBeforeMs: 60_000, now: () => clock.now });
    assert.equal((await task.current()).id, 'tsk_1', 'a 30 s task is not renewed at once');
    clock.now = 16_000;
    failNextDeclare();
    assert.equal((await task.current()).id, 'tsk_1', 'the grant failed, the credential is still valid');
    assert.equal((await task.current()).id, 'tsk_2', 'the next call tries again');
    clock.now = 100_000;
    failNextDeclare();
    await assert.rejects(task.current(), /store\.unreachable/, 'past expiry a failed grant is an error');
    failNextDeclare();
    let ran = 0;
    const refused = await guardedCall(task, 'files.read', {}, async () => ++ran);
    assert.equal(refused.ok ? undefined : refused.text, 'denied (store.unreachable): no valid task credential to ask with: store.unreachable: down');
    assert.equal(ran, 0);
    assert.equal((await task.current()).id, 'tsk_3', 'the next grant goes through again');
    assert.deepEqual(log.filter((l) => l.startsWith('declared')), ['declared tsk_1', 'declared tsk_2', 'declared tsk_3']);
  });

  it('lets the agent renew its SVID while the task lives, so a quiet agent can still declare again', async () => {
    const { agent } = clockedAgent(600_000);
    let checks = 0;
    const task = await RenewingTask.declare({ ...agent, currentSvid: async () => `svid-${++checks}` }, mandate, { svidCheckMs: 10 });
    await until('two SVID checks', async () => (checks >= 2 ? true : undefined), 5_000, 10);
    await task.complete();
  });
});
