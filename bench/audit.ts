import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as jose from 'jose';
import { AuditCheckpointer, AuditLog, CHECKPOINT_TYP, verifyChain, verifyTrail, type AuditEntry, type AuditWitness, type CheckpointerOptions } from '../src/audit/index.js';
import { systemClock, systemRandom, type AgentId, type TaskId } from '../src/core/index.js';
import { fileAuditWitness, openStore } from '../src/store/index.js';
import type { Metrics } from './stats.js';

const APPEND_EVENTS = Number(process.env.BENCH_AUDIT_EVENTS ?? 50_000);
const VERIFY_EVENTS = Number(process.env.BENCH_AUDIT_VERIFY_EVENTS ?? 200_000);
/** Events between checkpoints (`audit.checkpointEveryEvents`' default). */
const CHECKPOINT_EVERY = 1000;
/** Records outstanding at once: requests answered concurrently, each waiting for its record to be durable. */
const IN_FLIGHT = 256;

/** A decision record as the kernel writes one (src/decision/decide.ts; ≈ 700 bytes of data). */
function decisionRecord(i: number): AuditEntry {
  const deny = i % 7 === 0;
  return {
    type: 'decision',
    taskId: `tsk_${String(i % 500).padStart(16, '0')}` as TaskId,
    agentId: 'agt_reportbot00000000' as AgentId,
    data: {
      decisionId: `dcn_${String(i).padStart(16, '0')}`,
      outcome: deny ? 'deny' : 'allow',
      code: deny ? 'mandate.tool_not_declared' : 'policy.permit',
      message: deny ? 'tool `files.delete` is not declared in the task mandate' : 'permitted by agents-call-tools',
      layer: deny ? 'mandate' : 'policy',
      tool: deny ? 'files.delete' : 'files.read',
      action: deny ? 'delete' : 'read',
      principal: 'alice@example.com',
      parentTaskId: i % 3 === 0 ? 'tsk_parent0000000000' : null,
      delegationDepth: i % 3 === 0 ? 1 : 0,
      chain: i % 3 === 0 ? [{ taskId: 'tsk_parent0000000000', spiffeId: 'spiffe://example.internal/agent/orchestrator' }] : [],
      purpose: 'compile the quarterly report for the finance team',
      argNames: ['path'],
      argsHash: `${i}`.padStart(64, '0'),
      policies: deny ? [] : ['agents-call-tools'],
      policyVersion: 3,
      callCount: deny ? null : (i % 50) + 1,
      approvalId: null,
      labelsAdded: i % 50 === 0 ? ['pii'] : [],
      toolsCalledAdded: [],
      drift: { score: 0, signals: [] },
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
      decideUs: 120,
    },
  };
}

/** Appends `events` with IN_FLIGHT records outstanding, each resolved once durable; events per second. */
async function appendRate(log: AuditLog, events: number, from = 0): Promise<number> {
  const started = process.hrtime.bigint();
  let next = from;
  const worker = async () => {
    while (next < from + events) await log.record(decisionRecord(next++));
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  return events / (Number(process.hrtime.bigint() - started) / 1e9);
}

/** Signs checkpoints as the control plane does (an ES256 JWS of the checkpoint, `typ` `mandate-checkpoint+jwt`), with a key of its own. */
async function checkpointSigner(): Promise<CheckpointerOptions['sign']> {
  const { privateKey, publicKey } = await jose.generateKeyPair('ES256');
  const jwk = { ...(await jose.exportJWK(publicKey)), alg: 'ES256' };
  return async (checkpoint) => ({ jws: await new jose.SignJWT({ ...checkpoint }).setProtectedHeader({ alg: 'ES256', typ: CHECKPOINT_TYP }).sign(privateKey), jwk });
}

/**
 * `audit.append_per_s`: durable appends (each caller resumes once its record is
 * committed; group commit batches what arrives meanwhile) on a SQLite file and on
 * PostgreSQL. `audit.verify_per_s`: the whole chain recomputed from a SQLite file.
 * `audit.verify_trail_per_s`: `mandate audit verify` on the same file, the chain and
 * every checkpoint's Merkle root and signature held against the witness (a
 * checkpoint every 1,000 events from the end of the append figure on).
 */
export async function benchAudit(metrics: Metrics, postgresUrl: string | undefined, log: (line: string) => void): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'mandate-bench-audit-'));
  try {
    const store = await openStore(`file:${join(dir, 'audit.db')}`);
    try {
      const audit = await AuditLog.open(store.audit, 'bench', systemClock, systemRandom);
      metrics['audit.append_per_s.sqlite'] = { value: Math.round(await appendRate(audit, APPEND_EVENTS)), unit: 'ev/s' };
      // Up to VERIFY_EVENTS in the chain, checkpointed as a server does, then verified from the store.
      const witness: AuditWitness = fileAuditWitness(join(dir, 'audit-witness.jsonl'));
      const checkpointer = await AuditCheckpointer.start({ log: audit, repo: store.audit, clock: systemClock, sign: await checkpointSigner(), witnesses: [witness], everyEvents: VERIFY_EVENTS, everyMs: 3_600_000 });
      // A checkpoint made while appends never pause waits for them all to be flushed: made here, every CHECKPOINT_EVERY events.
      for (let from = APPEND_EVENTS; from < VERIFY_EVENTS; from += CHECKPOINT_EVERY) {
        await appendRate(audit, Math.min(CHECKPOINT_EVERY, VERIFY_EVENTS - from), from);
        await checkpointer.checkpoint();
      }
      await checkpointer.stop();
      await audit.flush();
      let started = process.hrtime.bigint();
      const report = await verifyChain(store.audit);
      let seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const verified = report.segments.reduce((n, s) => n + s.events, 0);
      if (!report.ok || verified < VERIFY_EVENTS) throw new Error(`the benchmark chain did not verify: ${JSON.stringify(report.broken)}, ${verified} events`);
      metrics['audit.verify_per_s'] = { value: Math.round(verified / seconds), unit: 'ev/s' };
      const checkpoints = await witness.read();
      started = process.hrtime.bigint();
      const trail = await verifyTrail(store.audit, { name: witness.name, checkpoints });
      seconds = Number(process.hrtime.bigint() - started) / 1e9;
      if (!trail.ok || checkpoints.length < (VERIFY_EVENTS - APPEND_EVENTS) / CHECKPOINT_EVERY) throw new Error(`the benchmark trail did not verify: ${JSON.stringify({ broken: trail.broken, findings: trail.findings.slice(0, 3) })}, ${checkpoints.length} checkpoints`);
      metrics['audit.verify_trail_per_s'] = { value: Math.round(verified / seconds), unit: 'ev/s' };
    } finally {
      await store.close();
    }
    if (!postgresUrl) {
      log('  (audit.append_per_s.postgres skipped: no MANDATE_TEST_POSTGRES_URL)');
      return;
    }
    const schema = `mandate_bench_audit_${process.pid}`;
    const pg = await openStore(`${postgresUrl}${postgresUrl.includes('?') ? '&' : '?'}schema=${schema}`);
    try {
      const audit = await AuditLog.open(pg.audit, 'bench', systemClock, systemRandom);
      metrics['audit.append_per_s.postgres'] = { value: Math.round(await appendRate(audit, APPEND_EVENTS)), unit: 'ev/s' };
    } finally {
      await pg.close();
      const { default: pgClient } = await import('pg');
      const client = new pgClient.Client({ connectionString: postgresUrl });
      await client.connect();
      await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await client.end();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
