import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startBenchServer } from './bench-server.js';
import type { Metrics } from './stats.js';
import { decideAllow, grantFleet, heapAfterGc, yieldToLoop } from './task-fleet.js';

/**
 * `npm run bench:soak`: many decisions over many live tasks in one process, to
 * show the heap stays flat once every task has been seen. Not part of
 * `npm run bench`, the tests or CI: it runs for minutes. Bounded by a count and
 * a time cap; the heap is read after forced collections at the 10 % mark and at
 * the end, and the growth between the two is the result.
 */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const RESULTS = join(ROOT, 'bench', 'results.json');
const ADMIN = 'bench-admin-token-0123456789';
const DECISIONS = Number(process.env.BENCH_SOAK_DECISIONS ?? 1_000_000);
const TASKS = Number(process.env.BENCH_SOAK_TASKS ?? 10_000);
const MAX_MINUTES = Number(process.env.BENCH_SOAK_MAX_MINUTES ?? 15);
const TARGET_MB = 50;

const mb = (bytes: number) => Math.round((bytes / 2 ** 20) * 10) / 10;

async function main(): Promise<void> {
  const setup = await startBenchServer(ROOT, ADMIN, () => undefined);
  const started = performance.now();
  const deadline = started + MAX_MINUTES * 60_000;
  let done = 0;
  let baseline: number | undefined;
  let end: number;
  try {
    process.stderr.write(`granting ${TASKS} tasks…\n`);
    const credentials = await grantFleet(setup.server, ADMIN, TASKS);
    const mark = Math.floor(DECISIONS / 10);
    process.stderr.write(`${DECISIONS} decisions (at most ${MAX_MINUTES} min)…\n`);
    while (done < DECISIONS && (done % 1000 !== 0 || performance.now() < deadline)) {
      await decideAllow(setup.server, credentials[done % TASKS]!);
      done += 1;
      if (done % 100 === 0) await yieldToLoop();
      if (done % mark === 0) {
        const heap = heapAfterGc();
        if (done === mark) baseline = heap;
        process.stderr.write(`  ${done} decisions, ${Math.round((performance.now() - started) / 1000)} s, heap ${mb(heap)} MB, held ${JSON.stringify(setup.server.plane.memory.counts())}\n`);
      }
    }
    await setup.server.plane.audit.flush();
    end = heapAfterGc();
  } finally {
    await setup.close();
  }
  const seconds = Math.round((performance.now() - started) / 1000);
  if (baseline === undefined) throw new Error(`only ${done} decisions in ${MAX_MINUTES} min: the 10 % mark was never reached`);
  const growth = mb(end - baseline);
  const metrics: Metrics = {
    'soak.decisions': { value: done, unit: 'calls' },
    'soak.heap_at_10pct_mb': { value: mb(baseline), unit: 'MB' },
    'soak.heap_at_end_mb': { value: mb(end), unit: 'MB' },
    'soak.heap_growth_mb': { value: growth, unit: 'MB' },
  };
  const previous = existsSync(RESULTS) ? (JSON.parse(readFileSync(RESULTS, 'utf8')) as { metrics?: Metrics }).metrics ?? {} : {};
  writeFileSync(RESULTS, `${JSON.stringify({ metrics: { ...previous, ...metrics } }, null, 2)}\n`);
  const capped = done < DECISIONS ? ` (stopped at the ${MAX_MINUTES} min cap)` : '';
  process.stdout.write(
    `${done} decisions over ${TASKS} tasks in ${seconds} s${capped}\n` +
      `heap after GC: ${mb(baseline)} MB at 10 %, ${mb(end)} MB at the end\n` +
      `soak.heap_growth_mb ${growth} MB, target <= ${TARGET_MB}: ${growth <= TARGET_MB ? 'met' : 'MISSED'}\nwrote ${RESULTS}\n`,
  );
}

await main();
