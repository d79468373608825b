// Runs the compiled test suite (dist/, as `npm test` does) under each Node that
// test/runtimes pins, one lane after the other. Usage:
//   node test/runtimes/run.mjs [node22|node24 …] [dist/…test.js …]
// Without names, every runtime in test/runtimes/package.json; without files, every test.
// `npm ci --prefix test/runtimes`, `node test/runtimes/prepare.mjs` and `npm run build`
// first (`npm run test:runtimes` does the last two). Each lane puts its Node first on the
// PATH, so what the tests start runs on it too: the server through process.execPath,
// `npx mandate` in the README walkthrough, stdio upstreams.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { delimiter, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const ROOT = join(HERE, '..', '..');

// nodeNN; a nodeNN-headers beside it only gives the headers its addon is built against (prepare.mjs).
const RUNTIMES = Object.keys(JSON.parse(readFileSync(join(HERE, 'package.json'), 'utf8')).dependencies ?? {}).filter((d) => /^node\d+$/.test(d));

function refuse(message) {
  console.error(`runtimes: ${message}\nusage: node test/runtimes/run.mjs [${RUNTIMES.join('|')} …] [dist/…test.js …]`);
  process.exit(2);
}

const args = process.argv.slice(2);
const names = args.filter((a) => !a.endsWith('.js'));
for (const n of names) if (!RUNTIMES.includes(n)) refuse(`unknown runtime ${n}`);
if (!existsSync(join(ROOT, 'dist'))) refuse('no dist/: run `npm run build` first');
let files = args.filter((a) => a.endsWith('.js'));
for (const f of files) if (!existsSync(join(ROOT, f))) refuse(`no ${f} (paths are from the project's folder)`);
if (!files.length) {
  files = readdirSync(join(ROOT, 'dist'), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.test.js'))
    .map((e) => relative(ROOT, join(e.parentPath ?? e.path, e.name)))
    .sort();
}

const results = [];
for (const name of names.length ? names : RUNTIMES) {
  const node = join(HERE, 'node_modules', name, 'bin', 'node');
  if (!existsSync(node)) refuse(`${name} is not installed: run \`npm ci --prefix test/runtimes\``);
  const env = { ...process.env, PATH: `${dirname(node)}${delimiter}${process.env.PATH}` };
  const loads = spawnSync(node, ['-e', "new (require('better-sqlite3'))(':memory:').close()"], { cwd: ROOT, env, encoding: 'utf8' });
  if (loads.status !== 0) refuse(`better-sqlite3 does not load under ${name}: run \`node test/runtimes/prepare.mjs\`\n${loads.stderr.trim()}`);
  const version = spawnSync(node, ['--version'], { encoding: 'utf8' }).stdout.trim();
  console.log(`\nruntimes: ${name} (node ${version}): ${files.length} test files\n`);
  const started = Date.now();
  const run = spawnSync(node, ['--test', '--test-reporter=spec', ...files], { cwd: ROOT, env, stdio: 'inherit' });
  results.push({ lane: `${name} (node ${version})`, ok: run.status === 0, seconds: Math.round((Date.now() - started) / 1000), exit: run.status ?? run.signal });
}

console.log('');
for (const r of results) console.log(`runtimes: ${r.lane}: ${r.ok ? 'passed' : `FAILED (exit ${r.exit})`} in ${r.seconds} s`);
process.exit(results.every((r) => r.ok) ? 0 : 1);
