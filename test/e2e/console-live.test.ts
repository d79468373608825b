import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe } from 'node:test';
import { startServer, type RunningServer } from '../../src/server/index.js';
import type { Change, ChangeFeed } from '../../src/store/index.js';
import * as Api from '../../src/server/api-schemas.js';
import { ADMIN_TOKEN, ROOT, dropPostgresSchema, grantTask, http, postgresUrl, testConfig, until } from '../helpers.js';
import { verifies } from './verifies.js';

const MANDATE = {
  purpose: 'compile the quarterly report',
  tools: [
    { name: 'files.read', args: { path: { prefix: '/srv/reports/' } } },
    { name: 'payments.create', args: { amount: { max: 500 } } },
  ],
  limits: { maxCalls: 50 },
  ttlSeconds: 900,
};

const decide = async (url: string, credential: string, tool: string, args: Record<string, unknown>) => (await http(url, '/v1/decide', { body: { credential, tool, args } })).body as Api.ApiDecision;
const admin = (url: string, path: string, body?: unknown) => http(url, path, { token: ADMIN_TOKEN, ...(body === undefined ? {} : { body }) });

interface SseEvent {
  event: string;
  id: string | undefined;
  data: string;
}

/** A live decision stream read with fetch's body reader, as a browser's EventSource would read it. */
async function openStream(url: string, query = '', lastEventId?: string) {
  const abort = new AbortController();
  const res = await fetch(`${url}/v1/decisions/stream${query}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...(lastEventId ? { 'last-event-id': lastEventId } : {}) }, signal: abort.signal });
  const events: SseEvent[] = [];
  let lastId: string | undefined;
  let buffer = '';
  let ended = false;
  const pump = (async () => {
    if (!res.body || !res.ok) return;
    const decoder = new TextDecoder();
    try {
      for await (const chunk of res.body) {
        buffer += decoder.decode(chunk as Uint8Array, { stream: true });
        for (let at = buffer.indexOf('\n\n'); at !== -1; at = buffer.indexOf('\n\n')) {
          const block = buffer.slice(0, at);
          buffer = buffer.slice(at + 2);
          const e: SseEvent = { event: 'message', id: undefined, data: '' };
          for (const line of block.split('\n')) {
            if (line.startsWith('event: ')) e.event = line.slice(7);
            else if (line.startsWith('id: ')) e.id = lastId = line.slice(4);
            else if (line.startsWith('data: ')) e.data += line.slice(6);
          }
          if (e.data !== '') events.push(e);
        }
      }
    } catch {
      // aborted
    }
    ended = true;
  })();
  return {
    res,
    events,
    lastId: () => lastId,
    ended: () => ended,
    /** The decision records received so far. */
    decisions: () => events.filter((e) => e.event === 'decision').map((e) => ({ id: e.id!, record: JSON.parse(e.data) as { segment: string; seq: number; data: { decisionId: string; outcome: string; code: string } } })),
    /** Waits for the decision with this id; fails after a bound rather than sleeping. */
    async decision(decisionId: string, timeoutMs = 10_000) {
      return until(`decision ${decisionId} on the stream`, async () => this.decisions().find((d) => d.record.data.decisionId === decisionId), timeoutMs, 20);
    },
    async close() {
      abort.abort();
      await pump;
    },
  };
}

describe('console read API on one replica', () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer(testConfig({ MANDATE_CONSOLE_STREAM_POLL_MS: '100' }));
  });
  after(async () => server?.close());

  verifies('console:overview-counts', 'the overview counts what the trail and the store hold', async () => {
    const { credential, taskId } = await grantTask(server.url, 'report-bot', MANDATE);
    for (const path of ['/srv/reports/q1.csv', '/srv/reports/q2.csv']) assert.equal((await decide(server.url, credential, 'files.read', { path })).outcome, 'allow');
    for (const path of ['/etc/shadow', '/etc/passwd', '/root/.ssh/id_rsa']) assert.equal((await decide(server.url, credential, 'files.read', { path })).reason.code, 'mandate.arg_constraint');
    assert.equal((await decide(server.url, credential, 'payments.create', { amount: 120 })).outcome, 'step_up');

    const res = await admin(server.url, '/v1/overview?windowMinutes=10&bucketSeconds=30');
    assert.equal(res.status, 200, res.text);
    const o = Api.Overview.parse(res.body);
    const trail = (await admin(server.url, `/v1/audit?type=decision&task=${taskId}&limit=1000`)).body.events as { data: { outcome: 'allow' | 'deny' | 'step_up'; code: string } }[];
    const byOutcome = { allow: 0, deny: 0, step_up: 0 };
    for (const e of trail) byOutcome[e.data.outcome] += 1;
    assert.deepEqual(byOutcome, { allow: 2, deny: 3, step_up: 1 });
    assert.deepEqual(o.decisionsLastMinute, byOutcome);
    assert.equal(o.series.length, 20, '10 minutes in 30-second buckets');
    assert.ok(o.series.every((b, i) => i === 0 || b.startMs - o.series[i - 1]!.startMs === 30_000));
    const summed = o.series.reduce((s, b) => ({ allow: s.allow + b.allow, deny: s.deny + b.deny, step_up: s.step_up + b.step_up }), { allow: 0, deny: 0, step_up: 0 });
    assert.deepEqual(summed, byOutcome);
    assert.deepEqual(o.topReasons, [
      { code: 'mandate.arg_constraint', count: 3 },
      { code: 'policy.step_up', count: 1 },
    ]);
    assert.equal(o.approvals.pending, 1);
    assert.deepEqual(o.tasks, { active: 1, suspended: 0 });
    const agents = (await admin(server.url, '/v1/agents')).body.agents as unknown[];
    assert.deepEqual(o.agents, { registered: agents.length, disabled: 0 });
    const signals = (await admin(server.url, '/v1/audit?type=monitor.signal')).body.events as unknown[];
    assert.ok(signals.length > 0, 'three denials in a minute fire a signal');
    assert.equal(o.driftAlerts, signals.length);
    assert.deepEqual(o.health.store, { kind: 'sqlite', available: true });
    assert.equal((await http(server.url, '/v1/overview')).status, 401, 'a viewer at least');
    assert.equal((await admin(server.url, '/v1/overview?windowMinutes=10080&bucketSeconds=1')).body.error.code, 'request.invalid', 'too many buckets');
  });

  verifies('console:decision-detail', 'one decision with the source of the policy that decided it and its task', async () => {
    const { credential, taskId } = await grantTask(server.url, 'report-bot', MANDATE);
    const d = await decide(server.url, credential, 'payments.create', { amount: 130 });
    assert.equal(d.outcome, 'step_up');
    const res = await admin(server.url, `/v1/decisions/${d.id}`);
    assert.equal(res.status, 200, res.text);
    const detail = Api.DecisionDetail.parse(res.body);
    assert.equal(detail.record.type, 'decision');
    assert.equal(detail.record.data['decisionId'], d.id);
    assert.equal(detail.policyVersion, d.policyVersion);
    assert.equal(detail.sourceUnavailable, false);
    assert.deepEqual(detail.policies.map((p) => [p.id, p.file]), [['step-up-sensitive-actions', 'step-up.cedar']]);
    const policy = detail.policies[0]!;
    assert.match(policy.text ?? '', /^@id\("step-up-sensitive-actions"\)[\s\S]*forbid \(/);
    const fileLines = readFileSync(join(ROOT, 'examples/policies/step-up.cedar'), 'utf8').split('\n');
    assert.equal(fileLines[policy.line! - 1], policy.text!.split('\n')[0], 'the line is where the policy starts in its file');
    assert.deepEqual(detail.task, { id: taskId, purpose: MANDATE.purpose, agent: 'report-bot', agentId: detail.task!.agentId, principal: null, status: 'active', trail: `/v1/tasks/${taskId}/trail` });
    assert.equal((await admin(server.url, detail.task!.trail)).status, 200);

    const denied = await decide(server.url, credential, 'files.read', { path: '/etc/shadow' });
    const noPolicy = Api.DecisionDetail.parse((await admin(server.url, `/v1/decisions/${denied.id}`)).body);
    assert.deepEqual([noPolicy.policies, noPolicy.sourceUnavailable, noPolicy.policyVersion], [[], false, null], 'refused by the mandate: no policy decided it');
    assert.equal((await admin(server.url, '/v1/decisions/dcn_nosuchdecision01')).body.error.code, 'request.not_found');
    assert.equal((await admin(server.url, '/v1/decisions/not-an-id')).status, 404);
  });

  verifies('console:what-if-no-effect', 'what-ifs leave the trail, the call count, approvals and drift as they were, and answer as a real decision does', async () => {
    const { credential, taskId } = await grantTask(server.url, 'report-bot', MANDATE);
    assert.equal((await decide(server.url, credential, 'files.read', { path: '/srv/reports/q0.csv' })).outcome, 'allow');
    const calls: [string, Record<string, unknown>][] = [
      ['files.read', { path: '/srv/reports/q3.csv' }],
      ['files.read', { path: '/etc/shadow' }],
      ['payments.create', { amount: 120 }],
      ['payments.create', { amount: 900 }],
      ['shell.exec', { command: 'id' }],
      ['no.such_tool', {}],
    ];
    const state = async () => {
      const task = (await admin(server.url, `/v1/tasks/${taskId}`)).body;
      return {
        decisions: (await admin(server.url, `/v1/audit?type=decision&task=${taskId}&limit=1000`)).body.events.length,
        trail: (await admin(server.url, `/v1/audit?task=${taskId}&limit=1000`)).body.events.length,
        callCount: task.callCount,
        drift: task.drift,
        approvals: (await admin(server.url, `/v1/approvals?task=${taskId}`)).body.approvals.length,
      };
    };
    const whatIfsBefore = (await admin(server.url, '/v1/audit?type=policy.what_if&limit=1000')).body.events.length;
    const before = await state();
    const answers: Api.ApiDecision[] = [];
    for (let round = 0; round < 3; round++) {
      for (const [tool, args] of calls) {
        const res = await admin(server.url, '/v1/what-if', { task: taskId, tool, args });
        assert.equal(res.status, 200, res.text);
        const w = Api.WhatIf.parse(res.body);
        assert.equal(w.recorded, false);
        if (round === 0) answers.push({ ...w, policies: w.policies.map((p) => p.id), policyVersion: w.policyVersion });
      }
    }
    assert.deepEqual(await state(), before, 'nothing the task has or did changed: no decision, count, approval or drift');
    const recorded = (await admin(server.url, '/v1/audit?type=policy.what_if&limit=1000')).body.events as { data: Record<string, unknown> }[];
    assert.equal(recorded.length - whatIfsBefore, calls.length * 3, 'each what-if is recorded as itself');
    assert.deepEqual(Object.keys(recorded[0]!.data).sort(), ['agent', 'by', 'code', 'outcome', 'policyVersion', 'task', 'tool'], 'never the arguments');
    assert.equal(recorded[0]!.data['by'], 'admin');

    // The same calls decided for real, each right after its what-if: the answers agree.
    for (const [tool, args] of calls) {
      const w = Api.WhatIf.parse((await admin(server.url, '/v1/what-if', { task: taskId, tool, args })).body);
      const real = await decide(server.url, credential, tool, args);
      const gist = (d: Omit<Api.ApiDecision, 'policies'> & { policies: string[] }) => ({ outcome: d.outcome, code: d.reason.code, layer: d.layer, policies: d.policies, policyVersion: d.policyVersion, stepUp: d.stepUp, redact: d.obligations.redact, targets: d.targets });
      assert.deepEqual(gist({ ...w, policies: w.policies.map((p) => p.id) }), gist(real), `${tool} ${JSON.stringify(args)}`);
      assert.equal(w.callCount, null, 'nothing was counted');
    }
    assert.deepEqual(
      answers.map((d) => d.reason.code),
      ['policy.permit', 'mandate.arg_constraint', 'policy.step_up', 'mandate.arg_constraint', 'mandate.tool_not_declared', 'mandate.tool_not_declared'],
    );
    const stepUp = Api.WhatIf.parse((await admin(server.url, '/v1/what-if', { task: taskId, tool: 'payments.create', args: { amount: 50 } })).body);
    assert.deepEqual(stepUp.policies.map((p) => p.id), ['step-up-sensitive-actions'], 'with the source of the determining policy');
    assert.match(stepUp.policies[0]!.text ?? '', /forbid/);
  });

  verifies('console:what-if-no-effect', 'a what-if for a mandate given whole creates no task and decides as that mandate would', async () => {
    const tasksBefore = (await admin(server.url, '/v1/tasks?limit=1000')).body.tasks.length;
    const ask = (tool: string, args: Record<string, unknown>) => admin(server.url, '/v1/what-if', { mandate: MANDATE, agent: 'report-bot', tool, args });
    assert.equal(Api.WhatIf.parse((await ask('files.read', { path: '/srv/reports/a.csv' })).body).reason.code, 'policy.permit');
    assert.equal(Api.WhatIf.parse((await ask('files.read', { path: '/etc/a' })).body).reason.code, 'mandate.arg_constraint');
    assert.equal(Api.WhatIf.parse((await ask('payments.create', { amount: 10 })).body).reason.code, 'policy.step_up');
    // Without a task or a mandate: the ceiling's answer, for the agent named or for an agent in no group.
    const ceiling = async (body: Record<string, unknown>) => Api.WhatIf.parse((await admin(server.url, '/v1/what-if', body)).body).reason.code;
    assert.equal(await ceiling({ agent: 'report-bot', tool: 'files.read', args: { path: '/etc/a' } }), 'policy.permit', 'no mandate constraint: the ceiling permits the agents group');
    assert.equal(await ceiling({ tool: 'files.read', args: { path: '/srv/reports/a.csv' } }), 'policy.no_permit', 'an agent in no group gets no permit');
    assert.equal(await ceiling({ agent: 'report-bot', tool: 'shell.exec', args: { command: 'id' } }), 'policy.forbid');
    assert.equal((await admin(server.url, '/v1/tasks?limit=1000')).body.tasks.length, tasksBefore, 'no task was created');
    assert.equal((await admin(server.url, '/v1/approvals?status=pending')).body.approvals.filter((a: { tool: string; args: { amount?: number } }) => a.args.amount === 10).length, 0, 'no approval was opened');
    assert.equal((await admin(server.url, '/v1/what-if', { task: 'tsk_nosuchtask0001', mandate: MANDATE, tool: 'files.read', args: {} })).body.error.code, 'request.invalid', 'a task or a mandate, not both');
    assert.equal((await admin(server.url, '/v1/what-if', { mandate: MANDATE, agent: 'nobody-here', tool: 'files.read', args: {} })).body.error.code, 'identity.agent_unknown');
    assert.equal((await admin(server.url, '/v1/what-if', { task: 'tsk_nosuchtask0001', tool: 'files.read', args: {} })).body.error.code, 'request.not_found');
    assert.equal((await http(server.url, '/v1/what-if', { body: { mandate: MANDATE, agent: 'report-bot', tool: 'files.read', args: {} } })).status, 401);
  });
});

describe('live decision streams, bounded per replica', () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer(testConfig({ MANDATE_CONSOLE_MAX_STREAMS: '2', MANDATE_CONSOLE_STREAM_POLL_MS: '100' }));
  });
  after(async () => server?.close());

  verifies('console:stream-bounded', 'one stream more than console.maxStreams is refused with 503, and a closed one frees its place', async () => {
    const first = await openStream(server.url);
    const second = await openStream(server.url);
    assert.deepEqual([first.res.status, second.res.status], [200, 200]);
    assert.match(first.res.headers.get('content-type') ?? '', /^text\/event-stream/);
    const third = await fetch(`${server.url}/v1/decisions/stream`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    assert.equal(third.status, 503);
    assert.equal(((await third.json()) as { error: { code: string } }).error.code, 'request.too_many_streams');
    await first.close();
    const again = await until(
      'a place to free up',
      async () => {
        const s = await openStream(server.url);
        if (s.res.status === 200) return s;
        await s.close();
        return undefined;
      },
      5000,
    );
    await again.close();
    await second.close();
    assert.equal((await http(server.url, '/v1/decisions/stream')).status, 401, 'a viewer at least');
  });
});

/** The change feed replicas on one SQLite file share in one process (what the primary relays for workers). */
function sharedFeed(): ChangeFeed {
  const listeners: ((c: Change) => void)[] = [];
  return { publish: async (c) => listeners.forEach((l) => l(c)), subscribe: (l) => void listeners.push(l), close: async () => undefined };
}

const PG = postgresUrl();
const stores: { name: string; env: () => Record<string, string>; shared: boolean; cleanup: () => Promise<void> }[] = [];
{
  const dir = mkdtempSync(join(tmpdir(), 'mandate-console-'));
  stores.push({ name: 'one SQLite file', env: () => ({ MANDATE_STORE_URL: `file:${join(dir, 'm.db')}` }), shared: true, cleanup: async () => rmSync(dir, { recursive: true, force: true }) });
}
if (PG) {
  const schema = `mandate_console_${process.pid}_${Date.now()}`;
  stores.push({ name: 'one PostgreSQL', env: () => ({ MANDATE_STORE_URL: `${PG}${PG.includes('?') ? '&' : '?'}schema=${schema}`, MANDATE_STORE_ANSWER_WITHIN_MS: '2000' }), shared: false, cleanup: () => dropPostgresSchema(PG, schema) });
}

for (const store of stores) {
  describe(`live decision streams across two replicas on ${store.name}`, () => {
    let a: RunningServer;
    let b: RunningServer;
    before(async () => {
      const feed = sharedFeed();
      const opts = store.shared ? { sharedStore: { changes: feed } } : {};
      a = await startServer(testConfig({ ...store.env(), MANDATE_AUDIT_SEGMENT: 'replica-a', MANDATE_CONSOLE_STREAM_POLL_MS: '100' }), opts);
      b = await startServer(testConfig({ ...store.env(), MANDATE_AUDIT_SEGMENT: 'replica-b', MANDATE_CONSOLE_STREAM_POLL_MS: '100' }), opts);
    });
    after(async () => {
      await b?.close();
      await a?.close();
      await store.cleanup();
    });

    verifies('console:stream-live-and-replicas', 'decisions of both replicas arrive on a stream of one, filtered, and resume after Last-Event-ID', async () => {
      const { credential, taskId } = await grantTask(a.url, 'report-bot', MANDATE);
      const all = await openStream(a.url);
      const denials = await openStream(a.url, `?outcome=deny&task=${taskId}`);
      assert.equal(all.res.status, 200);
      await until('the stream to start', async () => all.lastId(), 5000, 20);

      const onA = await decide(a.url, credential, 'files.read', { path: '/srv/reports/a.csv' });
      const onB = await decide(b.url, credential, 'files.read', { path: '/etc/shadow' });
      assert.deepEqual([onA.outcome, onB.outcome], ['allow', 'deny']);
      const seenA = await all.decision(onA.id);
      const seenB = await all.decision(onB.id);
      assert.deepEqual([seenA.record.segment, seenB.record.segment], ['replica-a', 'replica-b'], 'B’s decision, from B’s segment, on A’s stream');
      const asStored = (await admin(a.url, `/v1/audit?type=decision&task=${taskId}`)).body.events.find((e: { data: { decisionId: string } }) => e.data.decisionId === onB.id);
      assert.deepEqual(seenB.record, asStored, 'each record as GET /v1/audit returns it');
      await denials.decision(onB.id);
      assert.deepEqual(denials.decisions().map((d) => d.record.data.decisionId), [onB.id], 'the filtered stream has only the denial');

      // Resume: the stream is gone while decisions are made on both replicas; nothing is lost or repeated.
      const resumeFrom = all.decisions().at(-1)!.id;
      await all.close();
      await denials.close();
      const missed = [await decide(b.url, credential, 'files.read', { path: '/srv/reports/b.csv' }), await decide(a.url, credential, 'files.read', { path: '/srv/reports/c.csv' })];
      const resumed = await openStream(a.url, '', resumeFrom);
      for (const d of missed) await resumed.decision(d.id);
      const later = await decide(b.url, credential, 'files.read', { path: '/srv/reports/d.csv' });
      await resumed.decision(later.id);
      const ids = resumed.decisions().map((d) => d.record.data.decisionId);
      assert.deepEqual(ids.sort(), [...missed.map((d) => d.id), later.id].sort(), 'exactly the decisions after Last-Event-ID');
      await resumed.close();
      const garbage = await fetch(`${a.url}/v1/decisions/stream`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'last-event-id': 'garbage!' } });
      assert.equal(garbage.status, 400, 'an id this stream never sent');
    });
  });
}
