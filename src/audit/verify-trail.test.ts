import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import SQLite from 'better-sqlite3';
import * as jose from 'jose';
import type { EventId } from '../core/index.js';
import { openSqliteStore, type Store } from '../store/index.js';
import { GENESIS_HASH, hashEvent, merkleRoot, verifyTrail, CHECKPOINT_TYP, type AuditEvent, type Checkpoint } from './index.js';
import type { WitnessedCheckpoint } from './ports.js';

/** Events 1..n of `main`, chained from genesis (or from `after`). */
function chain(n: number, edit: (seq: number) => Record<string, unknown> = (seq) => ({ seq }), after?: AuditEvent): AuditEvent[] {
  const events: AuditEvent[] = [];
  let prevHash = after?.hash ?? GENESIS_HASH;
  for (let seq = (after?.seq ?? 0) + 1; seq <= n; seq++) {
    const unhashed = { segment: 'main', seq, id: `evt_${String(seq).padStart(12, '0')}` as EventId, type: 'decision' as const, atMs: 1000 + seq, taskId: null, agentId: null, data: edit(seq), prevHash };
    events.push({ ...unhashed, hash: hashEvent(unhashed) });
    prevHash = events[events.length - 1]!.hash;
  }
  return events;
}

async function signer(): Promise<(cp: Checkpoint) => Promise<WitnessedCheckpoint>> {
  const { privateKey, publicKey } = await jose.generateKeyPair('ES256');
  const jwk = { ...(await jose.exportJWK(publicKey)) } as Record<string, unknown>;
  return async (cp) => ({ ...cp, jws: await new jose.SignJWT({ ...cp }).setProtectedHeader({ alg: 'ES256', typ: CHECKPOINT_TYP }).sign(privateKey), jwk });
}

/**
 * A trail longer than a page of links (2,000), with checkpoints whose intervals
 * cross the pages' edges: the single pass must hash each interval whole, and go on
 * reading them past a broken link.
 */
describe('verifying a trail against its witness in one pass', () => {
  const EDGES = [[1, 1990], [1991, 2010], [2011, 3999], [4000, 4500]] as const;

  async function trail(): Promise<{ store: Store; raw: SQLite.Database; events: AuditEvent[]; checkpoints: WitnessedCheckpoint[]; done: () => Promise<void> }> {
    const dir = mkdtempSync(join(tmpdir(), 'mandate-trail-'));
    const file = join(dir, 'm.db');
    const store = await openSqliteStore(file);
    const events = chain(4500);
    for (let i = 0; i < events.length; i += 1000) await store.audit.append(events.slice(i, i + 1000));
    const sign = await signer();
    const checkpoints: WitnessedCheckpoint[] = [];
    for (const [fromSeq, seq] of EDGES) {
      const hashes = events.slice(fromSeq - 1, seq).map((e) => e.hash);
      checkpoints.push(await sign({ segment: 'main', fromSeq, seq, headHash: hashes[hashes.length - 1]!, root: merkleRoot(hashes), atMs: 5000 + seq }));
    }
    const raw = new SQLite(file);
    return {
      store,
      raw,
      events,
      checkpoints,
      done: async () => {
        raw.close();
        await store.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }

  /** Rewrites events from `seq` on with `edit`, re-chained as an attacker who knows the hash would. */
  function rechain(raw: SQLite.Database, events: AuditEvent[], seq: number, edit: (seq: number) => Record<string, unknown>): void {
    const update = raw.prepare('UPDATE audit_events SET data = ?, prev_hash = ?, hash = ? WHERE segment = ? AND seq = ?');
    for (const e of chain(events.length, edit, events[seq - 2])) update.run(JSON.stringify(e.data), e.prevHash, e.hash, 'main', e.seq);
  }

  it('an untouched trail verifies, in full and incrementally', async () => {
    const t = await trail();
    const full = await verifyTrail(t.store.audit, { name: 'w', checkpoints: t.checkpoints });
    assert.deepEqual({ ok: full.ok, broken: full.broken, findings: full.findings, events: full.segments[0]?.events }, { ok: true, broken: null, findings: [], events: 4500 });
    const incremental = await verifyTrail(t.store.audit, { name: 'w', checkpoints: t.checkpoints }, { incremental: true });
    assert.deepEqual({ ok: incremental.ok, findings: incremental.findings, events: incremental.segments[0]?.events }, { ok: true, findings: [], events: 4500 });
    await t.done();
  });

  it('an event rewritten and re-chained inside an interval across a page edge names that interval', async () => {
    const t = await trail();
    rechain(t.raw, t.events, 2005, (seq) => ({ seq, edited: true }));
    const report = await verifyTrail(t.store.audit, { name: 'w', checkpoints: t.checkpoints });
    assert.equal(report.broken, null, 'the re-chained trail verifies on its own');
    assert.deepEqual(report.findings, [
      { kind: 'altered', segment: 'main', fromSeq: 1991, seq: 2010 },
      { kind: 'altered', segment: 'main', fromSeq: 2011, seq: 3999 },
      { kind: 'altered', segment: 'main', fromSeq: 4000, seq: 4500 },
    ]);
    await t.done();
  });

  it('past a broken link, intervals are still read: a later rewrite, a missing event and a cut tail are named', async () => {
    const t = await trail();
    t.raw.exec(`UPDATE audit_events SET data = '{"seq":5,"edited":true}' WHERE seq = 5`);
    rechain(t.raw, t.events, 2500, (seq) => ({ seq, edited: true }));
    t.raw.exec('DELETE FROM audit_events WHERE seq = 4100 OR seq > 4400');
    const report = await verifyTrail(t.store.audit, { name: 'w', checkpoints: t.checkpoints });
    assert.deepEqual(report.broken, { segment: 'main', seq: 5, reason: 'hash_mismatch' });
    assert.deepEqual(report.segments, [{ segment: 'main', events: 4, headHash: t.events[3]!.hash }]);
    assert.deepEqual(report.findings, [
      { kind: 'altered', segment: 'main', fromSeq: 2011, seq: 3999 },
      { kind: 'truncated', segment: 'main', storedSeq: 4400, witnessedSeq: 4500 },
    ]);
    // With the tail back but the hole left, the last interval is altered (an event of it missing), not truncated.
    const insert = t.raw.prepare('INSERT INTO audit_events (segment, seq, id, type, at_ms, task_id, agent_id, data, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)');
    for (const e of t.events.slice(4400)) insert.run(e.segment, e.seq, e.id, e.type, e.atMs, e.taskId, e.agentId, JSON.stringify(e.data), e.prevHash, e.hash);
    assert.deepEqual((await verifyTrail(t.store.audit, { name: 'w', checkpoints: t.checkpoints })).findings.slice(1), [{ kind: 'altered', segment: 'main', fromSeq: 4000, seq: 4500 }]);
    await t.done();
  });

  it('an interval deleted whole, with events after it, is altered', async () => {
    const t = await trail();
    t.raw.exec('DELETE FROM audit_events WHERE seq BETWEEN 1991 AND 2010');
    const report = await verifyTrail(t.store.audit, { name: 'w', checkpoints: t.checkpoints });
    assert.deepEqual(report.broken, { segment: 'main', seq: 1991, reason: 'seq_gap' });
    assert.deepEqual(report.findings, [{ kind: 'altered', segment: 'main', fromSeq: 1991, seq: 2010 }]);
    await t.done();
  });

  it('a checkpoint whose signature fails is not held against the store; one of a segment the store lost is truncated; one that is no interval holds nothing', async () => {
    const t = await trail();
    const forged = { ...t.checkpoints[1]!, root: t.checkpoints[2]!.root };
    // Signed, but with a key of the witness line's own: it can say anything.
    const selfSigned = await signer();
    const gone = await selfSigned({ ...t.checkpoints[0]!, segment: 'gone' });
    const noInterval = await selfSigned({ ...t.checkpoints[3]!, fromSeq: 'x' as unknown as number });
    const report = await verifyTrail(t.store.audit, { name: 'w', checkpoints: [t.checkpoints[0]!, forged, t.checkpoints[2]!, t.checkpoints[3]!, gone, noInterval] });
    assert.deepEqual(report.findings, [
      { kind: 'truncated', segment: 'gone', storedSeq: 0, witnessedSeq: 1990 },
      { kind: 'bad_signature', segment: 'main', seq: 2010 },
      { kind: 'altered', segment: 'main', fromSeq: 'x', seq: 4500 },
    ]);
    const alone = await verifyTrail(t.store.audit, { name: 'w', checkpoints: [noInterval] });
    assert.deepEqual(alone.findings, [{ kind: 'altered', segment: 'main', fromSeq: 'x', seq: 4500 }]);
    assert.deepEqual(alone.segments.map((s) => [s.segment, s.events]), [['main', 4500]], 'the chain is read whole all the same');
    await t.done();
  });
});
