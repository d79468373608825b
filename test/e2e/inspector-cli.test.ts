import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe } from 'node:test';
import type { RunningServer } from '../../src/server/index.js';
import { SUITE_INSTALL, conformanceNode } from '../conformance/run-suite.js';
import { ROOT, exited, grantTask, startWithUpstreams } from '../helpers.js';
import { verifies } from './verifies.js';

/**
 * The official MCP Inspector's CLI (`npx @modelcontextprotocol/inspector --cli`), run as its
 * own process, once straight against the everything server and once through the gateway with
 * a task credential, for each method it offers on tools, resources, prompts and logging; the
 * JSON it prints must be the same, apart from what the gateway documents it changes.
 * This is the Inspector v2 (`@modelcontextprotocol/inspector`, the package that command runs);
 * v1 and its separate `@modelcontextprotocol/inspector-cli` package are deprecated.
 *
 * The Inspector needs Node >= 22.19; the project runs on Node 20, so the CLI runs on the
 * Node 22 pinned beside the conformance suite (`npm ci --prefix test/conformance/suite`).
 * Without it the tests are skipped, except under CI, where that fails.
 */

const EVERYTHING_SERVER = join(ROOT, 'node_modules/@modelcontextprotocol/server-everything/dist/index.js');

/** The Inspector's launcher script (its `mcp-inspector` bin), or undefined when the package is not installed. */
function inspectorBin(): string | undefined {
  try {
    const manifest = createRequire(join(ROOT, 'package.json')).resolve('@modelcontextprotocol/inspector/package.json');
    const bin = JSON.parse(readFileSync(manifest, 'utf8')).bin as Record<string, string>;
    return join(dirname(manifest), bin['mcp-inspector']!);
  } catch {
    return undefined;
  }
}

const NODE22 = conformanceNode();
const INSPECTOR = inspectorBin();
const missing = !NODE22 ? `the Node 22 the Inspector needs is not installed (${SUITE_INSTALL})` : !INSPECTOR ? 'the MCP Inspector is not installed (npm ci)' : undefined;
if (missing && process.env.CI) throw new Error(`${missing}; under CI the Inspector tests must run`);

/** Upper bound for one CLI run; a run past it is killed and fails the test. */
const RUN_TIMEOUT_MS = 60_000;
/** CLI runs at once: each is a Node process, and a stdio target one more. */
const PARALLEL = 4;

interface Run {
  code: number | null;
  /** What the CLI printed on stdout with `--format json`: `{ result }`. */
  json: { result?: any } | undefined;
  stdout: string;
  stderr: string;
}

/** A folder for the CLI's HOME, so its catalog, client config and stored OAuth state (under ~/.mcp-inspector) are never the user's. */
const home = mkdtempSync(join(tmpdir(), 'mandate-inspector-'));
after(() => rmSync(home, { recursive: true, force: true }));

/**
 * `mcp-inspector --cli --format json <target> <args>` under Node 22; resolves once it exits. `--stored-auth-only`
 * keeps it from ever starting an interactive OAuth login.
 */
function inspector(target: string[], args: string[]): Promise<Run> {
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: home, NO_COLOR: '1' };
  // The test runner's own variables must not reach the CLI.
  delete env.NODE_OPTIONS;
  delete env.NODE_TEST_CONTEXT;
  return new Promise((resolve, reject) => {
    const child = spawn(NODE22!, [INSPECTOR!, '--cli', '--format', 'json', '--stored-auth-only', ...args, ...target], { cwd: home, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), RUN_TIMEOUT_MS);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (signal) return reject(new Error(`mcp-inspector --cli ${args.join(' ')} was killed (${signal}) after ${RUN_TIMEOUT_MS} ms:\n${stderr}`));
      let json: Run['json'];
      try {
        json = stdout.trim() ? JSON.parse(stdout) : undefined;
      } catch {
        json = undefined;
      }
      resolve({ code, json, stdout, stderr });
    });
  });
}

/** `jobs` run at most `PARALLEL` at a time; results in the order given. */
async function bounded<T>(jobs: (() => Promise<T>)[]): Promise<T[]> {
  const results: T[] = new Array(jobs.length);
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const i = next++;
      results[i] = await jobs[i]!();
    }
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL, jobs.length) }, worker));
  return results;
}

/** The result of a run that must have succeeded. */
function result(run: Run, what: string): any {
  assert.equal(run.code, 0, `${what} exited ${run.code}:\n${run.stderr}\n${run.stdout}`);
  assert.ok(run.json && 'result' in run.json, `${what} printed no result:\n${run.stdout}`);
  return run.json.result;
}

/** `_meta` without `key`, or no `_meta` at all when nothing else was in it, as the upstream sent it. */
function withoutMeta<T extends { _meta?: Record<string, unknown> }>(value: T, key: string): T {
  const { [key]: _, ...rest } = value._meta ?? {};
  const { _meta, ...bare } = value;
  return (Object.keys(rest).length > 0 ? { ...bare, _meta: rest } : bare) as T;
}

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const port = (probe.address() as { port: number }).port;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

/** The everything server over Streamable HTTP on `port`, once it listens. */
async function startHttpUpstream(port: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, [EVERYTHING_SERVER, 'streamableHttp'], { env: { ...process.env, PORT: String(port) }, stdio: ['ignore', 'ignore', 'pipe'] });
  await new Promise<void>((resolve, reject) => {
    child.stderr!.on('data', (chunk: Buffer) => (/listening on port/.test(chunk.toString()) ? resolve() : undefined));
    child.once('exit', (code) => reject(new Error(`the everything server exited with ${code}`)));
  });
  return child;
}

const READ = { kind: 'read', risk: 'low' };
/** The upstream's tools in the catalog; `get-env` is there but not in the mandate, so the task must not see it. */
const TOOLS = { echo: READ, 'get-sum': READ, 'get-env': READ };
const DOCS = 'demo://resource/static/document/';
const MANDATE = {
  purpose: 'inspect the everything server',
  tools: [
    'everything.echo',
    { name: 'everything.get-sum', args: { a: { max: 10 } } },
    { name: 'everything.resources', args: { uri: { prefix: DOCS } } },
    'everything.prompts',
  ],
  ttlSeconds: 600,
};
const DECLARED_TOOLS = ['echo', 'get-sum'];

/**
 * Each method as the Inspector's CLI takes it, with the upstream's own tool and prompt names. The CLI
 * reads `--tool-arg` values as JSON, so `a=2` is the number 2, which the mandate's `max` on `a` checks.
 */
const METHODS = {
  tools: ['--method', 'tools/list'],
  echo: ['--method', 'tools/call', '--tool-name', 'echo', '--tool-arg', 'message=hello from the inspector'],
  sum: ['--method', 'tools/call', '--tool-name', 'get-sum', '--tool-arg', 'a=2', 'b=3'],
  resources: ['--method', 'resources/list'],
  templates: ['--method', 'resources/templates/list'],
  read: ['--method', 'resources/read', '--uri', `${DOCS}architecture.md`],
  prompts: ['--method', 'prompts/list'],
  prompt: ['--method', 'prompts/get', '--prompt-name', 'args-prompt', '--prompt-args', 'city=Lyon', 'state=ARA'],
  setLevel: ['--method', 'logging/setLevel', '--log-level', 'warning'],
};
type Method = keyof typeof METHODS;

/** The arguments of one method, a tool or prompt name turned into the name the gateway exposes. */
function argsFor(method: Method, exposed: (name: string) => string): string[] {
  const args = [...METHODS[method]];
  for (const flag of ['--tool-name', '--prompt-name']) {
    const i = args.indexOf(flag);
    if (i >= 0) args[i + 1] = exposed(args[i + 1]!);
  }
  return args;
}

const UPSTREAMS = [
  // The default exposure, `<upstream>_<tool>`.
  { transport: 'stdio', expose: undefined, exposed: (name: string) => `everything_${name}` },
  // The upstream's own names (`expose.prefix: ""`).
  { transport: 'http', expose: { prefix: '' }, exposed: (name: string) => name },
] as const;

for (const { transport, expose, exposed } of UPSTREAMS) {
  describe(`the MCP Inspector CLI through the gateway, ${transport} upstream (the everything server)`, { skip: missing ?? false }, () => {
    let server: RunningServer;
    let stop: () => Promise<void>;
    let upstream: ChildProcess | undefined;
    /** The CLI's target straight to the everything server, and through the gateway with the task credential. */
    let direct: string[];
    let gateway: string[];

    before(async () => {
      let config: Record<string, unknown>;
      if (transport === 'stdio') {
        config = { transport: 'stdio', command: process.execPath, args: [EVERYTHING_SERVER, 'stdio'] };
        direct = ['--', process.execPath, EVERYTHING_SERVER, 'stdio'];
      } else {
        const port = await freePort();
        upstream = await startHttpUpstream(port);
        const url = `http://127.0.0.1:${port}/mcp`;
        config = { transport: 'http', url };
        direct = ['--', url];
      }
      ({ server, close: stop } = await startWithUpstreams({
        everything: { ...config, ...(expose ? { expose } : {}), timeoutMs: 20_000, tools: TOOLS, resources: READ, prompts: READ },
      }));
      const task = await grantTask(server.url, 'report-bot', MANDATE);
      assert.equal(task.status, 201, JSON.stringify(task.body));
      gateway = ['--header', `Authorization: Bearer ${task.credential}`, '--', `${server.url}/mcp`];
    });
    after(async () => {
      await stop?.();
      upstream?.kill();
      if (upstream) await exited(upstream);
    });

    verifies('gateway:mcp:inspector-cli', 'tools, a call, resources, templates, prompts and the log level: the same answers as straight from the upstream', { timeout: 240_000 }, async () => {
      const methods = Object.keys(METHODS) as Method[];
      const runs = await bounded(methods.flatMap((m) => [() => inspector(direct, argsFor(m, (n) => n)), () => inspector(gateway, argsFor(m, exposed))]));
      const got = Object.fromEntries(methods.map((m, i) => [m, { direct: result(runs[2 * i]!, `${m} (direct)`), gateway: result(runs[2 * i + 1]!, `${m} (through the gateway)`) }])) as Record<Method, { direct: any; gateway: any }>;

      // tools/list: the declared tools only, each under its exposed name with its policy name in `_meta`, otherwise as the upstream lists it.
      const directTools = new Map<string, any>(got.tools.direct.tools.map((t: any) => [t.name, t]));
      assert.ok(directTools.has('get-env'), 'the upstream lists a tool the mandate does not declare');
      const shown = got.tools.gateway.tools as any[];
      assert.deepEqual(shown.map((t) => t.name).sort(), DECLARED_TOOLS.map(exposed).sort());
      for (const tool of shown) {
        const own = String(tool._meta?.['mandate/tool']).replace(/^everything\./, '');
        assert.equal(tool._meta?.['mandate/tool'], `everything.${own}`);
        assert.equal(tool.name, exposed(own));
        assert.deepEqual({ ...withoutMeta(tool, 'mandate/tool'), name: own }, directTools.get(own));
      }

      // tools/call: the upstream's result, with the decision that allowed it in `_meta`.
      for (const m of ['echo', 'sum'] as const) {
        const { gateway: via, direct: straight } = got[m];
        assert.equal(via._meta?.['mandate/decision']?.outcome, 'allow', JSON.stringify(via));
        assert.equal(via._meta?.['mandate/decision']?.code, 'policy.permit');
        assert.deepEqual(withoutMeta(via, 'mandate/decision'), straight);
      }
      assert.deepEqual(got.echo.direct.content, [{ type: 'text', text: 'Echo: hello from the inspector' }]);
      assert.deepEqual(got.sum.direct.content, [{ type: 'text', text: 'The sum of 2 and 3 is 5.' }]);

      // Resources, templates, a read, and logging/setLevel: unchanged.
      assert.ok(got.resources.direct.resources.some((r: any) => r.uri === `${DOCS}architecture.md`), JSON.stringify(got.resources.direct));
      assert.ok(got.templates.direct.resourceTemplates.length > 0);
      assert.match(JSON.stringify(got.read.direct.contents), /Architecture/);
      for (const m of ['resources', 'templates', 'read', 'setLevel'] as const) assert.deepEqual(got[m].gateway, got[m].direct, m);
      assert.deepEqual(got.setLevel.direct, {});

      // Prompts: listed under their exposed names, otherwise the same; a prompt with arguments gives the same messages.
      assert.deepEqual(
        got.prompts.gateway.prompts,
        got.prompts.direct.prompts.map((p: any) => ({ ...p, name: exposed(p.name) })),
      );
      assert.deepEqual(got.prompt.direct.messages, [{ role: 'user', content: { type: 'text', text: "What's weather in Lyon, ARA?" } }]);
      assert.deepEqual(got.prompt.gateway, got.prompt.direct);
    });

    verifies('gateway:mcp:inspector-cli', 'a call the mandate refuses is a tool error the CLI prints; a resource outside it an error; an undeclared tool is not there', { timeout: 120_000 }, async () => {
      const sum = ['--method', 'tools/call', '--tool-arg', 'a=40', 'b=2', '--tool-name'];
      const [allowedDirect, refused, outside, hidden] = (await bounded([
        () => inspector(direct, [...sum, 'get-sum']),
        () => inspector(gateway, [...sum, exposed('get-sum')]),
        () => inspector(gateway, ['--method', 'resources/read', '--uri', 'demo://resource/dynamic/text/1']),
        () => inspector(gateway, ['--method', 'tools/call', '--tool-name', exposed('get-env')]),
      ])) as [Run, Run, Run, Run];
      // The same call straight to the upstream succeeds: the refusal is the gateway's.
      assert.deepEqual(result(allowedDirect, 'get-sum a=40 (direct)').content, [{ type: 'text', text: 'The sum of 40 and 2 is 42.' }]);

      // The CLI prints the tool error as the result and exits with its tool-error code (5), not a crash.
      assert.equal(refused.code, 5, refused.stderr);
      const error = refused.json?.result;
      assert.equal(error?.isError, true, refused.stdout);
      assert.deepEqual(error.content, [{ type: 'text', text: 'denied (mandate.arg_constraint): argument `a` must be at most 10' }]);
      assert.equal(error._meta?.['mandate/decision']?.outcome, 'deny');
      assert.equal(error._meta?.['mandate/decision']?.code, 'mandate.arg_constraint');
      assert.equal(JSON.parse(refused.stderr.trim().split('\n').at(-1)!).error.code, 'tool_is_error', refused.stderr);

      // A refused read is a JSON-RPC error: the CLI's error envelope carries the reason.
      assert.equal(outside.code, 1, outside.stderr);
      assert.match(outside.stderr, /denied \(mandate\.arg_constraint\): argument `uri` must start with/);

      // A tool the mandate does not declare is not listed, so the CLI finds no such tool and never calls it.
      assert.equal(hidden.code, 5, hidden.stderr);
      assert.match(hidden.stderr, /"code":"tool_not_found"/);
    });
  });
}
