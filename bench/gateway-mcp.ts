import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import YAML from 'yaml';
import { loadConfig, startServer } from '../src/server/index.js';
import { runInChild } from './child.js';
import type { McpLoadRequest, McpLoadResult } from './mcp-load.js';
import { summarize, type Metrics } from './stats.js';

const RATE = Number(process.env.BENCH_GATEWAY_RATE ?? 500);
const SECONDS = Number(process.env.BENCH_GATEWAY_SECONDS ?? 10);

/**
 * An MCP tools/call round trip to the same upstream over Streamable HTTP,
 * directly and through the gateway (credential check, decision with audit,
 * result accounting), interleaved on one schedule at a fixed 500 calls/s.
 */
export async function benchGatewayMcp(root: string, adminToken: string, metrics: Metrics): Promise<void> {
  const upstream = spawn(process.execPath, [join(root, 'dist/bench/fixtures/echo-mcp-http-server.js')], { stdio: ['ignore', 'pipe', 'inherit'] });
  const dir = mkdtempSync(join(tmpdir(), 'mandate-bench-mcp-'));
  try {
    const port = await new Promise<string>((resolve, reject) => {
      createInterface({ input: upstream.stdout! }).once('line', resolve);
      upstream.once('exit', () => reject(new Error('the benchmark upstream exited')));
    });
    const upstreamUrl = `http://127.0.0.1:${port}/mcp`;
    const config = YAML.parse(readFileSync(join(root, 'examples', 'mandate.yaml'), 'utf8'));
    config.policy.dir = join(root, 'examples', 'policies');
    config.upstreams = { echo: { transport: 'http', url: upstreamUrl, tools: { echo: { kind: 'read', risk: 'low' } } } };
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
      const { credential } = await post('/v1/tasks', { purpose: 'benchmark', tools: ['echo.echo'], ttlSeconds: 3600 }, svid);
      const request: McpLoadRequest = {
        direct: { url: upstreamUrl, tool: 'echo' },
        via: { url: `${server.url}/mcp`, tool: 'echo.echo', credential },
        ratePerSecond: RATE,
        seconds: SECONDS,
        warmup: 300,
      };
      const result = await runInChild<McpLoadRequest, McpLoadResult>(new URL('./mcp-load.js', import.meta.url), request);
      if (result.errors > 0) throw new Error(`${result.errors} MCP calls failed`);
      const direct = summarize(result.directMs);
      const via = summarize(result.viaMs);
      const r = (v: number) => Math.round(v * 1000) / 1000;
      metrics['gateway.mcp.direct_p50_ms'] = { value: r(direct.p50), unit: 'ms' };
      metrics['gateway.mcp.via_p50_ms'] = { value: r(via.p50), unit: 'ms' };
      metrics['gateway.mcp.via_p99_ms'] = { value: r(via.p99), unit: 'ms' };
      metrics['gateway.mcp.added_p50_ms'] = { value: r(via.p50 - direct.p50), unit: 'ms' };
      metrics['gateway.mcp.added_p99_ms'] = { value: r(via.p99 - direct.p99), unit: 'ms' };
    } finally {
      await server.close();
    }
  } finally {
    upstream.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}
