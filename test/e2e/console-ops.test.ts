import assert from 'node:assert/strict';
import { after, before, describe } from 'node:test';
import type { RunningServer } from '../../src/server/index.js';
import { ADMIN_TOKEN, grantTask, http, startTestServer } from '../helpers.js';
import { verifies } from './verifies.js';

const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const JWT = 'urn:ietf:params:oauth:token-type:jwt';
const READ = { name: 'files.read', args: { path: { prefix: '/srv/reports/' } } };

/**
 * What the operator console does and reads beyond the core API: suspending a task,
 * task and agent lists a page at a time, task trees, approval history, the report.
 */
describe('operator actions and lists for the console', () => {
  let server: RunningServer;
  const admin = (path: string, body?: unknown) => http(server.url, path, { token: ADMIN_TOKEN, ...(body === undefined ? {} : { body }) });
  const decide = async (credential: string, tool = 'files.read', args: Record<string, unknown> = { path: '/srv/reports/q3.csv' }) => (await http(server.url, '/v1/decide', { body: { credential, tool, args } })).body;

  before(async () => {
    server = await startTestServer({ MANDATE_TRUST_DOMAIN: 'example.test', MANDATE_MONITOR_DENIALS_PER_MINUTE: '1000' });
    // The agent report-bot delegates to in the task tree.
    assert.equal((await admin('/v1/agents', { name: 'researcher', groups: ['agents'], attestation: { joinToken: true } })).status, 201);
  });
  after(async () => server?.close());

  verifies('console:suspend-until-resumed', 'suspended: every call refused as monitor.suspended; resumed: allowed again; both recorded with who and why', async () => {
    const { taskId, credential } = await grantTask(server.url, 'report-bot', { purpose: 'read the q3 report', tools: [READ], ttlSeconds: 600 });
    assert.equal((await decide(credential)).outcome, 'allow');

    const suspended = await admin(`/v1/tasks/${taskId}/suspend`, { reason: 'reads more than it should' });
    assert.equal(suspended.status, 200, JSON.stringify(suspended.body));
    assert.equal(suspended.body.drift.suspendedBy, 'operator');
    for (const [tool, args] of [['files.read', { path: '/srv/reports/q3.csv' }], ['shell.exec', {}]] as const) {
      const refused = await decide(credential, tool, args);
      assert.deepEqual([refused.outcome, refused.reason.code, refused.layer], ['deny', 'monitor.suspended', 'monitor'], tool);
    }
    assert.equal((await admin(`/v1/tasks/${taskId}`)).body.drift.suspendedBy, 'operator', 'the task view shows it');

    const resumed = await admin(`/v1/tasks/${taskId}/resume`, { reason: 'checked with the owner' });
    assert.equal(resumed.body.drift.suspendedBy, null);
    assert.deepEqual([(await decide(credential)).outcome], ['allow']);

    await server.plane.audit.flush();
    const events = (await admin(`/v1/audit?task=${taskId}&type=monitor.suspended,monitor.resumed&order=asc`)).body.events;
    assert.deepEqual(
      events.map((e: { type: string; data: unknown }) => [e.type, e.data]),
      [
        ['monitor.suspended', { by: 'admin', reason: 'reads more than it should' }],
        ['monitor.resumed', { by: 'admin', reason: 'checked with the owner' }],
      ],
    );
  });

  verifies('console:suspend-until-resumed', 'suspending needs a reason, the operator role, and a task that has not ended', async () => {
    const { taskId, credential } = await grantTask(server.url, 'report-bot', { purpose: 'read the q3 report', tools: [READ], ttlSeconds: 600 });
    const noReason = await admin(`/v1/tasks/${taskId}/suspend`, { reason: '  ' });
    assert.deepEqual([noReason.status, noReason.body.error.code], [400, 'request.invalid']);
    const anonymous = await http(server.url, `/v1/tasks/${taskId}/suspend`, { body: { reason: 'x' } });
    assert.deepEqual([anonymous.status, anonymous.body.error.code], [401, 'request.unauthorized']);
    const asTask = await http(server.url, `/v1/tasks/${taskId}/suspend`, { token: credential, body: { reason: 'x' } });
    assert.equal(asTask.status, 401, 'a task credential is no operator');
    assert.equal((await decide(credential)).outcome, 'allow', 'refused attempts suspended nothing');
    const unknown = await admin('/v1/tasks/tsk_nosuchtask000/suspend', { reason: 'x' });
    assert.deepEqual([unknown.status, unknown.body.error.code], [404, 'request.not_found']);
    await admin(`/v1/tasks/${taskId}/complete`, {});
    const ended = await admin(`/v1/tasks/${taskId}/suspend`, { reason: 'x' });
    assert.deepEqual([ended.status, ended.body.error.code], [400, 'request.invalid']);
  });

  verifies('console:tasks-page-filter-tree', 'tasks filtered by agent, principal, status, parent and purpose, paged by cursor, and a task\'s tree of delegated tasks', async () => {
    const root = await grantTask(server.url, 'report-bot', { purpose: 'Compile the Q3 figures for the board', tools: [READ], onBehalfOf: 'erin', ttlSeconds: 600 });
    const exchanged = await fetch(`${server.url}/v1/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: TOKEN_EXCHANGE, subject_token: root.credential, subject_token_type: JWT, audience: 'spiffe://example.test/agent/researcher', mandate: JSON.stringify({ purpose: 'find the figures', tools: [READ], ttlSeconds: 300 }) }).toString(),
    });
    const child = (await exchanged.json()) as { task: { id: string }; access_token: string };
    assert.equal(exchanged.status, 200, JSON.stringify(child));
    const done = await grantTask(server.url, 'report-bot', { purpose: 'an unrelated chore', tools: [READ], onBehalfOf: 'erin', ttlSeconds: 600 });
    await admin(`/v1/tasks/${done.taskId}/complete`, { reason: 'finished' });
    await admin(`/v1/tasks/${child.task.id}/suspend`, { reason: 'hold on' });

    const ids = async (query: string) => ((await admin(`/v1/tasks?${query}`)).body.tasks as { id: string }[]).map((t) => t.id);
    assert.deepEqual(await ids('principal=erin'), [done.taskId, child.task.id, root.taskId], 'newest first; the child acts for its parent\'s principal');
    assert.deepEqual(await ids('principal=erin&q=q3%20FIGURES'), [root.taskId], 'purpose text, case folded');
    assert.deepEqual(await ids(`parent=${root.taskId}`), [child.task.id]);
    assert.deepEqual(await ids('principal=erin&agent=researcher'), [child.task.id]);
    assert.deepEqual(await ids('principal=erin&status=completed'), [done.taskId]);
    assert.deepEqual(await ids('principal=erin&status=active'), [child.task.id, root.taskId]);

    const listed = (await admin(`/v1/tasks?parent=${root.taskId}`)).body.tasks[0];
    assert.equal(listed.purpose, 'find the figures');
    assert.deepEqual([listed.principal, listed.parentTask, listed.delegationDepth, listed.status, listed.agent], ['erin', root.taskId, 1, 'active', 'researcher']);
    assert.equal(typeof listed.expiresAtMs, 'number');
    assert.deepEqual(listed.drift, { score: 0, signals: [], suspendedBy: 'operator' }, 'the stored drift summary, in the same answer');

    const seen: string[] = [];
    let cursor: string | null = null;
    for (let pages = 0; pages < 5; pages++) {
      const page: { tasks: { id: string }[]; nextCursor: string | null } = (await admin(`/v1/tasks?principal=erin&limit=2${cursor ? `&cursor=${cursor}` : ''}`)).body;
      seen.push(...page.tasks.map((t) => t.id));
      cursor = page.nextCursor;
      if (cursor === null) break;
    }
    assert.deepEqual(seen, [done.taskId, child.task.id, root.taskId], 'every task once, in order, across pages');
    assert.equal((await admin('/v1/tasks?cursor=not-a-cursor')).body.error.code, 'request.invalid');

    const tree = (await admin(`/v1/tasks/${root.taskId}/tree`)).body;
    assert.deepEqual([tree.nodes, tree.truncated, tree.tree.id, tree.tree.purpose], [2, false, root.taskId, 'Compile the Q3 figures for the board']);
    assert.deepEqual(
      tree.tree.children.map((c: { id: string; children: unknown[] }) => [c.id, c.children.length]),
      [[child.task.id, 0]],
    );
    assert.equal((await admin(`/v1/tasks/${child.task.id}/tree`)).body.tree.children.length, 0, 'a subtree starts at the task asked for');
    assert.equal((await admin('/v1/tasks/tsk_nosuchtask000/tree')).status, 404);
  });

  verifies('console:agents-seen-and-busy', 'agents by name, each with its last audit event and its live tasks; paged by cursor', async () => {
    const live = await grantTask(server.url, 'billing-bot', { purpose: 'pay the invoices', tools: [READ], ttlSeconds: 600 });
    const ended = await grantTask(server.url, 'billing-bot', { purpose: 'pay the invoices', tools: [READ], ttlSeconds: 600 });
    await admin(`/v1/tasks/${ended.taskId}/complete`, {});
    const before = Date.now();
    assert.equal((await decide(live.credential)).outcome, 'allow');
    await server.plane.audit.flush();

    const agents = (await admin('/v1/agents')).body.agents as { name: string; lastSeenMs: number | null; activeTasks: number }[];
    const billing = agents.find((a) => a.name === 'billing-bot')!;
    assert.equal(billing.activeTasks, 1, 'the completed task is not counted');
    assert.ok(billing.lastSeenMs !== null && billing.lastSeenMs >= before, 'the decision just made');
    const active = ((await admin('/v1/tasks?agent=report-bot&status=active&limit=1000')).body.tasks as unknown[]).length;
    assert.equal(agents.find((a) => a.name === 'report-bot')!.activeTasks, active);
    assert.deepEqual(agents.map((a) => a.name), [...agents.map((a) => a.name)].sort());

    const names: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { agents: { name: string }[]; nextCursor: string | null } = (await admin(`/v1/agents?limit=1${cursor ? `&cursor=${cursor}` : ''}`)).body;
      names.push(...page.agents.map((a) => a.name));
      cursor = page.nextCursor;
    } while (cursor !== null && names.length <= agents.length);
    assert.deepEqual(names, agents.map((a) => a.name));
  });

  verifies('console:approvals-history-pages', 'approval requests paged newest first, or oldest first; cancelled with their task, naming how it ended', async () => {
    const { taskId, credential } = await grantTask(server.url, 'report-bot', { purpose: 'pay three suppliers', tools: [READ, 'payments.create'], ttlSeconds: 600 });
    for (const amount of [10, 20, 30]) assert.equal((await decide(credential, 'payments.create', { amount })).outcome, 'step_up');
    const pending = (await admin(`/v1/approvals?task=${taskId}&status=pending`)).body.approvals as { id: string; createdAtMs: number }[];
    assert.equal(pending.length, 3);
    // The queue by who has waited longest, one page at a time.
    const first = (await admin(`/v1/approvals?task=${taskId}&status=pending&order=oldest&limit=2`)).body;
    const second = (await admin(`/v1/approvals?task=${taskId}&status=pending&order=oldest&limit=2&cursor=${first.nextCursor}`)).body;
    assert.deepEqual([...first.approvals, ...second.approvals].map((a: { id: string }) => a.id), pending.map((a) => a.id).reverse());
    assert.equal(second.nextCursor, null);
    assert.equal((await admin(`/v1/approvals?order=sideways`)).status, 400);

    await admin(`/v1/tasks/${taskId}/complete`, { reason: 'paid by hand' });
    const pages: string[][] = [];
    let cursor: string | null = null;
    do {
      const page: { approvals: { id: string; status: string; reason: string }[]; nextCursor: string | null } = (await admin(`/v1/approvals?task=${taskId}&status=cancelled&limit=2${cursor ? `&cursor=${cursor}` : ''}`)).body;
      pages.push(page.approvals.map((a) => a.id));
      for (const a of page.approvals) assert.deepEqual([a.status, a.reason], ['cancelled', 'task completed: paid by hand']);
      cursor = page.nextCursor;
    } while (cursor !== null && pages.length < 5);
    assert.deepEqual(pages.map((p) => p.length), [2, 1]);
    assert.deepEqual(pages.flat(), pending.map((a) => a.id), 'the same requests, newest first, each once');
    assert.deepEqual((await admin(`/v1/approvals?task=${taskId}&status=pending`)).body.approvals, [], 'no longer offered');
  });

  verifies('console:report-over-api', 'the compliance report over the API: controls and gaps, the decisions of the trail, a window, and Markdown', async () => {
    await server.plane.audit.flush();
    const decisions = ((await admin('/v1/audit?type=decision&limit=1000')).body.events as unknown[]).length;
    const report = await admin('/v1/report');
    assert.equal(report.status, 200, JSON.stringify(report.body));
    assert.ok(report.body.controls.length >= 8);
    assert.equal(report.body.summary.gaps, report.body.controls.reduce((n: number, c: { gaps: unknown[] }) => n + c.gaps.length, 0));
    assert.ok(decisions > 0);
    assert.equal(report.body.trail.decisions.total, decisions, 'every decision recorded so far');
    assert.deepEqual(report.body.period, { since: null, until: null });

    const later = Date.now() + 60_000;
    const empty = (await admin(`/v1/report?sinceMs=${later}`)).body;
    assert.deepEqual([empty.trail.events, empty.period.since], [0, new Date(later).toISOString()]);
    // Every task here was granted for 600 s.
    const strict = (await admin('/v1/report?maxTaskTtlSeconds=60')).body;
    assert.equal(strict.thresholds.maxTaskTtlSeconds, 60);
    const granted = (c: { gaps: { kind: string }[] }) => c.gaps.filter((g) => g.kind === 'long_task_ttl_granted').length;
    assert.ok(strict.controls.map(granted).reduce((a: number, b: number) => a + b) > 0, 'a threshold from the query applies');
    assert.equal(report.body.controls.map(granted).reduce((a: number, b: number) => a + b), 0);

    const md = await admin('/v1/report?format=md');
    assert.match(md.text, /^# /);
    assert.match(String((await fetch(`${server.url}/v1/report?format=md`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).headers.get('content-type')), /^text\/markdown/);
    assert.equal((await admin(`/v1/report?sinceMs=${later}&untilMs=${later}`)).body.error.code, 'request.invalid');
    assert.equal((await http(server.url, '/v1/report')).status, 401);
  });
});
