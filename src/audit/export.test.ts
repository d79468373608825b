import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { manualClock, sequenceRandom, type AgentId, type TaskId } from '../core/index.js';
import { openSqliteStore } from '../store/index.js';
import { AUDIT_EVENT_TYPES, AuditLog, ExportedEventSchema, hashEvent, toOcsf, verifyExport, type AuditEvent, type AuditEventType } from './index.js';

/** A stored chain of `n` events, read back as an export would hold it. */
async function storedChain(n: number, segment = 'main'): Promise<AuditEvent[]> {
  const store = await openSqliteStore(':memory:');
  const log = await AuditLog.open(store.audit, segment, manualClock(1000), sequenceRandom(segment));
  for (let i = 1; i <= n; i++) await log.record({ type: 'decision', taskId: 'tsk_exporttask01' as TaskId, data: { outcome: i % 3 === 0 ? 'deny' : 'allow', i } });
  const events = await store.audit.list({ segment, limit: 1000 });
  await store.close();
  // Through JSON, as a line of the file.
  return events.map((e) => ExportedEventSchema.parse(JSON.parse(JSON.stringify(e))) as AuditEvent);
}

const lines = (events: readonly AuditEvent[]) => events.map((event, i) => ({ line: i + 1, event }));

describe('verifying an export', () => {
  it('a whole export verifies from genesis, in any line order, with lines repeated by an at-least-once sink', async () => {
    const events = await storedChain(6);
    const report = verifyExport(lines([...events].reverse().concat(events[2]!)), { gapsAllowed: false });
    assert.equal(report.ok, true);
    assert.deepEqual(report.segments.map((s) => [s.segment, s.fromSeq, s.toSeq, s.events, s.fromGenesis, s.headHash]), [['main', 1, 6, 6, true, events[5]!.hash]]);
  });

  it('an export from the middle of a segment (--since) verifies; its first link is outside the file', async () => {
    const report = verifyExport(lines((await storedChain(6)).slice(3)), { gapsAllowed: false });
    assert.deepEqual([report.ok, report.segments[0]?.fromSeq, report.segments[0]?.fromGenesis], [true, 4, false]);
  });

  it('an edited line fails at its seq and line; re-hashed, the next link fails', async () => {
    const events = await storedChain(6);
    const edited = events.map((e) => (e.seq === 3 ? { ...e, data: { ...e.data, outcome: 'allow' } } : e));
    assert.deepEqual(verifyExport(lines(edited), { gapsAllowed: false }).broken, { segment: 'main', seq: 3, line: 3, reason: 'hash_mismatch' });
    const rehashed = edited.map((e) => (e.seq === 3 ? { ...e, hash: hashEvent(e) } : e));
    assert.deepEqual(verifyExport(lines(rehashed), { gapsAllowed: false }).broken, { segment: 'main', seq: 4, line: 4, reason: 'prev_hash_mismatch' });
    // Even a filtered export cannot hide an edit: each event proves its own hash.
    assert.equal(verifyExport(lines(edited.filter((e) => e.seq !== 4)), { gapsAllowed: true }).broken?.seq, 3);
  });

  it('a missing line is a gap, unless the export was filtered; two different events at one seq always fail', async () => {
    const events = await storedChain(6);
    const without4 = events.filter((e) => e.seq !== 4);
    assert.deepEqual(verifyExport(lines(without4), { gapsAllowed: false }).broken, { segment: 'main', seq: 4, line: 4, reason: 'seq_gap' });
    const partial = verifyExport(lines(without4), { gapsAllowed: true });
    assert.deepEqual([partial.ok, partial.segments[0]?.gaps, partial.segments[0]?.events], [true, 1, 5]);
    const forked = [...events, { ...events[1]!, data: { other: true } }];
    assert.equal(verifyExport(lines(forked), { gapsAllowed: true }).broken?.reason, 'seq_repeated');
  });

  it('segments are verified each on its own chain', async () => {
    const report = verifyExport(lines([...(await storedChain(3, 'b')), ...(await storedChain(2, 'a'))]), { gapsAllowed: false });
    assert.deepEqual(report.segments.map((s) => [s.segment, s.events]), [['a', 2], ['b', 3]]);
  });
});

/** The attributes OCSF 1.8.0 requires of each class the mapping uses (and of every event). */
const REQUIRED: Record<number, string[]> = {
  6003: ['actor', 'api', 'src_endpoint'],
  3001: ['user'],
  3002: ['user', 'service'],
  3003: ['user', 'privileges'],
  3004: ['entity'],
  3005: ['user', 'privileges'],
  2004: ['finding_info'],
  1008: [],
};

function sample(type: AuditEventType): AuditEvent {
  const data: Record<string, unknown> = {
    decisionId: 'dcn_sample000001',
    tool: 'mail.send',
    outcome: 'deny',
    code: 'policy.forbid',
    layer: 'policy',
    policies: ['no-external-mail'],
    policyVersion: 3,
    status: 'error',
    approvalId: 'apr_sample000001',
    by: 'carol',
    signal: 'repeated_denials',
    response: 'tighten',
    kind: 'principal',
    subject: 'alice',
    mandate: { purpose: 'answer the customer', tools: [{ name: 'mail.send', args: {} }] },
    refused: [{ item: 'tools.files.write', code: 'mandate.tool_unknown' }],
    name: 'x',
    method: 'oidc',
  };
  const e = { segment: 'main', seq: 7, id: 'evt_sample000001', type, atMs: 1_700_000_000_000, taskId: 'tsk_sample000001' as TaskId, agentId: 'agt_sample000001' as AgentId, data, prevHash: '0'.repeat(64) } as Omit<AuditEvent, 'hash'>;
  return { ...e, hash: hashEvent(e) } as AuditEvent;
}

describe('OCSF', () => {
  it('every event type maps to a class with the attributes OCSF requires, and keeps the event as stored', () => {
    for (const type of AUDIT_EVENT_TYPES) {
      const e = sample(type);
      const o = toOcsf(e, '0.1.0');
      const classUid = o.class_uid as number;
      assert.ok(REQUIRED[classUid], `${type}: class ${classUid} is one of the mapped classes`);
      for (const key of ['category_uid', 'class_uid', 'activity_id', 'type_uid', 'time', 'severity_id', 'metadata', ...REQUIRED[classUid]!]) assert.ok(o[key] !== undefined, `${type}: ${key}`);
      assert.equal(o.type_uid, classUid * 100 + (o.activity_id as number), type);
      assert.equal(Math.floor(classUid / 1000), o.category_uid, type);
      const metadata = o.metadata as Record<string, unknown>;
      assert.deepEqual([metadata.version, (metadata.product as Record<string, unknown>).name, metadata.uid, metadata.event_code], ['1.8.0', 'Mandate', e.id, type]);
      assert.deepEqual((o.unmapped as Record<string, unknown>).mandate, e, `${type}: the event as stored`);
      if (classUid === 6003) assert.ok(typeof (o.api as Record<string, unknown>).operation === 'string', `${type}: api.operation`);
    }
  });

  it('a decision is an API Activity with the control outcome and the policies that decided it', () => {
    const o = toOcsf(sample('decision'), '0.1.0');
    assert.deepEqual(
      [o.class_uid, o.activity_id, o.status_id, o.status_code, o.action_id, o.disposition_id, o.severity_id],
      [6003, 99, 2, 'policy.forbid', 2, 2, 3],
    );
    assert.deepEqual(o.authorizations, [{ decision: 'deny', policy: { uid: 'no-external-mail', name: 'no-external-mail', version: '3' } }]);
    assert.deepEqual(o.api, { operation: 'mail.send', service: { name: 'mail' }, request: { uid: 'dcn_sample000001' } });
    assert.deepEqual((o.actor as Record<string, unknown>).session, { uid: 'tsk_sample000001' });
    const step = toOcsf({ ...sample('decision'), data: { ...sample('decision').data, outcome: 'step_up' } }, '0.1.0');
    assert.deepEqual([step.action_id, step.disposition, step.status_id], [0, 'Challenge', 99]);
  });
});
