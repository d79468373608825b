import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, describe } from 'node:test';
import { hashEvent, verifyTrail, type AuditEvent, type TrailReport } from '../../src/audit/index.js';
import SQLite from 'better-sqlite3';
import pg from 'pg';
import { fileAuditWitness, openStore, type Store } from '../../src/store/index.js';
import { ADMIN_TOKEN, EXAMPLE_CONFIG, ROOT, dropPostgresSchema, grantTask, http, postgresUrl, startTestServer } from '../helpers.js';
import { verifies } from './verifies.js';

/**
 * An attacker with write access to the database, against a trail whose signed
 * checkpoints a witness file outside the database keeps: every cut and rewrite the
 * chain alone cannot see is caught, on SQLite and on PostgreSQL.
 */
const PG = postgresUrl();
const run = promisify(execFile);
const MANDATE = join(ROOT, 'bin/mandate.js');

interface Place {
  name: string;
  url: () => string;
  cleanup: () => Promise<void>;
  skip: string | false;
}

const dirs: string[] = [];
const schemas: string[] = [];
after(async () => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  for (const s of schemas) if (PG) await dropPostgresSchema(PG, s);
});

function sqlitePlace(): Place {
  const dir = mkdtempSync(join(tmpdir(), 'mandate-tamper-'));
  dirs.push(dir);
  return { name: 'SQLite', url: () => `file:${join(dir, 'mandate.db')}`, cleanup: async () => undefined, skip: false };
}

function postgresPlace(): Place {
  const schema = `mandate_tamper_${process.pid}_${Date.now()}_${schemas.length}`;
  schemas.push(schema);
  return { name: 'PostgreSQL', url: () => `${PG}${PG!.includes('?') ? '&' : '?'}schema=${schema}`, cleanup: async () => undefined, skip: PG ? false : 'no MANDATE_TEST_POSTGRES_URL outside CI' };
}

/** A server that made some decisions and stopped cleanly (its last checkpoint witnessed), on its own store and witness. */
async function trailOn(storeUrl: string, witnessFile: string): Promise<void> {
  const server = await startTestServer({ MANDATE_STORE_URL: storeUrl, MANDATE_AUDIT_WITNESS_FILE: witnessFile, MANDATE_AUDIT_CHECKPOINT_EVERY_EVENTS: '5', MANDATE_SECRETS_KEY_FILE: `${witnessFile}.key` });
  try {
    const granted = await grantTask(server.url, 'report-bot', { purpose: 'read reports', tools: ['files.read'], ttlSeconds: 600 });
    assert.equal(granted.status, 201, JSON.stringify(granted.body));
    for (let i = 0; i < 12; i++) {
      // Every third call reads outside the mandate's tools: a denial in the trail.
      const tool = i % 3 === 0 ? 'files.write' : 'files.read';
      const decided = await http(server.url, '/v1/decide', { body: { credential: granted.credential, tool, args: { path: `/srv/reports/q${i}.csv` } } });
      assert.equal(decided.status, 200, JSON.stringify(decided.body));
    }
  } finally {
    await server.close();
  }
}

async function verifyStore(storeUrl: string, witnessFile: string, incremental = false): Promise<TrailReport> {
  const store = await openStore(storeUrl);
  try {
    const witness = fileAuditWitness(witnessFile);
    return await verifyTrail(store.audit, { name: witness.name, checkpoints: await witness.read() }, { incremental });
  } finally {
    await store.close();
  }
}

/** Raw SQL on the store's database, as an attacker with its credentials would write it (`$n` parameters). */
async function tamper(storeUrl: string, sql: string, params: unknown[] = []): Promise<void> {
  if (storeUrl.startsWith('file:')) {
    const db = new SQLite(storeUrl.slice('file:'.length));
    try {
      db.prepare(sql.replace(/\$\d+/g, '?')).run(...params);
    } finally {
      db.close();
    }
    return;
  }
  const url = new URL(storeUrl);
  const schema = url.searchParams.get('schema')!;
  url.searchParams.delete('schema');
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  try {
    await client.query(`SET search_path TO "${schema}"`);
    await client.query(sql, params);
  } finally {
    await client.end();
  }
}

async function events(store: Store, segment = 'main'): Promise<AuditEvent[]> {
  return store.audit.list({ segment, limit: 100_000, order: 'asc' });
}

/** The furthest seq of `main` a checkpoint in the witness vouches for. */
async function lastWitnessedSeq(witnessFile: string): Promise<number> {
  const seqs = (await fileAuditWitness(witnessFile).read()).filter((c) => c.segment === 'main').map((c) => c.seq);
  assert.ok(seqs.length > 0, 'the witness holds checkpoints of main');
  return Math.max(...seqs);
}

async function eventsAt(storeUrl: string, segment = 'main'): Promise<AuditEvent[]> {
  const store = await openStore(storeUrl);
  try {
    return await events(store, segment);
  } finally {
    await store.close();
  }
}

for (const place of [sqlitePlace, postgresPlace]) {
  const probe = place();
  describe(`the audit trail against an attacker with the database (${probe.name})`, { skip: probe.skip }, () => {
    const fresh = async () => {
      const p = place();
      const dir = mkdtempSync(join(tmpdir(), 'mandate-witness-'));
      dirs.push(dir);
      const witness = join(dir, 'audit-witness.jsonl');
      await trailOn(p.url(), witness);
      return { url: p.url(), witness };
    };

    verifies('audit:witnessed-checkpoints', 'an untouched trail verifies against its witness, which holds signed checkpoints', async () => {
      const { url, witness } = await fresh();
      const report = await verifyStore(url, witness);
      assert.equal(report.ok, true, JSON.stringify(report));
      assert.ok(report.witnessed >= 3, `${report.witnessed} checkpoints witnessed`);
      assert.deepEqual(report.findings, []);
      // Incremental: from the last witnessed checkpoint on, which is held against the store.
      const incremental = await verifyStore(url, witness, true);
      assert.equal(incremental.ok, true, JSON.stringify(incremental));
      assert.equal(incremental.segments.find((sg) => sg.segment === 'main')?.events, report.segments.find((sg) => sg.segment === 'main')?.events);
      const last = await lastWitnessedSeq(witness);
      await tamper(url, 'UPDATE audit_events SET data = $1 WHERE segment = $2 AND seq = $3', ['{"edited":true}', 'main', last + 1]);
      assert.deepEqual((await verifyStore(url, witness, true)).broken, { segment: 'main', seq: last + 1, reason: 'hash_mismatch' }, 'an edit after the last checkpoint is caught by the chain');
    });

    verifies('audit:tamper-truncated', 'deleting the newest events is caught, naming the events missing', async () => {
      const { url, witness } = await fresh();
      const witnessedSeq = await lastWitnessedSeq(witness);
      await tamper(url, 'DELETE FROM audit_events WHERE segment = $1 AND seq > $2', ['main', witnessedSeq - 3]);
      const report = await verifyStore(url, witness);
      assert.equal(report.ok, false);
      assert.equal(report.broken, null, 'the chain alone still verifies: only the witness can tell');
      // Every checkpoint past the cut reports it; the furthest names all the events missing.
      const truncated = report.findings.filter((f) => f.kind === 'truncated').sort((a, b) => b.witnessedSeq - a.witnessedSeq);
      assert.deepEqual(truncated[0], { kind: 'truncated', segment: 'main', storedSeq: witnessedSeq - 3, witnessedSeq });
    });

    verifies('audit:tamper-emptied', 'deleting every event is caught: the trail is empty and the witness says what it held', async () => {
      const { url, witness } = await fresh();
      await tamper(url, 'DELETE FROM audit_events');
      const report = await verifyStore(url, witness);
      assert.equal(report.ok, false);
      assert.equal(report.empty, true);
      assert.ok(report.findings.some((f) => f.kind === 'truncated' && f.storedSeq === 0));
    });

    verifies('audit:tamper-rechained', 'a decision edited from deny to allow with the chain recomputed after it is caught', async () => {
      const { url, witness } = await fresh();
      const all = await eventsAt(url);
      const denied = all.find((e) => e.type === 'decision' && e.data.outcome === 'deny');
      assert.ok(denied, 'the trail holds a denial');
      // Rewrite it and re-chain everything after it, as an attacker who knows the hash would.
      let prevHash = all[denied.seq - 2]!.hash;
      for (const e of all.slice(denied.seq - 1)) {
        const data = e.seq === denied.seq ? { ...e.data, outcome: 'allow' } : e.data;
        const rewritten = { ...e, data, prevHash };
        const hash = hashEvent(rewritten);
        await tamper(url, 'UPDATE audit_events SET data = $1, prev_hash = $2, hash = $3 WHERE segment = $4 AND seq = $5', [JSON.stringify(data), prevHash, hash, 'main', e.seq]);
        prevHash = hash;
      }
      const report = await verifyStore(url, witness);
      assert.equal(report.broken, null, 'the recomputed chain verifies on its own');
      assert.equal(report.ok, false);
      const altered = report.findings.find((f) => f.kind === 'altered');
      assert.ok(altered && altered.kind === 'altered' && altered.fromSeq <= denied.seq && denied.seq <= altered.seq, JSON.stringify(report.findings));
    });

    verifies('audit:tamper-restart', 'a server started on a truncated trail does not continue it: it starts a new segment and says why', async () => {
      const { url, witness } = await fresh();
      const witnessedSeq = await lastWitnessedSeq(witness);
      await tamper(url, 'DELETE FROM audit_events WHERE segment = $1 AND seq > $2', ['main', 3]);
      const server = await startTestServer({ MANDATE_STORE_URL: url, MANDATE_AUDIT_WITNESS_FILE: witness, MANDATE_SECRETS_KEY_FILE: `${witness}.key` });
      const verified = (await http(server.url, '/v1/audit/verify', { token: ADMIN_TOKEN })).body as TrailReport;
      await server.close();
      assert.equal(verified.ok, false, 'the cut stays visible');
      const reopened = await openStore(url);
      const main = await events(reopened);
      const restarted = await events(reopened, 'main:r1');
      await reopened.close();
      assert.equal(main.length, 3, 'the cut segment is left as it was found, its seqs never reused');
      assert.equal(restarted[0]!.type, 'audit.segment_restarted');
      assert.deepEqual(restarted[0]!.data.finding, { kind: 'truncated', segment: 'main', storedSeq: 3, witnessedSeq });
    });

    verifies('audit:tamper-witness', 'a witness line edited or a witness file emptied is caught, and `mandate audit verify` exits 5 naming it', async () => {
      const { url, witness } = await fresh();
      const lines = readFileSync(witness, 'utf8').trimEnd().split('\n');
      const forged = JSON.parse(lines[0]!) as { headHash: string };
      forged.headHash = 'f'.repeat(64);
      writeFileSync(witness, [JSON.stringify(forged), ...lines.slice(1)].join('\n') + '\n');
      const edited = await verifyStore(url, witness);
      assert.ok(edited.findings.some((f) => f.kind === 'bad_signature'), JSON.stringify(edited.findings));
      writeFileSync(witness, '');
      const emptied = await verifyStore(url, witness);
      assert.equal(emptied.ok, false);
      assert.ok(emptied.findings.some((f) => f.kind === 'unwitnessed'));
      const cli = await run(process.execPath, [MANDATE, 'audit', 'verify', '--config', EXAMPLE_CONFIG, '--store', url, '--witness', witness]).then(
        (ok) => ({ code: 0, stdout: ok.stdout }),
        (err: { code: number; stdout: string }) => err,
      );
      assert.equal(cli.code, 5, cli.stdout);
      assert.match(cli.stdout, /UNWITNESSED: the checkpoint of segment main at seq \d+ is in the store but not in the witness/);
    });
  });
}
