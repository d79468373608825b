import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runDifferentialInWorkers } from '../test/policy-differential.js';
import type { Metrics } from './stats.js';

/**
 * `npm run bench:differential`: the decision cache against Cedar on 1,000,000
 * generated requests (`BENCH_DIFFERENTIAL_REQUESTS`), over the machine's cores.
 * Exits 1 on any disagreement.
 */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const RESULTS = join(ROOT, 'bench', 'results.json');

const started = Date.now();
const r = await runDifferentialInWorkers(Number(process.env.BENCH_DIFFERENTIAL_REQUESTS ?? 1_000_000));
const metrics: Metrics = {
  'differential.requests_checked': { value: r.requests, unit: 'count' },
  'differential.disagreements': { value: r.disagreements, unit: 'count' },
  'differential.reused_pct': { value: Math.round((1000 * r.reused) / r.requests) / 10, unit: '%' },
  'differential.policy_sets': { value: r.policySets, unit: 'count' },
};
const previous = existsSync(RESULTS) ? (JSON.parse(readFileSync(RESULTS, 'utf8')) as { metrics?: Metrics }).metrics ?? {} : {};
writeFileSync(RESULTS, `${JSON.stringify({ metrics: { ...previous, ...metrics } }, null, 2)}\n`);
for (const [name, m] of Object.entries(metrics)) process.stdout.write(`${name.padEnd(34)} ${m.value} ${m.unit}\n`);
process.stdout.write(`${Math.round((Date.now() - started) / 1000)} s\n`);
for (const e of r.examples.slice(0, 3)) process.stderr.write(`disagreement:\n${JSON.stringify(e, null, 1)}\n`);
if (r.disagreements > 0) process.exitCode = 1;
