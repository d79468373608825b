import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import YAML from 'yaml';
import { serve } from '../test/helpers.js';
import { summarize, type Metrics } from './stats.js';

const REVOCATIONS = Number(process.env.BENCH_REVOCATIONS ?? 200);

/** Two replicas on the real PostgreSQL, started: `run` measures, `stop` ends them. */
export interface RevocationBench {
  run(metrics: Metrics): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Two replicas on the real PostgreSQL: revoke a task on A, then ask B until it
 * refuses. Propagation is the time from A's answer (the revocation is committed)
 * to B's first refusal, polled as fast as B answers.
 */
export async function benchRevocation(root: string, adminToken: string, metrics: Metrics): Promise<void> {
  const bench = await startRevocation(root, adminToken, metrics);
  if (!bench) return;
  try {
    await bench.run(metrics);
  } finally {
    await bench.stop();
  }
}

/**
 * Starts the two replicas of `benchRevocation` (nothing is timed yet). Undefined (the
 * metrics then say skipped) without a PostgreSQL.
 */
export async function startRevocation(root: string, adminToken: string, metrics: Metrics): Promise<RevocationBench | undefined> {
  const pgUrl = process.env.MANDATE_BENCH_POSTGRES_URL ?? process.env.MANDATE_TEST_POSTGRES_URL;
  if (!pgUrl) {
    process.stderr.write('revocation propagation: skipped (set MANDATE_BENCH_POSTGRES_URL to a PostgreSQL to run it)\n');
    metrics['revocation.propagation_p50_ms'] = { value: Number.NaN, unit: 'ms', note: 'skipped: no PostgreSQL configured' };
    metrics['revocation.propagation_p99_ms'] = { value: Number.NaN, unit: 'ms', note: 'skipped: no PostgreSQL configured' };
    return undefined;
  }
  const dir = mkdtempSync(join(tmpdir(), 'mandate-bench-replicas-'));
  const schema = `mandate_bench_${process.pid}_${Date.now()}`;
  const config = YAML.parse(readFileSync(join(root, 'examples', 'mandate.yaml'), 'utf8'));
  config.policy = { dir: join(root, 'examples', 'policies'), watch: false };
  delete config.upstreams;
  config.store = { url: `${pgUrl}${pgUrl.includes('?') ? '&' : '?'}schema=${schema}` };
  config.server = { host: '127.0.0.1', port: 0, adminToken };
  config.secrets = { keyFile: join(dir, 'secrets.key') };
  config.monitor = { denialsPerMinute: 1000 };
  writeFileSync(join(dir, 'mandate.yaml'), YAML.stringify(config));
  const replicas: { url: string; child: ChildProcess }[] = [];
  const stop = async () => {
    for (const r of replicas) r.child.kill();
    await Promise.all(replicas.map((r) => new Promise((res) => (r.child.exitCode !== null ? res(null) : r.child.once('exit', res)))));
    replicas.length = 0;
    const admin = new pg.Client({ connectionString: pgUrl });
    await admin.connect();
    await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).finally(() => admin.end());
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    // One after the other: each registers the configuration's agents at start.
    replicas.push(await serve(join(dir, 'mandate.yaml'), { MANDATE_AUDIT_SEGMENT: 'bench-a' }));
    replicas.push(await serve(join(dir, 'mandate.yaml'), { MANDATE_AUDIT_SEGMENT: 'bench-b' }));
    const a = replicas[0]!;
    const b = replicas[1]!;
    const post = async (url: string, path: string, body: unknown, token?: string) =>
      (await fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) }, body: JSON.stringify(body) })).json() as Promise<any>;
    return {
      stop,
      run: async (metrics) => {
        const { token } = await post(a.url, '/v1/agents/report-bot/join-tokens', {}, adminToken);
        const { svid } = await post(a.url, '/v1/attest/join-token', { token });
        const samples: number[] = [];
        for (let i = 0; i < REVOCATIONS; i++) {
          const { task, credential } = await post(a.url, '/v1/tasks', { purpose: 'bench', tools: ['files.read'], ttlSeconds: 600 }, svid);
          const decideOnB = async () => (await post(b.url, '/v1/decide', { credential, tool: 'files.read', args: { path: '/srv/a' } })).reason.code as string;
          if ((await decideOnB()) !== 'policy.permit') throw new Error('replica B did not allow the fresh task');
          await post(a.url, '/v1/revocations', { kind: 'task', subject: task.id }, adminToken);
          const t0 = performance.now();
          const deadline = t0 + 10_000;
          while ((await decideOnB()) !== 'credential.revoked') {
            if (performance.now() > deadline) throw new Error('a revocation did not reach replica B within 10 s');
          }
          samples.push(performance.now() - t0);
        }
        const s = summarize(samples);
        metrics['revocation.propagation_p50_ms'] = { value: Math.round(s.p50 * 1000) / 1000, unit: 'ms' };
        metrics['revocation.propagation_p99_ms'] = { value: Math.round(s.p99 * 1000) / 1000, unit: 'ms' };
      },
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
