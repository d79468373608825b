import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import YAML from 'yaml';
import { fileURLToPath } from 'node:url';
import { createLogger, loadConfig, startServer, type Config, type Logger, type LogLevel, type RunningServer } from '../src/server/index.js';
import type { ControlPlaneOptions } from '../src/server/index.js';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const EXAMPLE_CONFIG = `${ROOT}examples/mandate.yaml`;
export const ADMIN_TOKEN = 'test-admin-token-0123456789';

/** The server's JSON logger writing into memory: `lines` holds each line as written, `records` parses them. */
export function memoryLogger(level: LogLevel = 'info'): { logger: Logger; lines: string[]; records(): Record<string, unknown>[] } {
  const lines: string[] = [];
  const logger = createLogger(level, { write: (chunk: string) => void lines.push(...chunk.split('\n').filter(Boolean)) });
  return { logger, lines, records: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

/** The example configuration on an in-memory store and a free port. */
export function testConfig(env: Record<string, string> = {}): Config {
  return loadConfig(EXAMPLE_CONFIG, {
    MANDATE_STORE_URL: ':memory:',
    MANDATE_SERVER_PORT: '0',
    MANDATE_SERVER_ADMIN_TOKEN: ADMIN_TOKEN,
    MANDATE_POLICY_WATCH: 'false',
    ...env,
  });
}

export async function startTestServer(env: Record<string, string> = {}, opts: ControlPlaneOptions = {}): Promise<RunningServer> {
  return startServer(testConfig(env), opts);
}

/**
 * A server on the example configuration and policies as `edit` changes it, the file
 * (a name of its own: servers may share `dir`) and the secrets key in `dir`, on an
 * in-memory store unless `env` says otherwise.
 */
export async function startExampleServer(dir: string, edit: (config: Record<string, any>) => void, env: Record<string, string> = {}): Promise<RunningServer> {
  const config = YAML.parse(readFileSync(EXAMPLE_CONFIG, 'utf8'));
  config.policy.dir = join(ROOT, 'examples', 'policies');
  // The example's MCP servers run where the example file is, whatever folder this copy is written to.
  for (const upstream of Object.values<Record<string, unknown>>(config.upstreams ?? {})) if (upstream.transport === 'stdio') upstream.cwd ??= join(ROOT, 'examples');
  edit(config);
  const file = join(dir, `mandate-${randomUUID()}.yaml`);
  writeFileSync(file, YAML.stringify(config));
  return startServer(loadConfig(file, { MANDATE_STORE_URL: ':memory:', MANDATE_SECRETS_KEY_FILE: join(dir, 'k'), MANDATE_SERVER_PORT: '0', MANDATE_SERVER_ADMIN_TOKEN: ADMIN_TOKEN, MANDATE_POLICY_WATCH: 'false', ...env }));
}

/**
 * A server on the example configuration and policies with these MCP upstreams, on an
 * in-memory store, its config and key in a throwaway folder that `close` removes.
 */
export async function startWithUpstreams(upstreams: Record<string, unknown>): Promise<{ server: RunningServer; close(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'mandate-upstreams-'));
  const server = await startExampleServer(dir, (config) => void (config.upstreams = upstreams));
  return {
    server,
    close: async () => {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * The PostgreSQL URL for tests that need the real server. Under CI it must be
 * there: a missing database fails the run rather than skipping it.
 */
export function postgresUrl(): string | undefined {
  const url = process.env.MANDATE_TEST_POSTGRES_URL;
  if (!url && process.env.CI) throw new Error('MANDATE_TEST_POSTGRES_URL is not set, and under CI the PostgreSQL tests must run');
  return url;
}

export async function http(
  base: string,
  path: string,
  init: { method?: string; token?: string; body?: unknown; rawBody?: string; headers?: Record<string, string> } = {},
): Promise<{ status: number; body: any; text: string }> {
  const headers: Record<string, string> = { ...(init.headers ?? {}) };
  if (init.token) headers.authorization = `Bearer ${init.token}`;
  if (init.body !== undefined || init.rawBody !== undefined) headers['content-type'] ??= 'application/json';
  const res = await fetch(`${base}${path}`, {
    method: init.method ?? (init.body !== undefined || init.rawBody !== undefined ? 'POST' : 'GET'),
    headers,
    body: init.rawBody ?? (init.body === undefined ? undefined : JSON.stringify(init.body)),
  });
  const text = await res.text();
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  return { status: res.status, body, text };
}

/** Registered agent → join token → SVID → granted task, over the real API. */
export async function grantTask(base: string, agent: string, mandate: unknown): Promise<{ svid: string; taskId: string; credential: string; status: number; body: any }> {
  const jt = await http(base, `/v1/agents/${agent}/join-tokens`, { token: ADMIN_TOKEN, body: {} });
  const at = await http(base, '/v1/attest/join-token', { body: { token: jt.body.token } });
  const res = await http(base, '/v1/tasks', { token: at.body.svid, body: mandate });
  return { svid: at.body.svid, taskId: res.body?.task?.id, credential: res.body?.credential, status: res.status, body: res.body };
}

/** Drops a test schema so runs against the shared database leave nothing behind. */
export async function dropPostgresSchema(url: string, schema: string): Promise<void> {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS "${schema.replace(/"/g, '')}" CASCADE`);
  } finally {
    await client.end();
  }
}

/** Waits for a condition with a bounded deadline instead of sleeping a fixed time. */
export async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 10_000, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Starts `mandate serve` as its own process (one worker unless `env` says otherwise) and resolves with its URL once it listens. */
export async function serve(config: string, env: Record<string, string> = {}): Promise<{ url: string; child: ChildProcess; output: string[] }> {
  const child = spawn(process.execPath, [`${ROOT}bin/mandate.js`, 'serve', '--config', config], {
    env: { ...process.env, MANDATE_SERVER_PORT: '0', MANDATE_SERVER_WORKERS: '1', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const output: string[] = [];
  const url = await new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      output.push(line);
      const m = /mandate listening on (\S+)/.exec(line);
      if (m) resolve(m[1]!);
    });
    child.once('exit', (code, signal) => reject(new Error(`mandate serve exited with ${code ?? signal}: ${output.join('\n')}`)));
  });
  return { url, child, output };
}

/** Resolves once the child process has exited (at once if it already has). */
export function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((resolve) => child.once('exit', () => resolve()));
}

/** Runs the installed CLI from the repository root; resolves with its exit code and output whatever the code. */
export function runCli(args: string[], env: Record<string, string> = {}, stdin?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [`${ROOT}bin/mandate.js`, ...args], { cwd: ROOT, env: { ...process.env, ...env } }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? -1) : 0, stdout, stderr });
    });
    child.stdin?.end(stdin ?? '');
  });
}
