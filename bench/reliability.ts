import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { loadConfig, startServer } from '../src/server/index.js';
import { FaultProxy } from '../test/fault-proxy.js';
import { summarize, type Metrics } from './stats.js';

const ROUNDS = Number(process.env.BENCH_OUTAGE_ROUNDS ?? 3);
const OUTAGE_RATE = 100; // decisions per second while the store is black-holed
const OUTAGE_SECONDS = 3;

/**
 * One replica on the real PostgreSQL behind a TCP proxy that black-holes every
 * packet (nothing refused, nothing answered), with the shipped defaults
 * (`store.answerWithinMs` 250, `store.probeMs` 200). Measures how long each
 * decision made during the outage takes to be answered (open loop, 100/s for
 * 3 s), and, once traffic flows again, the time to the first allow.
 */
export async function benchReliability(root: string, adminToken: string, metrics: Metrics): Promise<void> {
  const pgUrl = process.env.MANDATE_BENCH_POSTGRES_URL ?? process.env.MANDATE_TEST_POSTGRES_URL;
  if (!pgUrl) {
    process.stderr.write('store outage: skipped (set MANDATE_BENCH_POSTGRES_URL to a PostgreSQL to run it)\n');
    for (const k of ['reliability.outage_answer_p99_ms', 'reliability.recovery_ms']) metrics[k] = { value: Number.NaN, unit: 'ms', note: 'skipped: no PostgreSQL configured' };
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'mandate-bench-outage-'));
  const schema = `mandate_bench_outage_${process.pid}_${Date.now()}`;
  const proxy = await FaultProxy.start(Number(new URL(pgUrl).port || 5432));
  const viaProxy = new URL(pgUrl);
  viaProxy.hostname = '127.0.0.1';
  viaProxy.port = String(proxy.port);
  viaProxy.searchParams.set('schema', schema);
  const server = await startServer(
    loadConfig(join(root, 'examples', 'mandate.yaml'), {
      MANDATE_STORE_URL: viaProxy.toString(),
      MANDATE_SERVER_PORT: '0',
      MANDATE_SERVER_ADMIN_TOKEN: adminToken,
      MANDATE_POLICY_WATCH: 'false',
      MANDATE_SECRETS_KEY_FILE: join(dir, 'secrets.key'),
      MANDATE_AUDIT_SPOOL_FILE: join(dir, 'spool.jsonl'),
    }),
  );
  const post = async (path: string, body: unknown, token?: string) =>
    (await fetch(`${server.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) }, body: JSON.stringify(body) })).json() as Promise<any>;
  try {
    const { token } = await post('/v1/agents/report-bot/join-tokens', {}, adminToken);
    const { svid } = await post('/v1/attest/join-token', { token });
    const { credential } = await post('/v1/tasks', { purpose: 'bench', tools: ['files.read'], ttlSeconds: 3600 }, svid);
    const decide = async () => (await post('/v1/decide', { credential, tool: 'files.read', args: { path: '/srv/a' } })).reason.code as string;
    for (let i = 0; i < 200; i++) await decide();
    const answerMs: number[] = [];
    const recoveryMs: number[] = [];
    let wrong = 0;
    for (let round = 0; round < ROUNDS; round++) {
      if ((await decide()) !== 'policy.permit') throw new Error('the benchmark task is not allowed before the outage');
      proxy.blackhole();
      const calls: Promise<void>[] = [];
      const start = performance.now();
      for (let i = 0; i < OUTAGE_RATE * OUTAGE_SECONDS; i++) {
        const due = start + (i * 1000) / OUTAGE_RATE;
        const wait = due - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        // Latency from when the call was due, so a stalled sender cannot hide waiting (coordinated omission).
        calls.push(
          decide().then((code) => {
            answerMs.push(performance.now() - due);
            if (code !== 'store.unreachable') wrong += 1;
          }),
        );
      }
      await Promise.all(calls);
      proxy.restore();
      const restoredAt = performance.now();
      const deadline = restoredAt + 30_000;
      while ((await decide()) !== 'policy.permit') {
        if (performance.now() > deadline) throw new Error('no allow within 30 s of the store coming back');
      }
      recoveryMs.push(performance.now() - restoredAt);
    }
    if (wrong > 0) throw new Error(`${wrong} decisions during the outage were not store.unreachable denials`);
    const s = summarize(answerMs);
    metrics['reliability.outage_answer_p50_ms'] = { value: Math.round(s.p50 * 10) / 10, unit: 'ms' };
    metrics['reliability.outage_answer_p99_ms'] = { value: Math.round(s.p99 * 10) / 10, unit: 'ms' };
    metrics['reliability.recovery_ms'] = { value: Math.round(Math.max(...recoveryMs)), unit: 'ms', note: `worst of ${ROUNDS} outages; each: ${recoveryMs.map((v) => Math.round(v)).join(', ')} ms` };
  } finally {
    await server.close();
    await proxy.close();
    const admin = new pg.Client({ connectionString: pgUrl });
    await admin.connect();
    await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).finally(() => admin.end());
    rmSync(dir, { recursive: true, force: true });
  }
}
