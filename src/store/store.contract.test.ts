import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { AuditLog, verifyChain } from '../audit/index.js';
import { hashEvent } from '../audit/chain.js';
import { GENESIS_HASH, type AuditEvent } from '../audit/model.js';
import type { AgentId, CredentialId, EventId, JoinTokenId, TaskId } from '../core/index.js';
import { canonicalJson, CodedError, manualClock, sequenceRandom, sha256Hex } from '../core/index.js';
import type { Task } from '../mandate/index.js';
import { MandateSchema } from '../mandate/index.js';
import { dropPostgresSchema, postgresUrl } from '../../test/helpers.js';
import { openPostgresStore, openSqliteStore, type Change, type ChangeFeed, type Store } from './index.js';
import { taskFixture } from '../../test/fixtures/task.js';

const pg = postgresUrl();
/** What the primary of `mandate serve --workers` relays, with one worker: each change back to its publisher. */
function relayedFeed(): ChangeFeed {
  const listeners: ((c: Change) => void)[] = [];
  return { publish: async (c) => listeners.forEach((l) => l(c)), subscribe: (l) => void listeners.push(l), close: async () => void listeners.splice(0) };
}

const targets: [string, () => Promise<Store>, () => Promise<void>][] = [
  ['sqlite', () => openSqliteStore(':memory:'), async () => undefined],
  // The workers' mode: counts in the file, not in memory.
  ['sqlite shared by workers', () => openSqliteStore(':memory:', { shared: { changes: relayedFeed() } }), async () => undefined],
];
if (pg) {
  const schema = `mandate_contract_${process.pid}_${Date.now()}`;
  const sep = pg.includes('?') ? '&' : '?';
  targets.push(['postgres', () => openPostgresStore(`${pg}${sep}schema=${schema}`), () => dropPostgresSchema(pg, schema)]);
} else {
  it('PostgreSQL store contract (set MANDATE_TEST_POSTGRES_URL to run)', { skip: 'no MANDATE_TEST_POSTGRES_URL outside CI' }, () => undefined);
}

function task(id: string, overrides: Partial<Task> = {}): Task {
  return taskFixture(id, {
    mandate: MandateSchema.parse({ purpose: 'p', tools: ['files.read'], limits: { maxCalls: 2 } }),
    principal: 'alice',
    credentialId: `crd_${id.slice(4)}` as CredentialId,
    createdAtMs: 1000,
    expiresAtMs: 9_000_000,
    ...overrides,
  });
}

for (const [name, open, cleanup] of targets) {
  describe(`store contract: ${name}`, () => {
    let store: Store;
    after(async () => {
      await store?.close();
      await cleanup();
    });

    it('opens and migrates idempotently', async () => {
      store = await open();
      assert.equal(store.kind, name.split(' ')[0]);
    });

    it('agents: insert, get by id and name, unique names, disable', async () => {
      const agent = { id: 'agt_agentone0001' as AgentId, name: 'one', spiffeId: 'spiffe://t/agent/one', groups: ['agents'], attestation: { joinToken: true, oidc: [{ issuer: 'https://i', claims: { sub: 'x' } }] }, createdAtMs: 5, disabledAtMs: null, dpopJkt: null };
      await store.agents.insert(agent);
      assert.deepEqual(await store.agents.get(agent.id), agent);
      assert.deepEqual(await store.agents.getByName('one'), agent);
      await assert.rejects(store.agents.insert({ ...agent, id: 'agt_agentone0002' as AgentId }), (e: unknown) => e instanceof CodedError && e.code === 'identity.agent_exists');
      await store.agents.disable(agent.id, 77);
      assert.equal((await store.agents.get(agent.id))?.disabledAtMs, 77);
      assert.equal((await store.agents.list()).length, 1);
    });

    it('join tokens are consumed once, and never after expiry', async () => {
      const base = { agentId: 'agt_agentone0001' as AgentId, createdAtMs: 0, usedAtMs: null };
      await store.joinTokens.insert({ id: 'jtk_000000000001' as JoinTokenId, tokenHash: 'h1', expiresAtMs: 100, ...base });
      await store.joinTokens.insert({ id: 'jtk_000000000002' as JoinTokenId, tokenHash: 'h2', expiresAtMs: 100, ...base });
      const [a, b] = await Promise.all([store.joinTokens.consume('h1', 50), store.joinTokens.consume('h1', 50)]);
      assert.equal([a, b].filter(Boolean).length, 1, 'exactly one concurrent consumer wins');
      assert.equal(await store.joinTokens.consume('h2', 100), undefined, 'expired at its expiry instant');
      assert.equal(await store.joinTokens.consume('nope', 1), undefined);
    });

    it('tasks: round trip, list filters, exact call counting, end once', async () => {
      const t = task('tsk_taskone00001');
      await store.tasks.insert(t);
      await store.tasks.insert(task('tsk_tasktwo00002', { parentTaskId: t.id, principal: null, createdAtMs: 2000 }));
      assert.deepEqual(await store.tasks.get(t.id), t);
      assert.deepEqual((await store.tasks.list({ parentTaskId: t.id })).map((x) => x.id), ['tsk_tasktwo00002']);
      assert.deepEqual((await store.tasks.list({ principal: 'alice' })).map((x) => x.id), [t.id]);
      const counts = await Promise.all([1, 2, 3, 4].map(() => store.tasks.incrementCalls(t.id, 2)));
      assert.deepEqual(counts.filter((c) => c !== undefined).sort(), [1, 2], 'never more than maxCalls');
      assert.equal(await store.tasks.incrementCalls('tsk_tasktwo00002' as TaskId, null), 1);
      assert.equal(await store.tasks.end(t.id, 'completed', 3000, 'done'), true);
      assert.equal(await store.tasks.end(t.id, 'revoked', 3001, 'again'), false);
      const ended = await store.tasks.get(t.id);
      assert.equal(ended?.status, 'completed');
      assert.equal(ended?.endReason, 'done');
      assert.equal(await store.tasks.incrementCalls(t.id, null), undefined, 'an ended task takes no calls');
      assert.deepEqual((await store.tasks.list({ status: 'active' })).map((x) => x.id), ['tsk_tasktwo00002']);
    });

    it('revocations: only those that can still cut a credential are listed', async () => {
      await store.revocations.insert({ id: 'rvk_1', kind: 'task', subject: 'tsk_x', reason: 'r', createdAtMs: 1, expiresAtMs: 10 });
      await store.revocations.insert({ id: 'rvk_2', kind: 'agent', subject: 'agt_y', reason: 'r', createdAtMs: 1, expiresAtMs: 1000 });
      assert.deepEqual((await store.revocations.listActive(10)).map((r) => r.id), ['rvk_2']);
    });

    it('approvals: pending requests are counted until they expire or are decided', async () => {
      const base = { taskId: 'tsk_tasktwo00002' as TaskId, agentId: 'agt_agentone0001' as AgentId, agentName: 'one', principal: null, tool: 'payments.create', args: {}, argsHash: 'h', policies: [], purpose: 'p', approvers: [], separationOfDuties: true, usesLeft: 1, windowSeconds: null, createdAtMs: 1, decidedBy: null, decidedAtMs: null, reason: null, notify: 'none' as const };
      await store.approvals.insert({ ...base, id: 'apr_pending00001', status: 'pending', expiresAtMs: 5000 });
      await store.approvals.insert({ ...base, id: 'apr_pending00002', status: 'pending', expiresAtMs: 50 });
      await store.approvals.insert({ ...base, id: 'apr_approved0001', status: 'approved', expiresAtMs: 5000 });
      assert.equal(await store.approvals.countPending(10), 2);
      assert.equal(await store.approvals.countPending(100), 1, 'past its expiry, a request waits for nobody');
      await store.approvals.decide('apr_pending00001', 'denied', 'approver:bob', 'no', 100);
      assert.equal(await store.approvals.countPending(100), 0);
    });

    it('audit: append in order, a taken seq fails, paging by seq', async () => {
      const ev = (seq: number): AuditEvent => ({ segment: 's1', seq, id: `evt_${String(seq).padStart(12, '0')}` as EventId, type: 'decision', atMs: 100 - seq, taskId: null, agentId: null, data: { n: seq, nested: { b: 1, a: [1, 'x'] } }, prevHash: GENESIS_HASH, hash: `h${seq}` });
      await store.audit.append([ev(1), ev(2), ev(3)]);
      await assert.rejects(store.audit.append([ev(3)]));
      assert.equal((await store.audit.last('s1'))?.seq, 3);
      const page = await store.audit.list({ segment: 's1', afterSeq: 1 });
      assert.deepEqual(page.map((e) => e.seq), [2, 3], 'ordered by seq within a segment even when clocks disagree');
      assert.deepEqual(page[0]?.data, { n: 2, nested: { b: 1, a: [1, 'x'] } });
      assert.deepEqual(await store.audit.segments(), ['s1']);
    });

    it('audit links: each event with the text its hash covers, escapes and all, put together by the store; paged by seq', async () => {
      // Characters JSON escapes, and ones it leaves: if the store's quoting differed, verifying would fall back to reading every field.
      const odd = 'q"b\\s\u0001\n\u001f\u007f é \u2028 😀';
      const events: AuditEvent[] = [];
      let prevHash = GENESIS_HASH;
      for (let seq = 1; seq <= 3; seq++) {
        const unhashed = { segment: `links ${odd}`, seq, id: `evt_${odd}${seq}` as EventId, type: 'decision' as const, atMs: 1_700_000_000_123 + seq, taskId: seq === 2 ? null : (`tsk_${odd}` as TaskId), agentId: seq === 3 ? null : (`agt_${odd}` as AgentId), data: { text: odd, n: -seq / 4, [odd]: [null, true, { z: 1, a: odd }] }, prevHash };
        events.push({ ...unhashed, hash: hashEvent(unhashed) });
        prevHash = events[events.length - 1]!.hash;
      }
      await store.audit.append(events);
      const links = await store.audit.links(`links ${odd}`, 0, 10);
      assert.deepEqual(links.map((l) => [l.seq, l.prevHash, l.hash]), events.map((e) => [e.seq, e.prevHash, e.hash]));
      for (const l of links) assert.equal(l.hashed === null ? null : sha256Hex(l.hashed), l.hash, `seq ${l.seq}: ${l.hashed}`);
      assert.deepEqual((await store.audit.links(`links ${odd}`, 1, 1)).map((l) => l.seq), [2]);
      // Past a gap, the next events all the same.
      await store.audit.append([{ ...events[2]!, seq: 7, id: 'evt_links7' as EventId }]);
      assert.deepEqual((await store.audit.links(`links ${odd}`, 1, 2)).map((l) => l.seq), [2, 3]);
      assert.deepEqual((await store.audit.links(`links ${odd}`, 3, 2)).map((l) => l.seq), [7]);
      assert.deepEqual((await store.audit.links(`links ${odd}`, 2, 2)).map((l) => l.seq), [3, 7]);
    });

    it('audit search: every filter, in (time, segment, seq) order, paged by position without gaps or repeats', async () => {
      const alice = 'tsk_searchalice01' as TaskId;
      const bob = 'tsk_searchbob0001' as TaskId;
      await store.tasks.insert(task(alice, { principal: 'alice-s' }));
      await store.tasks.insert(task(bob, { principal: 'bob-s', credentialId: 'crd_searchbob01' as CredentialId }));
      const agent = 'agt_searchagent1' as AgentId;
      // Two writers whose clocks agree on some instants: ties are ordered by segment, then seq.
      const rows: [string, number, number, AuditEvent['type'], TaskId | null, Record<string, unknown>][] = [
        ['sa', 1, 500, 'task.granted', alice, { purpose: 'p' }],
        ['sa', 2, 510, 'decision', alice, { outcome: 'allow', code: 'policy.permit', tool: 'files.read' }],
        ['sa', 3, 520, 'tool.result', alice, { status: 'ok', code: null, tool: 'files.read' }],
        ['sb', 1, 510, 'decision', bob, { outcome: 'deny', code: 'mandate.tool_not_declared', tool: 'mail.send' }],
        ['sb', 2, 530, 'decision', bob, { outcome: 'step_up', code: 'policy.step_up', tool: 'mail.send' }],
        ['sb', 3, 540, 'policy.loaded', null, { version: 1 }],
      ];
      await store.audit.append(
        rows.map(([segment, seq, atMs, type, taskId, data]) => ({ segment, seq, id: `evt_search${segment}${seq}xx` as EventId, type, atMs, taskId, agentId: taskId === bob ? agent : null, data, prevHash: GENESIS_HASH, hash: `h${segment}${seq}` })),
      );
      const key = (e: AuditEvent) => `${e.segment}/${e.seq}`;
      const all = { sinceMs: 500, untilMs: 600 };
      const find = async (f: Parameters<Store['audit']['search']>[0], order: 'asc' | 'desc' = 'asc') => (await store.audit.search({ ...all, ...f }, { limit: 100, order })).map(key);
      assert.deepEqual(await find({}), ['sa/1', 'sa/2', 'sb/1', 'sa/3', 'sb/2', 'sb/3']);
      assert.deepEqual(await find({}, 'desc'), ['sb/3', 'sb/2', 'sa/3', 'sb/1', 'sa/2', 'sa/1']);
      assert.deepEqual(await find({ types: ['decision'] }), ['sa/2', 'sb/1', 'sb/2']);
      assert.deepEqual(await find({ types: ['decision', 'tool.result'], taskIds: [alice] }), ['sa/2', 'sa/3']);
      assert.deepEqual(await find({ taskIds: [] }), []);
      assert.deepEqual(await find({ agentId: agent }), ['sb/1', 'sb/2']);
      assert.deepEqual(await find({ principal: 'alice-s' }), ['sa/1', 'sa/2', 'sa/3']);
      assert.deepEqual(await find({ principal: 'nobody' }), []);
      assert.deepEqual(await find({ outcome: 'deny' }), ['sb/1']);
      assert.deepEqual(await find({ code: 'policy.step_up' }), ['sb/2']);
      assert.deepEqual(await find({ tool: 'files.read' }), ['sa/2', 'sa/3']);
      assert.deepEqual(await find({ tool: 'mail.send', outcome: 'step_up' }), ['sb/2']);
      assert.deepEqual(await find({ sinceMs: 510, untilMs: 530 }), ['sa/2', 'sb/1', 'sa/3'], 'since inclusive, until exclusive');
      for (const order of ['asc', 'desc'] as const) {
        const paged: string[] = [];
        let after: AuditEvent | undefined;
        for (;;) {
          const page = await store.audit.search(all, { limit: 2, order, after });
          paged.push(...page.map(key));
          if (page.length < 2) break;
          after = page[page.length - 1];
        }
        assert.deepEqual(paged, await find({}, order), `pages of two, ${order}`);
      }
    });

    it('audit aggregates, decisions by id, and tailing a segment: counted and filtered by the store', async () => {
      const T = 50_000_000;
      const rows: [string, number, number, AuditEvent['type'], Record<string, unknown>][] = [
        ['ca', 1, T + 0, 'decision', { decisionId: 'dcn_aggregate0001', outcome: 'allow', code: 'policy.permit', tool: 'files.read' }],
        ['ca', 2, T + 10, 'decision', { decisionId: 'dcn_aggregate0002', outcome: 'deny', code: 'policy.forbid', tool: 'mail.send' }],
        ['ca', 3, T + 20, 'monitor.signal', { signal: 'repeated_denials', tool: 'mail.send' }],
        ['cb', 1, T + 61_000, 'decision', { decisionId: 'dcn_aggregate0003', outcome: 'deny', code: 'policy.forbid', tool: 'mail.send' }],
        ['cb', 2, T + 61_500, 'decision', { decisionId: 'dcn_aggregate0004', outcome: 'step_up', code: 'policy.step_up', tool: 'payments.create' }],
        ['cb', 3, T + 62_000, 'decision', { decisionId: 'dcn_aggregate0005', outcome: 'deny', code: 'mandate.arg_constraint', tool: 'files.read' }],
        ['cb', 4, T + 62_000, 'tool.result', { decisionId: 'dcn_aggregate0001', status: 'ok', tool: 'files.read' }],
      ];
      await store.audit.append(rows.map(([segment, seq, atMs, type, data]) => ({ segment, seq, id: `evt_agg${segment}${seq}xxxx` as EventId, type, atMs, taskId: null, agentId: null, data, prevHash: GENESIS_HASH, hash: `h${segment}${seq}` })));

      const series = await store.audit.countDecisions(T, T + 120_000, 60_000);
      const byKey = Object.fromEntries(series.map((c) => [`${c.bucketStartMs - T}/${c.outcome}`, c.count]));
      assert.deepEqual(byKey, { '0/allow': 1, '0/deny': 1, '60000/deny': 2, '60000/step_up': 1 });
      assert.deepEqual(await store.audit.countDecisions(T + 5, T + 61_000, 1000), [{ bucketStartMs: T + 5, outcome: 'deny', count: 1 }], 'since inclusive, until exclusive');
      assert.deepEqual(await store.audit.countDecisionCodes(['deny', 'step_up'], T, T + 120_000, 10), [
        { code: 'policy.forbid', count: 2 },
        { code: 'mandate.arg_constraint', count: 1 },
        { code: 'policy.step_up', count: 1 },
      ]);
      assert.deepEqual(await store.audit.countDecisionCodes(['deny'], T, T + 120_000, 1), [{ code: 'policy.forbid', count: 2 }]);
      assert.equal(await store.audit.countEvents('monitor.signal', T, T + 120_000), 1);
      assert.equal(await store.audit.countEvents('monitor.signal', T + 21, T + 120_000), 0);

      assert.equal((await store.audit.decision('dcn_aggregate0001'))?.id, 'evt_aggca1xxxx', 'the decision, not the result that names it');
      assert.equal((await store.audit.decision('dcn_aggregate0005'))?.seq, 3);
      assert.equal(await store.audit.decision('dcn_nosuchdecision'), undefined);
      const refused = (seq: number, decisionId: string) => ({ segment: 'ca', seq, id: `evt_aggrefused${seq}x` as EventId, type: 'decision' as const, atMs: T + 30, taskId: null, agentId: null, data: { decisionId, outcome: 'allow' }, prevHash: GENESIS_HASH, hash: `hr${seq}` });
      await assert.rejects(store.audit.append([refused(4, 'dcn_aggregate0006'), refused(3, 'dcn_aggregate0007')]), 'seq 3 is taken');
      assert.equal(await store.audit.decision('dcn_aggregate0006'), undefined, 'a refused batch leaves no decision to find');
      await store.audit.append([refused(4, 'dcn_aggregate0001')]);
      assert.equal((await store.audit.decision('dcn_aggregate0001'))?.seq, 1, 'a decision id seen again keeps its first place, and the record is stored');

      const heads = Object.fromEntries((await store.audit.heads()).map((h) => [h.segment, h.seq]));
      assert.deepEqual([heads['ca'], heads['cb']], [4, 4]);
      assert.equal(await store.audit.headOf('cb'), 4);
      assert.equal(await store.audit.headOf('no-such-segment'), 0);
      assert.deepEqual((await store.audit.segmentsSince(T + 61_000)).filter((s) => s === 'ca' || s === 'cb'), ['cb']);
      const tail = async (segment: string, after: number, upTo: number, f: Parameters<Store['audit']['tail']>[3], limit = 100) => (await store.audit.tail(segment, after, upTo, f, limit)).map((e) => e.seq);
      assert.deepEqual(await tail('cb', 0, 4, { types: ['decision'] }), [1, 2, 3]);
      assert.deepEqual(await tail('cb', 1, 2, { types: ['decision'] }), [2], 'after exclusive, up to inclusive');
      assert.deepEqual(await tail('cb', 0, 4, { types: ['decision'], outcome: 'deny', tool: 'files.read' }), [3]);
      assert.deepEqual(await tail('cb', 0, 4, { types: ['decision'], code: 'policy.forbid' }), [1]);
      assert.deepEqual(await tail('cb', 0, 4, { types: ['decision'] }, 2), [1, 2]);
    });

    it('counts for an overview: agents registered and disabled, tasks active and suspended', async () => {
      const agentsBefore = await store.agents.count();
      const agent = (n: string, disabledAtMs: number | null) => ({ id: `agt_count${n}0000001` as AgentId, name: `count-${n}`, spiffeId: `spiffe://t/agent/count-${n}`, groups: [], attestation: { joinToken: true, oidc: [] }, createdAtMs: 5, disabledAtMs, dpopJkt: null });
      await store.agents.insert(agent('a', null));
      await store.agents.insert(agent('b', 7));
      const agentsAfter = await store.agents.count();
      assert.deepEqual([agentsAfter.registered - agentsBefore.registered, agentsAfter.disabled - agentsBefore.disabled], [2, 1]);

      const now = 8_000_000;
      const tasksBefore = await store.tasks.countActive(now);
      const ids = ['tsk_countactive01', 'tsk_countactive02', 'tsk_countexpired1', 'tsk_countended001'] as TaskId[];
      for (const [i, id] of ids.entries()) await store.tasks.insert(task(id, { credentialId: `crd_count${i}xxxxxx` as CredentialId, expiresAtMs: id === 'tsk_countexpired1' ? now : 9_000_000 }));
      await store.tasks.end(ids[3]!, 'completed', 10, 'done');
      await store.behaviour.save(ids[1]!, { labels: [], toolsCalled: [], signals: ['repeated_denials'], suspendedBy: 'repeated_denials', stepUpBy: null, score: 30 }, 1);
      const tasksAfter = await store.tasks.countActive(now);
      assert.deepEqual([tasksAfter.active - tasksBefore.active, tasksAfter.suspended - tasksBefore.suspended], [2, 1], 'expired and ended tasks are not active');
    });

    it('audit: text is stored as written, whatever its characters; a batch with a taken seq stores nothing', async () => {
      // What a text format (COPY) must escape, and what a naive escape would mangle.
      const odd = 'tab\there\nline\rreturn \\ backslash \\N \\t "quote" \'single\' é \u2028 😀';
      const data = { text: odd, [odd]: [odd, null] };
      const ev = (seq: number): AuditEvent => ({ segment: 'odd\tsegment', seq, id: `evt_odd\\N${seq}` as EventId, type: 'decision', atMs: seq, taskId: odd as TaskId, agentId: null, data, prevHash: GENESIS_HASH, hash: `h${seq}` });
      await store.audit.append([ev(1), ev(2)]);
      const stored = await store.audit.scan('odd\tsegment', 0, 10);
      assert.deepEqual(stored.map((e) => [e.seq, e.id, e.taskId, e.agentId, e.dataText]), [1, 2].map((seq) => [seq, `evt_odd\\N${seq}`, odd, null, canonicalJson(data)]));
      assert.deepEqual((await store.audit.list({ segment: 'odd\tsegment', limit: 1 }))[0]?.data, data);
      await assert.rejects(store.audit.append([ev(3), ev(2)]));
      assert.deepEqual((await store.audit.scan('odd\tsegment', 0, 10)).map((e) => e.seq), [1, 2], 'nothing of a refused batch is stored');
      // The refusal left the connection usable.
      await store.audit.append([ev(3)]);
      assert.equal((await store.audit.last('odd\tsegment'))?.seq, 3);
    });

    it('audit log on this store: many callers at once, every record stored once, in one chain with no gap', async () => {
      const log = await AuditLog.open(store.audit, 'burst', manualClock(), sequenceRandom('burst'));
      let next = 0;
      await Promise.all(
        Array.from({ length: 256 }, async () => {
          while (next < 3000) assert.equal(await log.record({ type: 'decision', data: { n: next++ } }), 'stored');
        }),
      );
      const stored = await store.audit.scan('burst', 0, 5000);
      assert.deepEqual(stored.map((e) => e.seq), Array.from({ length: 3000 }, (_, i) => i + 1));
      assert.equal(new Set(stored.map((e) => JSON.parse(e.dataText).n)).size, 3000);
      // This segment only: the other tests store events with made-up hashes.
      const report = await verifyChain({ ...store.audit, segments: async () => ['burst'] });
      assert.deepEqual([report.ok, report.segments[0]?.events], [true, 3000], JSON.stringify(report.broken));
    });

    it('secrets: versions per name, a taken version fails, list shows the newest', async () => {
      const rec = (name: string, version: number) => ({ name, version, ciphertext: `c${version}`, iv: 'i', tag: 't', createdAtMs: version });
      await store.secrets.insert(rec('api', 1));
      await store.secrets.insert(rec('api', 2));
      await store.secrets.insert(rec('db', 1));
      await assert.rejects(store.secrets.insert(rec('api', 2)));
      assert.equal((await store.secrets.latest('api'))?.ciphertext, 'c2');
      assert.equal(await store.secrets.latest('none'), undefined);
      assert.deepEqual(await store.secrets.list(), [
        { name: 'api', version: 2, createdAtMs: 2 },
        { name: 'db', version: 1, createdAtMs: 1 },
      ]);
    });

    it('task behaviour: labels from two writers are both kept; the rest is the last write', async () => {
      const id = 'tsk_behaviour001' as TaskId;
      assert.equal(await store.behaviour.get(id), undefined);
      const base = { toolsCalled: ['a.b'], signals: [], suspendedBy: null, stepUpBy: null, score: 0 };
      await store.behaviour.save(id, { ...base, labels: ['confidential'] }, 1);
      await store.behaviour.save(id, { ...base, labels: ['untrusted'], suspendedBy: 'repeated_denials', score: 30 }, 2); // a replica that had not seen the first label
      assert.deepEqual(await store.behaviour.get(id), { ...base, labels: ['confidential', 'untrusted'], suspendedBy: 'repeated_denials', tightenedBy: null, score: 30, seen: [] });
    });

    it('task values: only ever added; two writers both kept, a value seen trusted and untrusted reads as trusted', async () => {
      const id = 'tsk_values00001' as TaskId;
      await store.behaviour.addSeen(id, [['h1', 'untrusted'], ['h2', 'trusted']]);
      await store.behaviour.addSeen(id, [['h1', 'trusted'], ['h2', 'trusted'], ['h3', 'untrusted']]);
      const seen = new Map<string, string>();
      // Trusted wins whatever order the rows come back in.
      for (const [h, t] of (await store.behaviour.get(id))!.seen!) if (seen.get(h) !== 'trusted') seen.set(h, t);
      assert.deepEqual(Object.fromEntries(seen), { h1: 'trusted', h2: 'trusted', h3: 'untrusted' });
      const many = Array.from({ length: 1200 }, (_, i) => [`m${i}`, 'trusted'] as [string, 'trusted']);
      await store.behaviour.addSeen(id, many);
      assert.equal(new Set((await store.behaviour.get(id))!.seen!.map(([h]) => h)).size, 1203);
    });

    it('console reads: task pages in (created, id) order by every filter, the stored drift with each; trees; agents with last seen and live tasks', async () => {
      const agentId = 'agt_consolebot01' as AgentId;
      await store.agents.insert({ id: agentId, name: 'console-bot', spiffeId: 'spiffe://t/agent/console-bot', groups: [], attestation: { joinToken: true, oidc: [] }, createdAtMs: 1, disabledAtMs: null, dpopJkt: null });
      const mine = (id: string, o: Partial<Task> & { purpose?: string } = {}) => {
        const { purpose = 'Compile the Weekly report', ...rest } = o;
        return task(id, { agentId, agentName: 'console-bot', principal: 'carol', mandate: MandateSchema.parse({ purpose, tools: ['files.read'] }), ...rest });
      };
      // Two tasks share a creation instant: the id breaks the tie, so a page boundary between them loses neither.
      await store.tasks.insert(mine('tsk_consoleroot1', { createdAtMs: 10_000 }));
      await store.tasks.insert(mine('tsk_consolechld1', { createdAtMs: 10_001, parentTaskId: 'tsk_consoleroot1' as TaskId, delegationDepth: 1, purpose: 'find 100%_of the figures' }));
      await store.tasks.insert(mine('tsk_consolechld2', { createdAtMs: 10_001, parentTaskId: 'tsk_consoleroot1' as TaskId, delegationDepth: 1, expiresAtMs: 20_000 }));
      await store.tasks.insert(mine('tsk_consolegrand', { createdAtMs: 10_002, parentTaskId: 'tsk_consolechld1' as TaskId, delegationDepth: 2, principal: 'dave' }));
      await store.tasks.end('tsk_consolegrand' as TaskId, 'revoked', 10_003, 'incident');
      await store.behaviour.save('tsk_consolechld1' as TaskId, { labels: [], toolsCalled: [], signals: ['rate_burst'], suspendedBy: 'operator', stepUpBy: null, score: 20 }, 10_004);
      const ids = (l: { task: Task }[]) => l.map((x) => x.task.id);
      const now = 15_000;

      const all = await store.console.tasks({ agentId, limit: 10, nowMs: now });
      assert.deepEqual(ids(all), ['tsk_consolegrand', 'tsk_consolechld2', 'tsk_consolechld1', 'tsk_consoleroot1'], 'newest first, the id breaking a tie');
      assert.deepEqual(all.find((l) => l.task.id === 'tsk_consolechld1')?.drift, { score: 20, signals: ['rate_burst'], suspendedBy: 'operator' });
      assert.equal(all.find((l) => l.task.id === 'tsk_consoleroot1')?.drift, null, 'nothing stored: no drift');
      const paged: string[] = [];
      for (let before: { createdAtMs: number; id: string } | undefined; ; ) {
        const page = await store.console.tasks({ agentId, limit: 1, nowMs: now, ...(before ? { before } : {}) });
        if (page.length === 0) break;
        paged.push(...ids(page));
        before = { createdAtMs: page[0]!.task.createdAtMs, id: page[0]!.task.id };
      }
      assert.deepEqual(paged, ids(all), 'pages of one: each task once, in order');
      assert.deepEqual(ids(await store.console.tasks({ agentId, status: 'active', limit: 10, nowMs: now })), ['tsk_consolechld2', 'tsk_consolechld1', 'tsk_consoleroot1']);
      assert.deepEqual(ids(await store.console.tasks({ agentId, status: 'active', limit: 10, nowMs: 25_000 })), ['tsk_consolechld1', 'tsk_consoleroot1'], 'past its expiry, a task is not active');
      assert.deepEqual(ids(await store.console.tasks({ agentId, status: 'expired', limit: 10, nowMs: 25_000 })), ['tsk_consolechld2']);
      assert.deepEqual(ids(await store.console.tasks({ agentId, status: 'revoked', limit: 10, nowMs: now })), ['tsk_consolegrand']);
      assert.deepEqual(ids(await store.console.tasks({ principal: 'dave', limit: 10, nowMs: now })), ['tsk_consolegrand']);
      assert.deepEqual(ids(await store.console.tasks({ parentTaskId: 'tsk_consoleroot1' as TaskId, limit: 10, nowMs: now })), ['tsk_consolechld2', 'tsk_consolechld1']);
      assert.deepEqual(ids(await store.console.tasks({ agentId, purposeContains: 'WEEKLY', limit: 10, nowMs: now })), ['tsk_consolegrand', 'tsk_consolechld2', 'tsk_consoleroot1'], 'case folded');
      assert.deepEqual(ids(await store.console.tasks({ agentId, purposeContains: '100%_', limit: 10, nowMs: now })), ['tsk_consolechld1'], '% and _ are literal');
      assert.deepEqual(ids(await store.console.tasks({ agentId, purposeContains: '1_0', limit: 10, nowMs: now })), [], 'not wildcards');

      const tree = await store.console.taskTree('tsk_consoleroot1' as TaskId, 10);
      assert.deepEqual(ids(tree), ['tsk_consoleroot1', 'tsk_consolechld1', 'tsk_consolechld2', 'tsk_consolegrand'], 'breadth first');
      assert.deepEqual(ids(await store.console.taskTree('tsk_consolechld1' as TaskId, 10)), ['tsk_consolechld1', 'tsk_consolegrand'], 'a subtree');
      assert.equal((await store.console.taskTree('tsk_consoleroot1' as TaskId, 2)).length, 2, 'bounded');
      assert.deepEqual(await store.console.taskTree('tsk_nosuchtask01' as TaskId, 10), []);

      const audit = await AuditLog.open(store.audit, 'console-contract', manualClock(12_345), sequenceRandom('console'));
      await audit.record({ type: 'attestation.succeeded', agentId, data: {} });
      const agents = await store.console.agents({ limit: 100, nowMs: now });
      const bot = agents.find((a) => a.agent.id === agentId);
      assert.deepEqual([bot?.lastSeenMs, bot?.activeTasks], [12_345, 3]);
      assert.equal((await store.console.agents({ limit: 100, nowMs: 25_000 })).find((a) => a.agent.id === agentId)?.activeTasks, 2, 'an expired task is not live');
      assert.deepEqual(agents.map((a) => a.agent.name), [...agents.map((a) => a.agent.name)].sort(), 'by name');
      const after = await store.console.agents({ afterName: 'console-bot', limit: 100, nowMs: now });
      assert.ok(after.every((a) => a.agent.name > 'console-bot'));
      assert.equal(agents.find((a) => a.agent.name === 'one')?.lastSeenMs, null, 'never seen');
    });

    it('approvals: cancelled with how the task ended; listed newest first, a page after a position', async () => {
      const base = { agentId: 'agt_consolebot01' as AgentId, agentName: 'console-bot', principal: null, tool: 'payments.create', args: {}, argsHash: 'h', policies: [], purpose: 'p', approvers: [], separationOfDuties: true, usesLeft: 1, windowSeconds: null, decidedBy: null, decidedAtMs: null, reason: null, notify: 'none' as const, status: 'pending' as const, expiresAtMs: 100_000 };
      await store.tasks.insert(task('tsk_apprdone0001', { createdAtMs: 20_000 }));
      await store.tasks.insert(task('tsk_apprlate0001', { createdAtMs: 20_000, expiresAtMs: 30_000 }));
      await store.tasks.insert(task('tsk_apprlive0001', { createdAtMs: 20_000 }));
      await store.tasks.end('tsk_apprdone0001' as TaskId, 'completed', 21_000, 'report sent');
      await store.approvals.insert({ ...base, id: 'apr_console00001', taskId: 'tsk_apprdone0001' as TaskId, createdAtMs: 20_500 });
      await store.approvals.insert({ ...base, id: 'apr_console00002', taskId: 'tsk_apprlate0001' as TaskId, createdAtMs: 20_500 });
      await store.approvals.insert({ ...base, id: 'apr_console00003', taskId: 'tsk_apprlive0001' as TaskId, createdAtMs: 20_600 });
      await store.approvals.insert({ ...base, id: 'apr_console00004', taskId: 'tsk_gone00000001' as TaskId, createdAtMs: 20_700 });
      const cancelled = await store.approvals.cancelOrphaned(40_000);
      const reasons = Object.fromEntries(cancelled.filter((a) => a.id.startsWith('apr_console')).map((a) => [a.id, a.reason]));
      assert.deepEqual(reasons, { apr_console00001: 'task completed: report sent', apr_console00002: 'task expired', apr_console00004: 'task gone' });
      assert.equal(await store.approvals.decide('apr_console00001', 'approved', 'approver:bob', 'ok', 40_001), undefined, 'a cancelled request is not decided');

      const listed = (await store.approvals.list({ limit: 100 })).filter((a) => a.id.startsWith('apr_console')).map((a) => a.id);
      assert.deepEqual(listed, ['apr_console00004', 'apr_console00003', 'apr_console00002', 'apr_console00001']);
      const next = await store.approvals.list({ limit: 100, before: { createdAtMs: 20_500, id: 'apr_console00002' } });
      assert.deepEqual(next.filter((a) => a.id.startsWith('apr_console')).map((a) => a.id), ['apr_console00001'], 'same instant: the id breaks the tie');
      const oldest = (await store.approvals.list({ limit: 100, order: 'oldest' })).filter((a) => a.id.startsWith('apr_console')).map((a) => a.id);
      assert.deepEqual(oldest, ['apr_console00001', 'apr_console00002', 'apr_console00003', 'apr_console00004']);
      const after = await store.approvals.list({ limit: 100, order: 'oldest', before: { createdAtMs: 20_500, id: 'apr_console00002' } });
      assert.deepEqual(after.filter((a) => a.id.startsWith('apr_console')).map((a) => a.id), ['apr_console00003', 'apr_console00004'], 'oldest first, the next page');
      assert.deepEqual((await store.approvals.list({ status: 'pending', limit: 100 })).filter((a) => a.id.startsWith('apr_console')).map((a) => a.id), ['apr_console00003']);
    });

    it('keys and settings: set if absent, set', async () => {
      await store.keys.insert({ kid: 'k1', alg: 'ES256', privateJwk: { d: 'x' }, publicJwk: { x: 'y' }, createdAtMs: 1, retiredAtMs: null, dropAtMs: null });
      await store.keys.retire('k1', 5, 50);
      assert.deepEqual((await store.keys.list())[0], { kid: 'k1', alg: 'ES256', privateJwk: { d: 'x' }, publicJwk: { x: 'y' }, createdAtMs: 1, retiredAtMs: 5, dropAtMs: 50 });
      assert.equal(await store.settings.setIfAbsent('a', '1'), '1');
      assert.equal(await store.settings.setIfAbsent('a', '2'), '1');
      assert.equal(await store.settings.get('a'), '1');
      assert.equal(await store.settings.get('b'), undefined);
      await store.settings.set('a', '3');
      await store.settings.set('c', '4');
      assert.deepEqual([await store.settings.get('a'), await store.settings.get('c')], ['3', '4']);
    });

    it('console sessions: round trip, touch, delete once, sweep only the expired', async () => {
      const s = { idHash: 'h1', subject: 'alice', issuer: 'https://idp', name: 'Alice', email: null, groups: ['approvers'], roles: ['approver' as const], csrfToken: 'c1', createdAtMs: 10, expiresAtMs: 100, lastSeenAtMs: 10 };
      await store.consoleSessions.insert(s);
      await store.consoleSessions.insert({ ...s, idHash: 'h2', expiresAtMs: 1000 });
      assert.deepEqual(await store.consoleSessions.get('h1'), s);
      await store.consoleSessions.touch('h1', 50);
      assert.equal((await store.consoleSessions.get('h1'))?.lastSeenAtMs, 50);
      assert.equal(await store.consoleSessions.sweep(100), 1);
      assert.equal(await store.consoleSessions.get('h1'), undefined);
      assert.equal(await store.consoleSessions.delete('h2'), true);
      assert.equal(await store.consoleSessions.delete('h2'), false);
    });
  });
}
