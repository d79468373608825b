import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import YAML from 'yaml';
import { loadConfig, startServer, type RunningServer } from '../src/server/index.js';

export interface BenchSetup {
  server: RunningServer;
  /** A task credential for these tools, granted through the real API. */
  grant(tools: string[]): Promise<string>;
  close(): Promise<void>;
}

/** Starts a fixture upstream in its own process; resolves with the port it printed. */
export async function startUpstream(root: string, fixture: string): Promise<{ port: string; stop(): void }> {
  const child = spawn(process.execPath, [join(root, 'dist/bench/fixtures', fixture)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve);
    child.once('exit', () => reject(new Error(`the benchmark upstream ${fixture} exited`)));
  });
  return { port, stop: () => void child.kill() };
}

/** A task credential for report-bot, granted through the real API: join token, SVID, mandate. */
export async function grantTask(url: string, adminToken: string, tools: unknown[]): Promise<string> {
  const post = async (path: string, body: unknown, token?: string) =>
    (await fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) }, body: JSON.stringify(body) })).json() as Promise<any>;
  const { token } = await post('/v1/agents/report-bot/join-tokens', {}, adminToken);
  const { svid } = await post('/v1/attest/join-token', { token });
  const granted = await post('/v1/tasks', { purpose: 'benchmark', tools, ttlSeconds: 3600 }, svid);
  if (typeof granted.credential !== 'string') throw new Error(`granting a benchmark task: ${JSON.stringify(granted)}`);
  return granted.credential;
}

/**
 * The example configuration, changed by `adjust`, written to a throwaway folder,
 * with the variables that put its store and key there (a free port, no policy
 * watching): for a server in process or a `mandate serve` child alike.
 */
export function writeBenchConfig(root: string, adminToken: string, adjust: (config: Record<string, any>) => void): { dir: string; file: string; env: Record<string, string> } {
  const dir = mkdtempSync(join(tmpdir(), 'mandate-bench-'));
  const config = YAML.parse(readFileSync(join(root, 'examples', 'mandate.yaml'), 'utf8')) as Record<string, any>;
  config.policy.dir = join(root, 'examples', 'policies');
  adjust(config);
  const file = join(dir, 'mandate.yaml');
  writeFileSync(file, YAML.stringify(config));
  const env = {
    MANDATE_STORE_URL: `file:${join(dir, 'bench.db')}`,
    MANDATE_SECRETS_KEY_FILE: join(dir, 'secrets.key'),
    MANDATE_SERVER_PORT: '0',
    MANDATE_SERVER_ADMIN_TOKEN: adminToken,
    MANDATE_POLICY_WATCH: 'false',
  };
  return { dir, file, env };
}

/** The example configuration, changed by `adjust`, on a throwaway SQLite file. */
export async function startBenchServer(root: string, adminToken: string, adjust: (config: Record<string, any>) => void): Promise<BenchSetup> {
  const { dir, file, env } = writeBenchConfig(root, adminToken, adjust);
  const server = await startServer(loadConfig(file, env));
  return {
    server,
    grant: (tools) => grantTask(server.url, adminToken, tools),
    close: async () => {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * The lean echo MCP upstream (bench/fixtures/echo-mcp-http-server.ts) in its own
 * process and a bench server whose gateway fronts it as `echo.echo`; both stopped
 * once `run` settles.
 */
export async function withEchoGateway<T>(root: string, adminToken: string, run: (setup: BenchSetup, upstreamUrl: string) => Promise<T>): Promise<T> {
  const upstream = await startUpstream(root, 'echo-mcp-http-server.js');
  const upstreamUrl = `http://127.0.0.1:${upstream.port}/mcp`;
  try {
    const setup = await startBenchServer(root, adminToken, (config) => {
      config.upstreams = { echo: { transport: 'http', url: upstreamUrl, tools: { echo: { kind: 'read', risk: 'low' }, progress: { kind: 'read', risk: 'low' } } } };
    });
    try {
      return await run(setup, upstreamUrl);
    } finally {
      await setup.close();
    }
  } finally {
    upstream.stop();
  }
}
