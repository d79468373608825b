import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe } from 'node:test';
import { AuditPage, TaskTrail } from '../../src/server/api-schemas.js';
import type { ApiAuditPage, RunningServer } from '../../src/server/index.js';

type AuditEvent = ApiAuditPage['events'][number];
import { ADMIN_TOKEN, grantTask, http, runCli, startTestServer } from '../helpers.js';
import { verifies } from './verifies.js';

/**
 * Reading the trail back: search with filters and a cursor, one task's trail with
 * its delegated tasks, and exports that verify on their own, over a server that
 * decided calls for two principals, one of them through a delegated task.
 */
describe('the audit trail read back', () => {
  let server: RunningServer;
  let dir: string;
  const tasks = { alice: '', child: '', bob: '' };
  /** A task whose calls are made while a search pages through the trail. */
  let busy = '';
  const decisions: Record<string, string> = {};

  const decide = async (credential: string, tool: string, args: Record<string, unknown> = { path: '/srv/reports/q3.csv' }) => {
    const res = await http(server.url, '/v1/decide', { body: { credential, tool, args } });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body as { id: string; outcome: string };
  };
  const search = async (query: string) => {
    const res = await http(server.url, `/v1/audit?${query}`, { token: ADMIN_TOKEN });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return AuditPage.parse(res.body);
  };
  /** Every event matching `query`, oldest first, in one page. */
  const all = async (query = '') => (await search(`order=asc&limit=1000&${query}`)).events;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mandate-audit-trail-'));
    server = await startTestServer();
    const alice = await grantTask(server.url, 'report-bot', { purpose: 'compile the quarterly report', tools: ['files.read'], onBehalfOf: 'alice', ttlSeconds: 600 });
    assert.equal(alice.status, 201, JSON.stringify(alice.body));
    tasks.alice = alice.taskId;
    decisions.read = (await decide(alice.credential, 'files.read')).id;
    // The enforcement point reports what came back: confidential content, which the next decision knows of.
    const reported = await http(server.url, `/v1/tasks/${alice.taskId}/results`, { token: alice.credential, body: { tool: 'files.read', decisionId: decisions.read, status: 'ok', bytes: 120, labels: ['confidential'] } });
    assert.equal(reported.status, 202, JSON.stringify(reported.body));
    decisions.write = (await decide(alice.credential, 'files.write')).id;
    const child = await grantTask(server.url, 'report-bot', { purpose: 'read one figure', tools: ['files.read'], parentTask: alice.taskId, ttlSeconds: 300 });
    assert.equal(child.status, 201, JSON.stringify(child.body));
    tasks.child = child.taskId;
    decisions.childRead = (await decide(child.credential, 'files.read')).id;
    // Reported without the decision id: it still belongs to the child's allowed read.
    await http(server.url, `/v1/tasks/${child.taskId}/results`, { token: child.credential, body: { tool: 'files.read', status: 'error', bytes: 0 } });
    const bob = await grantTask(server.url, 'billing-bot', { purpose: 'check an invoice', tools: ['files.read'], onBehalfOf: 'bob', ttlSeconds: 600 });
    tasks.bob = bob.taskId;
    decisions.bobRead = (await decide(bob.credential, 'files.read')).id;
    decisions.bobDelete = (await decide(bob.credential, 'files.delete')).id;
    busy = (await grantTask(server.url, 'report-bot', { purpose: 'keep busy', tools: ['files.read'], ttlSeconds: 600 })).credential;
  });
  after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  verifies('audit:query', 'search by agent, principal, task, outcome, reason, tool, type and time, paged by an opaque cursor', async () => {
    assert.equal((await http(server.url, '/v1/audit')).status, 401);
    const ids = (events: AuditEvent[]) => events.map((e) => (e.data.decisionId as string | undefined) ?? e.type);
    // The principal is the task's, and a delegated task acts for its parent's.
    assert.deepEqual(new Set((await all('principal=alice')).map((e) => e.taskId)), new Set([tasks.alice, tasks.child]));
    assert.deepEqual(ids(await all('agent=billing-bot&outcome=allow')), [decisions.bobRead]);
    assert.deepEqual(ids(await all('agent=report-bot&outcome=allow&type=decision')), [decisions.read, decisions.childRead]);
    const billingBot = (await all('agent=billing-bot'))[0]!.agentId!;
    assert.deepEqual(ids(await all(`agent=${billingBot}&outcome=allow`)), [decisions.bobRead], 'an agent by id as by name');
    assert.deepEqual(ids(await all(`task=${tasks.alice}&type=decision`)), [decisions.read, decisions.write]);
    assert.deepEqual(ids(await all('reason=mandate.tool_not_declared&type=decision')), [decisions.write, decisions.bobDelete]);
    // A reason code is found wherever it is recorded: the drift signal a refusal fired names it too.
    const byReason = await all('reason=mandate.tool_not_declared');
    assert.deepEqual([...new Set(ids(byReason))], [decisions.write, decisions.bobDelete]);
    assert.deepEqual([...new Set(byReason.map((e) => e.type))].sort(), ['decision', 'monitor.signal']);
    assert.deepEqual((await all('tool=files.read&type=tool.result')).map((e) => e.taskId), [tasks.alice, tasks.child]);
    assert.deepEqual((await all(`type=task.granted,task.completed&principal=bob`)).map((e) => e.type), ['task.granted']);
    const bobEvents = await all(`task=${tasks.bob}`);
    const since = bobEvents.find((e) => e.data.decisionId === decisions.bobRead)!.atMs;
    const window = await all(`task=${tasks.bob}&sinceMs=${since}&untilMs=${since + 1}`);
    assert.ok(window.length >= 1 && window.every((e) => e.atMs === since), 'since inclusive, until exclusive');
    assert.deepEqual(await all('outcome=allow&reason=mandate.tool_not_declared'), [], 'every filter must hold');

    // Pages of three, with events recorded between pages: each event exactly once, in order.
    for (const order of ['asc', 'desc'] as const) {
      const before = await search(`order=${order}&limit=1000`);
      const seen: AuditEvent[] = [];
      let cursor: string | null = null;
      for (let page = 0; ; page++) {
        const res: { events: AuditEvent[]; nextCursor: string | null } = await search(`order=${order}&limit=3${cursor ? `&cursor=${cursor}` : ''}`);
        seen.push(...res.events);
        if (page === 1) await decide(busy, 'files.read');
        cursor = res.nextCursor;
        if (!cursor) break;
      }
      const key = (e: AuditEvent) => `${e.segment}/${e.seq}`;
      assert.equal(new Set(seen.map(key)).size, seen.length, `${order}: no event twice`);
      for (const e of before.events) assert.ok(seen.some((s) => key(s) === key(e)), `${order}: ${key(e)} not skipped`);
      const order1 = seen.map((e) => [e.atMs, e.segment, e.seq] as const);
      const sorted = [...order1].sort((a, b) => a[0] - b[0] || a[1].localeCompare(b[1]) || a[2] - b[2]);
      assert.deepEqual(order1, order === 'asc' ? sorted : sorted.reverse(), `${order}: in (time, segment, seq) order`);
    }
    const first = await search('order=asc&limit=2');
    const other = await http(server.url, `/v1/audit?order=asc&limit=2&outcome=deny&cursor=${first.nextCursor}`, { token: ADMIN_TOKEN });
    assert.deepEqual([other.status, other.body.error.code], [400, 'request.invalid']);
    assert.equal((await http(server.url, '/v1/audit?cursor=bm90IGEgY3Vyc29y', { token: ADMIN_TOKEN })).status, 400);
    assert.equal((await http(server.url, '/v1/audit?type=decision,nonsense', { token: ADMIN_TOKEN })).body.error.message, 'query: type `nonsense` is not an audit event type');
    assert.equal((await http(server.url, '/v1/audit?agent=nobody', { token: ADMIN_TOKEN })).body.error.code, 'identity.agent_unknown');
  });

  verifies('audit:task-trail', 'a task\'s purpose, calls with decisions and results, and its delegated task, in order', async () => {
    assert.equal((await http(server.url, `/v1/tasks/${tasks.alice}/trail`)).status, 401);
    assert.equal((await http(server.url, '/v1/tasks/tsk_doesnotexist01/trail', { token: ADMIN_TOKEN })).body.error.code, 'request.not_found');
    const res = await http(server.url, `/v1/tasks/${tasks.alice}/trail`, { token: ADMIN_TOKEN });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const trail = TaskTrail.parse(res.body);
    assert.equal(trail.task.purpose, 'compile the quarterly report');
    assert.deepEqual(trail.tasks.map((t) => [t.id, t.parentTask, t.delegationDepth, t.principal]), [
      [tasks.alice, null, 0, 'alice'],
      [tasks.child, tasks.alice, 1, 'alice'],
    ]);
    assert.equal(trail.truncated, false);
    const story = trail.steps.map((s) => (s.kind === 'call' ? `${s.taskId === tasks.child ? 'child ' : ''}${s.outcome} ${s.tool}${s.result ? ` → ${String(s.result.data.status)}` : ''}` : `${s.taskId === tasks.child ? 'child ' : ''}${s.event.type}`));
    // The refused write fired a drift signal (part of its call) and an alert (recorded before the decision).
    assert.deepEqual(story, ['task.granted', 'allow files.read → ok', 'monitor.alert', 'deny files.write', 'child task.granted', 'child allow files.read → error']);
    const [granted, read, , write] = trail.steps;
    assert.equal(granted?.kind === 'event' && (granted.event.data.mandate as { purpose: string }).purpose, 'compile the quarterly report');
    assert.ok(read?.kind === 'call' && read.decisionId === decisions.read && read.result?.data.decisionId === decisions.read);
    // What the task had read when the write was decided: the confidential result before it.
    assert.ok(write?.kind === 'call' && write.code === 'mandate.tool_not_declared' && write.labels.includes('confidential'), JSON.stringify(write));
    assert.deepEqual(write.related.map((e) => [e.type, e.data.signal]), [['monitor.signal', 'undeclared_tools']]);
    const atMs = trail.steps.map((s) => s.atMs);
    assert.deepEqual(atMs, [...atMs].sort((a, b) => a - b), 'in recorded order');
  });

  verifies('audit:export-jsonl', 'mandate audit export writes events as stored; verify --file holds, and names the seq of an edited line', async () => {
    const env = { MANDATE_URL: server.url, MANDATE_ADMIN_TOKEN: ADMIN_TOKEN };
    const file = join(dir, 'trail.jsonl');
    const exported = await runCli(['audit', 'export', '--out', file, '--since', '1h'], env);
    assert.equal(exported.code, 0, exported.stderr);
    const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
    const stored = await all();
    assert.equal(lines.length, stored.length);
    assert.deepEqual(lines.map((l) => JSON.parse(l)), stored, 'each line is the event exactly as stored');
    const verified = await runCli(['audit', 'verify', '--file', file]);
    assert.equal(verified.code, 0, verified.stdout);
    assert.match(verified.stdout, /^segment main: seq 1–\d+, \d+ events/m);
    assert.match(verified.stdout, /ok: every exported chain verifies/);

    // A denial turned into an allow after the export.
    const at = lines.findIndex((l) => JSON.parse(l).type === 'decision' && JSON.parse(l).data.decisionId === decisions.write);
    const edited = lines.map((l, i) => (i === at ? l.replace('"outcome":"deny"', '"outcome":"allow"') : l));
    assert.notDeepEqual(edited, lines);
    writeFileSync(file, `${edited.join('\n')}\n`);
    const broken = await runCli(['audit', 'verify', '--file', file]);
    assert.equal(broken.code, 5, broken.stdout);
    assert.match(broken.stdout, new RegExp(`BROKEN: segment main at seq ${JSON.parse(lines[at]!).seq}, line ${at + 1} \\(hash_mismatch\\)`));

    // Filtered: the events between are not in the file, so it verifies as partial only.
    const partial = join(dir, 'allowed.jsonl');
    assert.equal((await runCli(['audit', 'export', '--outcome', 'allow', '--out', partial], env)).code, 0);
    assert.equal((await runCli(['audit', 'verify', '--file', partial])).code, 5);
    const ok = await runCli(['audit', 'verify', '--file', partial, '--partial']);
    assert.equal(ok.code, 0, ok.stdout);
    assert.match(ok.stdout, /gaps/);
    // To standard output, and the filters of the query.
    const denials = await runCli(['audit', 'export', '--outcome', 'deny', '--agent', 'billing-bot'], env);
    assert.deepEqual(denials.stdout.trimEnd().split('\n').map((l) => JSON.parse(l).data.decisionId), [decisions.bobDelete]);
    assert.equal((await runCli(['audit', 'export', '--since', 'yesterday-ish'], env)).code, 2);
  });

  verifies('audit:export-ocsf', 'mandate audit export --format ocsf: OCSF events of their classes, carrying the events as stored', async () => {
    const file = join(dir, 'trail.ocsf.jsonl');
    const exported = await runCli(['audit', 'export', '--format', 'ocsf', '--out', file], { MANDATE_URL: server.url, MANDATE_ADMIN_TOKEN: ADMIN_TOKEN });
    assert.equal(exported.code, 0, exported.stderr);
    const events = readFileSync(file, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, any>);
    const byType = (type: string) => events.filter((e) => e.metadata.event_code === type);
    const write = events.find((e) => e.api?.request?.uid === decisions.write && e.metadata.event_code === 'decision')!;
    assert.deepEqual([write.class_uid, write.category_uid, write.type_uid, write.status, write.status_code, write.action, write.disposition], [6003, 6, 600399, 'Failure', 'mandate.tool_not_declared', 'Denied', 'Blocked']);
    assert.deepEqual([write.api.operation, write.api.service.name, write.actor.session.uid, write.metadata.version], ['files.write', 'files', tasks.alice, '1.8.0']);
    const result = byType('tool.result').find((e) => e.api.request?.uid === decisions.read)!;
    assert.deepEqual([result.class_uid, result.activity_name, result.status_id], [6003, 'Result', 1]);
    const granted = byType('task.granted').find((e) => e.session.uid === tasks.child)!;
    assert.deepEqual([granted.class_name, granted.activity_name, granted.privileges, granted.message], ['Authorize Session', 'Assign Privileges', ['files.read'], 'read one figure']);
    assert.ok(byType('attestation.succeeded').every((e) => e.class_uid === 3002));
    assert.ok(byType('agent.registered').every((e) => e.class_uid === 3001));
    for (const e of events) assert.equal(e.type_uid, e.class_uid * 100 + e.activity_id);
    // Each OCSF event still carries its record as stored: the file verifies like a JSON lines export.
    const verified = await runCli(['audit', 'verify', '--file', file]);
    assert.equal(verified.code, 0, verified.stdout);
  });
});
