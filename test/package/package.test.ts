import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { ROOT } from '../helpers.js';

const run = promisify(execFile);
const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';

/**
 * The package as people install it: `npm pack` (scripts off, the build is already
 * there: packing here must not rebuild the dist the other tests run from), then
 * `npm install` of the tarball into an empty folder, from npm's cache where it can.
 */
describe('the packed package', () => {
  let dir: string;
  let files: string[];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mandate-package-'));
    const packed = await run(NPM, ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], { cwd: ROOT, maxBuffer: 32 * 1024 * 1024 });
    const [info] = JSON.parse(packed.stdout) as { filename: string; files: { path: string }[] }[];
    files = info!.files.map((f) => f.path);
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
    await run(NPM, ['install', '--prefer-offline', '--ignore-scripts', '--no-audit', '--no-fund', '--omit=dev', join(dir, info!.filename)], { cwd: dir, maxBuffer: 32 * 1024 * 1024 });
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('ships the build, the CLI and the examples, and none of the tests', () => {
    for (const f of ['bin/mandate.js', 'dist/src/cli/main.js', 'dist/src/sdk/index.js', 'dist/src/sdk/index.d.ts', 'dist/console/index.html', 'examples/mandate.yaml', 'README.md']) assert.ok(files.includes(f), `${f} is packed`);
    assert.deepEqual(files.filter((f) => /\.test\.|^dist\/(test|bench)\//.test(f)), []);
  });

  it('`import "mandate/sdk"` works in a project that installed it, and loads none of the server', async () => {
    const probe = `
      const before = new Set(Object.keys(globalThis));
      const sdk = await import('mandate/sdk');
      const root = await import('mandate');
      console.log(JSON.stringify({ exports: Object.keys(sdk).sort(), same: sdk.AgentClient === root.AgentClient }));
    `;
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', probe], { cwd: dir });
    const out = JSON.parse(stdout) as { exports: string[]; same: boolean };
    for (const name of ['AgentClient', 'TaskHandle', 'MandateApiError', 'NotAuthorizedError']) assert.ok(out.exports.includes(name), `${name} is exported`);
    assert.equal(out.same, true);
    // What the SDK module graph pulls in: nothing but itself (src/sdk/runtime-free.test.ts checks the source; this checks the package).
    const loaded = await run(process.execPath, ['--input-type=module', '-e', `await import('mandate/sdk'); const { createRequire } = await import('node:module'); console.log(Object.keys(createRequire(import.meta.url).cache).length)`], { cwd: dir });
    assert.equal(loaded.stdout.trim(), '0', 'no CommonJS dependency (fastify, pg, better-sqlite3, …) was loaded');
  });

  it('the framework adapters are subpath exports with types, and their frameworks are optional peers an install leaves out', async () => {
    for (const adapter of ['ai-sdk', 'openai-agents', 'langchain', 'common']) {
      for (const ext of ['js', 'd.ts']) assert.ok(files.includes(`dist/src/adapters/${adapter}/index.${ext}`), `${adapter}/index.${ext} is packed`);
    }
    const installed = JSON.parse(readFileSync(join(dir, 'node_modules', 'mandate', 'package.json'), 'utf8')) as { exports: Record<string, { types: string; default: string }> };
    for (const adapter of ['ai-sdk', 'openai-agents', 'langchain']) {
      const entry = installed.exports[`./${adapter}`]!;
      for (const file of [entry.types, entry.default]) assert.ok(files.includes(file.replace(/^\.\//, '')), `${file} of ./${adapter} is packed`);
    }
    const probe = `
      const out = {};
      for (const name of ['ai-sdk', 'openai-agents', 'langchain']) {
        try { out[name] = Object.keys(await import('mandate/' + name)).sort(); } catch (e) { out[name] = e.code + ': ' + /'([^']+)'/.exec(e.message)?.[1]; }
      }
      const { createRequire } = await import('node:module');
      out.commonJs = Object.keys(createRequire(import.meta.url).cache).length;
      console.log(JSON.stringify(out));
    `;
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', probe], { cwd: dir });
    const out = JSON.parse(stdout) as Record<string, unknown>;
    // The AI SDK adapter loads the AI SDK's MCP client only when it is asked for the gateway's tools.
    for (const name of ['mandateTool', 'mandateTools', 'mandateMcp', 'RenewingTask', 'MandateRefusal']) assert.ok((out['ai-sdk'] as string[]).includes(name), `mandate/ai-sdk exports ${name}`);
    assert.equal(out['openai-agents'], 'ERR_MODULE_NOT_FOUND: @openai/agents');
    assert.equal(out.langchain, 'ERR_MODULE_NOT_FOUND: @langchain/core');
    assert.equal(out.commonJs, 0, 'no CommonJS dependency of the server was loaded');
  });

  it('the installed CLI runs', async () => {
    const { stdout } = await run(process.execPath, [join(dir, 'node_modules', 'mandate', 'bin', 'mandate.js'), '--version'], { cwd: dir });
    assert.equal(stdout.trim(), '0.1.0');
  });
});
