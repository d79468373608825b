import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuditLog, verifyChain, type AuditEntry } from '../src/audit/index.js';
import { systemClock, systemRandom, type AgentId, type TaskId } from '../src/core/index.js';
import { openStore } from '../src/store/index.js';
import type { Metrics } from './stats.js';

const APPEND_EVENTS = Number(process.env.BENCH_AUDIT_EVENTS ?? 50_000);
const VERIFY_EVENTS = Number(process.env.BENCH_AUDIT_VERIFY_EVENTS ?? 200_000);
/** Records outstanding at once: requests answered concurrently, each waiting for its record to be durable. */
const IN_FLIGHT = 256;

/** A decision record as the kernel writes one (≈ 400 bytes of data). */
function decisionRecord(i: number): AuditEntry {
  return {
    type: 'decision',
    taskId: `task_${i % 500}` as TaskId,
    agentId: 'agent_report-bot' as AgentId,
    data: {
      id: `dec_${i}`,
      tool: 'files.read',
      outcome: i % 7 === 0 ? 'deny' : 'allow',
      reason: { code: i % 7 === 0 ? 'mandate.tool_not_declared' : 'policy.permit', message: 'permitted by policy' },
      layer: 'policy',
      policies: ['policy0'],
      policyVersion: 3,
      argsHash: `${i}`.padStart(64, '0'),
      labelsAdded: i % 50 === 0 ? ['pii'] : [],
      toolsCalledAdded: [],
      durationUs: 120,
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

/**
 * `audit.append_per_s`: durable appends (each caller resumes once its record is
 * committed; group commit batches what arrives meanwhile) on a SQLite file and on
 * PostgreSQL. `audit.verify_per_s`: the whole chain recomputed from a SQLite file.
 */
export async function benchAudit(metrics: Metrics, postgresUrl: string | undefined, log: (line: string) => void): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'mandate-bench-audit-'));
  try {
    const store = await openStore(`file:${join(dir, 'audit.db')}`);
    try {
      const audit = await AuditLog.open(store.audit, 'bench', systemClock, systemRandom);
      metrics['audit.append_per_s.sqlite'] = { value: Math.round(await appendRate(audit, APPEND_EVENTS)), unit: 'ev/s' };
      // Up to VERIFY_EVENTS in the chain, then verified from the store.
      if (VERIFY_EVENTS > APPEND_EVENTS) await appendRate(audit, VERIFY_EVENTS - APPEND_EVENTS, APPEND_EVENTS);
      await audit.flush();
      const started = process.hrtime.bigint();
      const report = await verifyChain(store.audit);
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const verified = report.segments.reduce((n, s) => n + s.events, 0);
      if (!report.ok || verified < VERIFY_EVENTS) throw new Error(`the benchmark chain did not verify: ${JSON.stringify(report.broken)}, ${verified} events`);
      metrics['audit.verify_per_s'] = { value: Math.round(verified / seconds), unit: 'ev/s' };
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
