import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/**
 * Runs the server scenarios of the MCP conformance suite (`@modelcontextprotocol/conformance`)
 * against a Streamable HTTP MCP endpoint and returns one entry per check.
 *
 * The suite needs Node >= 22 (it imports `fs.globSync`); the project runs on Node 20. Both the
 * suite and a Node 22 binary (the npm package `node`) are pinned in their own package,
 * test/conformance/suite, installed with `npm ci --prefix test/conformance/suite`: as the
 * project's own devDependency, `node` would be linked as node_modules/.bin/node and so become
 * the `node` of every npm script and npx call, where better-sqlite3 (built for Node 20) fails.
 *
 * The suite is given `--suite all --spec-version <revision>` (every server scenario of that
 * revision, the pending ones too, run on that revision's wire: an initialize handshake and a
 * session up to 2025-11-25, per-request `_meta` from 2026-07-28) and `-o <temporary folder>`,
 * where it writes `server-<scenario>-<timestamp>/checks.json` per scenario; those files are
 * the results read here. It only talks to `url`.
 */

export type CheckStatus = 'pass' | 'fail' | 'warning' | 'skip' | 'info';

export interface ConformanceCheck {
  /** `<scenario>/<check id>`, e.g. `tools-call-sampling/tools-call-sampling`. */
  name: string;
  status: CheckStatus;
  /** Why a check failed or warned (the suite's errorMessage, else its description). */
  detail?: string;
}

export interface ConformanceRun {
  checks: ConformanceCheck[];
  /** The server scenarios the suite lists, each of which must have reported. */
  scenarios: string[];
  /** The suite's exit code: 0 when no check failed. */
  exitCode: number | null;
  /** The suite's stdout and stderr, for a failure message. */
  output: string;
}

export interface ConformanceOptions {
  /** Upper bound for the whole run; the suite is killed past it. Default 5 minutes. */
  timeoutMs?: number;
  /** `all` (default), `active` (the suite's default: all but pending and draft scenarios), `pending` or `draft`. */
  suite?: 'all' | 'active' | 'pending' | 'draft';
  /** The protocol revision whose scenarios run, on its own wire. Default 2025-11-25. */
  specVersion?: SpecVersion;
}

/** The revisions the fixture serves and the suite can hold it to. */
export type SpecVersion = '2025-11-25' | '2026-07-28';

/** The suite's own check status, as it writes it in checks.json. */
const STATUS: Record<string, CheckStatus> = { SUCCESS: 'pass', FAILURE: 'fail', WARNING: 'warning', SKIPPED: 'skip', INFO: 'info' };

/** The package that pins the suite and its Node 22 (source folder; the compiled module is in dist/test/conformance). */
export const SUITE_DIR = fileURLToPath(new URL('../../../test/conformance/suite/', import.meta.url));
export const SUITE_INSTALL = 'npm ci --prefix test/conformance/suite';

const require = createRequire(join(SUITE_DIR, 'package.json'));

function packageDir(name: string): string | undefined {
  try {
    return dirname(require.resolve(`${name}/package.json`));
  } catch {
    return undefined;
  }
}

/** The Node 22 binary of the suite package's `node` dependency, or undefined when it is not installed. */
export function conformanceNode(): string | undefined {
  const dir = packageDir('node');
  if (!dir) return undefined;
  const bin = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).bin as Record<string, string> | string | undefined;
  const path = join(dir, typeof bin === 'string' ? bin : (bin?.node ?? 'bin/node'));
  return existsSync(path) ? path : undefined;
}

/** The suite's CLI script, or undefined when the package is not installed. */
export function conformanceCli(): string | undefined {
  const dir = packageDir('@modelcontextprotocol/conformance');
  if (!dir) return undefined;
  const bin = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).bin as Record<string, string> | string | undefined;
  const path = join(dir, typeof bin === 'string' ? bin : (bin?.conformance ?? 'dist/index.js'));
  return existsSync(path) ? path : undefined;
}

interface Exit {
  code: number | null;
  output: string;
  timedOut: boolean;
}

/** Runs the CLI with `args` under `node`; resolves when it exits or, past the deadline, once it has been killed. */
function runCli(node: string, cli: string, args: string[], cwd: string, timeoutMs: number): Promise<Exit> {
  // The test runner's own variables must not reach the suite's process.
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  delete env.NODE_TEST_CONTEXT;
  env.NO_COLOR = '1';
  return new Promise((resolve, reject) => {
    const child = spawn(node, [cli, ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output, timedOut });
    });
  });
}

/** The compiled fixture server that implements every server scenario (test/fixtures/conformance-server.ts). */
export const CONFORMANCE_SERVER = fileURLToPath(new URL('../fixtures/conformance-server.js', import.meta.url));

export interface RunningFixture {
  /** Its MCP endpoint, `http://127.0.0.1:<port>/mcp`. */
  url: string;
  child: ChildProcess;
  /** Ends the process (SIGTERM) and resolves once it has exited. */
  stop(): Promise<void>;
}

/** Starts the fixture server on a free port as a child process; resolves once it prints `listening <url>`. */
export function startConformanceServer(timeoutMs = 15_000): Promise<RunningFixture> {
  const child = spawn(process.execPath, [CONFORMANCE_SERVER, '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void stop();
      reject(new Error(`the conformance fixture did not listen within ${timeoutMs} ms`));
    }, timeoutMs);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const m = /^listening (\S+)$/.exec(line);
      if (!m) return;
      clearTimeout(timer);
      resolve({ url: m[1]!, child, stop });
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`the conformance fixture exited with ${code ?? signal} before it listened`));
    });
  });
}

/** `server-<scenario>-<ISO timestamp with - for : and .>`, as the suite names a result folder. */
const RESULT_DIR = /^server-(.+)-\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}-\d{3}Z$/;

export async function runConformance(url: string, options: ConformanceOptions = {}): Promise<ConformanceRun> {
  const node = conformanceNode();
  const cli = conformanceCli();
  if (!node || !cli) throw new Error(`the conformance suite or its Node 22 is not installed: run ${SUITE_INSTALL}`);
  const timeoutMs = options.timeoutMs ?? 300_000;
  const suite = options.suite ?? 'all';
  const specVersion = options.specVersion ?? '2025-11-25';
  const deadline = Date.now() + timeoutMs;
  const out = mkdtempSync(join(tmpdir(), 'mcp-conformance-'));
  try {
    // The scenarios of the revision: `list --server --spec-version <v>` prints `  - <name> [<spec versions>]`.
    const listArgs = ['list', '--server', '--spec-version', specVersion];
    const list = await runCli(node, cli, listArgs, out, timeoutMs);
    if (list.timedOut || list.code !== 0) throw new Error(`conformance ${listArgs.join(' ')} failed (exit ${list.code}${list.timedOut ? ', timed out' : ''}):\n${list.output}`);
    const all = [...list.output.matchAll(/^\s+- (\S+)/gm)].map((m) => m[1]!);
    if (all.length === 0) throw new Error(`conformance list --server named no scenarios:\n${list.output}`);

    const args = ['server', '--url', url, '--suite', suite, '--spec-version', specVersion, '-o', out];
    const run = await runCli(node, cli, args, out, Math.max(1, deadline - Date.now()));

    const checks: ConformanceCheck[] = [];
    const reported = new Set<string>();
    for (const entry of readdirSync(out, { withFileTypes: true })) {
      const scenario = entry.isDirectory() ? RESULT_DIR.exec(entry.name)?.[1] : undefined;
      if (!scenario) continue;
      const file = join(out, entry.name, 'checks.json');
      if (!existsSync(file)) continue;
      reported.add(scenario);
      const raw = JSON.parse(readFileSync(file, 'utf8')) as { id: string; status: string; description?: string; errorMessage?: string }[];
      for (const c of raw) {
        const status = STATUS[c.status] ?? 'fail';
        const detail = c.errorMessage ?? (status === 'fail' || status === 'warning' ? (c.description ?? `status ${c.status}`) : undefined);
        checks.push({ name: `${scenario}/${c.id}`, status, ...(detail !== undefined ? { detail } : {}) });
      }
    }

    // A scenario that threw writes no checks.json; the suite then only prints it as failed.
    const scenarios = suite === 'all' ? all : [...reported];
    for (const scenario of scenarios.filter((s) => !reported.has(s))) {
      const line = run.output.split('\n').find((l) => l.includes(` ${scenario}:`));
      checks.push({ name: `${scenario}/(no results)`, status: 'fail', detail: line?.trim() ?? 'the scenario reported no results' });
    }
    if (run.timedOut) checks.push({ name: '(suite)/timeout', status: 'fail', detail: `the suite did not finish within ${timeoutMs} ms` });
    else if (run.code !== 0 && !checks.some((c) => c.status === 'fail')) {
      checks.push({ name: '(suite)/exit-code', status: 'fail', detail: `the suite exited with ${run.code} although no check failed` });
    }
    return { checks, scenarios, exitCode: run.code, output: run.output };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}
