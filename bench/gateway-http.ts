import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import YAML from 'yaml';
import { loadConfig, startServer } from '../src/server/index.js';
import { runInChild } from './child.js';
import type { PairLoadRequest, PairLoadResult } from './pair-load.js';
import { summarize, type Metrics } from './stats.js';

const RATE = Number(process.env.BENCH_GATEWAY_RATE ?? 500);
const SECONDS = Number(process.env.BENCH_GATEWAY_SECONDS ?? 10);

/**
 * A REST GET round trip to the same upstream, directly and through the HTTP API
 * gateway (credential check, route match, decision with audit, streamed
 * response, result accounting), interleaved at a fixed 500 calls/s.
 */
export async function benchGatewayHttp(root: string, adminToken: string, metrics: Metrics): Promise<void> {
  const upstream = spawn(process.execPath, [join(root, 'dist/bench/fixtures/rest-upstream.js')], { stdio: ['ignore', 'pipe', 'inherit'] });
  const dir = mkdtempSync(join(tmpdir(), 'mandate-bench-http-'));
  try {
    const port = await new Promise<string>((resolve, reject) => {
      createInterface({ input: upstream.stdout! }).once('line', resolve);
      upstream.once('exit', () => reject(new Error('the benchmark upstream exited')));
    });
    const config = YAML.parse(readFileSync(join(root, 'examples', 'mandate.yaml'), 'utf8'));
    config.policy.dir = join(root, 'examples', 'policies');
    delete config.upstreams;
    config.apis = { billing: { baseUrl: `http://127.0.0.1:${port}`, routes: [{ method: 'GET', path: '/invoices/{id}', tool: 'getInvoice', kind: 'read', risk: 'low' }] } };
    writeFileSync(join(dir, 'mandate.yaml'), YAML.stringify(config));
    const server = await startServer(
      loadConfig(join(dir, 'mandate.yaml'), {
        MANDATE_STORE_URL: `file:${join(dir, 'bench.db')}`,
        MANDATE_SECRETS_KEY_FILE: join(dir, 'secrets.key'),
        MANDATE_SERVER_PORT: '0',
        MANDATE_SERVER_ADMIN_TOKEN: adminToken,
        MANDATE_POLICY_WATCH: 'false',
      }),
    );
    try {
      const post = async (path: string, body: unknown, token?: string) =>
        (await fetch(`${server.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) }, body: JSON.stringify(body) })).json() as Promise<any>;
      const { token } = await post('/v1/agents/report-bot/join-tokens', {}, adminToken);
      const { svid } = await post('/v1/attest/join-token', { token });
      const { credential } = await post('/v1/tasks', { purpose: 'benchmark', tools: ['billing.getInvoice'], ttlSeconds: 3600 }, svid);
      const result = await runInChild<PairLoadRequest, PairLoadResult>(new URL('./pair-load.js', import.meta.url), {
        direct: { url: `http://127.0.0.1:${port}/invoices/42` },
        via: { url: `${server.url}/proxy/billing/invoices/42`, headers: { authorization: `Bearer ${credential}` } },
        ratePerSecond: RATE,
        seconds: SECONDS,
        warmup: 300,
      });
      if (result.errors > 0) throw new Error(`${result.errors} HTTP calls failed`);
      const direct = summarize(result.directMs);
      const via = summarize(result.viaMs);
      const r = (v: number) => Math.round(v * 1000) / 1000;
      metrics['gateway.http.direct_p50_ms'] = { value: r(direct.p50), unit: 'ms' };
      metrics['gateway.http.via_p50_ms'] = { value: r(via.p50), unit: 'ms' };
      metrics['gateway.http.via_p99_ms'] = { value: r(via.p99), unit: 'ms' };
      metrics['gateway.http.added_p50_ms'] = { value: r(via.p50 - direct.p50), unit: 'ms' };
      metrics['gateway.http.added_p99_ms'] = { value: r(via.p99 - direct.p99), unit: 'ms' };
    } finally {
      await server.close();
    }
  } finally {
    upstream.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}
