import { readFileSync } from 'node:fs';
import { constants, monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { startBenchServer, withEchoGateway, type BenchSetup } from './bench-server.js';
import { runInChild } from './child.js';
import { hrUs } from './open-loop.js';
import type { StallLoadRequest, StallLoadResult } from './stall-load.js';
import { percentile } from './stats.js';

/**
 * `node dist/bench/stalls.js [decide|mcp]`: tail latency under a steady load, and
 * what the server was doing when it was slow.
 *
 * Calls leave a separate process on a fixed schedule, STALLS_RATE a second
 * (default 500) for STALLS_SECONDS (default 15), after STALLS_RAMP_SECONDS
 * (default 2) at the same rate that are not counted; latency counts from the
 * scheduled send time. `decide`: POST /v1/decide. `mcp`: MCP tools/call through
 * the gateway, interleaved with the same call straight to the upstream, as
 * bench/gateway-mcp.ts does (so 500 a second is 250 through the gateway).
 *
 * The server runs in this process, which records on the same monotonic clock as
 * the load: the event-loop delay, every GC pause, every stretch the event loop
 * was blocked, and how long each audit write to the store held it (the write is
 * synchronous on SQLite). Each stall (calls slower than STALLS_SLOW_MS, default
 * 50) is printed beside the pauses that overlap it, with the number of such calls
 * in each 3-second window, and where the machine's CPU went meanwhile: on a
 * shared machine a busy neighbour makes tails of its own.
 */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const ADMIN = 'bench-admin-token-0123456789';
const RATE = Number(process.env.STALLS_RATE ?? 500);
const SECONDS = Math.min(Number(process.env.STALLS_SECONDS ?? 15), 120);
const RAMP_SECONDS = Math.min(Number(process.env.STALLS_RAMP_SECONDS ?? 2), 30);
/** A call slower than this is a stall's (STALLS_SLOW_MS to look at smaller ones). */
const SLOW_MS = Number(process.env.STALLS_SLOW_MS ?? 50);
const WINDOW_S = 3;
const BLOCKED_MS = Math.min(20, SLOW_MS / 2);

/** Busy CPU time of the whole machine and of this process's main thread, ms (Linux; zeros elsewhere). */
function cpuTimes(): { machineMs: number; mainThreadMs: number } {
  try {
    const [, ...fields] = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/);
    const ticks = fields.map(Number);
    const busy = ticks.reduce((a, b) => a + b, 0) - ticks[3]! - ticks[4]!; // all but idle and iowait
    const own = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
    const after = own.slice(own.lastIndexOf(')') + 2).split(' ');
    return { machineMs: busy * 10, mainThreadMs: (Number(after[11]) + Number(after[12])) * 10 }; // USER_HZ 100
  } catch {
    return { machineMs: 0, mainThreadMs: 0 };
  }
}

interface Pause {
  atUs: number;
  ms: number;
  what: string;
}

const GC_KINDS: Record<number, string> = {
  [constants.NODE_PERFORMANCE_GC_MAJOR]: 'major GC',
  [constants.NODE_PERFORMANCE_GC_MINOR]: 'minor GC',
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental GC',
  [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weak-callback GC',
};

/**
 * Records the server process's event-loop delay, GC pauses, blocked stretches and
 * the time each audit write to the store held the event loop (the write is
 * synchronous on SQLite) while `during` runs.
 */
async function watchLoop<T>(
  setup: BenchSetup,
  during: () => Promise<T>,
): Promise<{ result: T; loopMaxMs: number; loopP99Ms: number; gc: Pause[]; blocked: Pause[]; writes: Pause[]; cpu: { seconds: number; machineMs: number; serverMs: number; mainThreadMs: number } }> {
  const offsetUs = hrUs() - performance.now() * 1000;
  const records = setup.server.plane.store.audit;
  const append = records.append;
  const writes: Pause[] = [];
  records.append = (events) => {
    const t0 = hrUs();
    try {
      return append.call(records, events);
    } finally {
      writes.push({ atUs: t0, ms: (hrUs() - t0) / 1000, what: 'store write' });
    }
  };
  const gc: Pause[] = [];
  const observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const kind = (e as { detail?: { kind?: number } }).detail?.kind ?? 0;
      gc.push({ atUs: offsetUs + e.startTime * 1000, ms: e.duration, what: GC_KINDS[kind] ?? `GC kind ${kind}` });
    }
  });
  observer.observe({ entryTypes: ['gc'] });
  const blocked: Pause[] = [];
  let last = hrUs();
  const tick = setInterval(() => {
    const now = hrUs();
    if (now - last > (10 + BLOCKED_MS) * 1000) blocked.push({ atUs: last + 10_000, ms: (now - last) / 1000 - 10, what: 'event loop blocked' });
    last = now;
  }, 10);
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  const startUs = hrUs();
  const machine = cpuTimes();
  const server = process.cpuUsage();
  try {
    const result = await during();
    const used = process.cpuUsage(server);
    const now = cpuTimes();
    const cpu = { seconds: (hrUs() - startUs) / 1e6, machineMs: now.machineMs - machine.machineMs, serverMs: (used.user + used.system) / 1000, mainThreadMs: now.mainThreadMs - machine.mainThreadMs };
    return { result, loopMaxMs: delay.max / 1e6, loopP99Ms: delay.percentile(99) / 1e6, gc, blocked, writes, cpu };
  } finally {
    records.append = append;
    delay.disable();
    clearInterval(tick);
    observer.disconnect();
  }
}

function report(label: string, run: Awaited<ReturnType<typeof watchLoop<StallLoadResult>>>): void {
  const all = run.result;
  // The calls made through Mandate; direct MCP calls are only the baseline.
  const mine = all.latencyMs.map((_, i) => i).filter((i) => !all.direct[i]);
  const dueUs = mine.map((i) => all.dueUs[i]!);
  const latencyMs = mine.map((i) => all.latencyMs[i]!);
  const { errors } = all;
  const sorted = [...latencyMs].sort((a, b) => a - b);
  const directMs = all.latencyMs.filter((_, i) => all.direct[i]).sort((a, b) => a - b);
  const startUs = dueUs[0]!;
  const wallStartMs = Date.now() - (hrUs() - startUs) / 1000;
  const wall = (us: number) => new Date(wallStartMs + (us - startUs) / 1000).toISOString().slice(11, 23);
  const windows = new Array<number>(Math.ceil(SECONDS / WINDOW_S)).fill(0);
  const slow: number[] = [];
  latencyMs.forEach((ms, i) => {
    if (ms <= SLOW_MS) return;
    slow.push(i);
    windows[Math.min(windows.length - 1, Math.floor((dueUs[i]! - startUs) / 1e6 / WINDOW_S))]! += 1;
  });
  const f = (v: number) => v.toFixed(v < 10 ? 2 : 1);
  const writeMs = run.writes.map((p) => p.ms).sort((a, b) => a - b);
  const gcMajor = run.gc.filter((p) => p.what === 'major GC');
  const gcMax = Math.max(0, ...run.gc.map((p) => p.ms));
  const lines = [
    `${label}: ${latencyMs.length} calls${directMs.length > 0 ? ` (of ${RATE}/s in all)` : ''} at ${Math.round(latencyMs.length / SECONDS)}/s for ${SECONDS} s, ${errors} errors`,
    `  latency ms   p50 ${f(percentile(sorted, 50))}  p99 ${f(percentile(sorted, 99))}  p99.9 ${f(percentile(sorted, 99.9))}  max ${f(sorted[sorted.length - 1]!)}`,
    ...(directMs.length > 0 ? [`  direct       the same call straight to the upstream, interleaved: p50 ${f(percentile(directMs, 50))}  p99 ${f(percentile(directMs, 99))}  max ${f(directMs[directMs.length - 1]!)}`] : []),
    `  > ${SLOW_MS} ms${' '.repeat(Math.max(1, 6 - String(SLOW_MS).length))}${slow.length} calls; per ${WINDOW_S}-s window: ${windows.join(' ')} (${windows.filter((n) => n > 0).length} of ${windows.length} windows)`,
    `  event loop   delay p99 ${f(run.loopP99Ms)} ms, max ${f(run.loopMaxMs)} ms; blocked > ${BLOCKED_MS} ms: ${run.blocked.length} times`,
    `  store writes  ${writeMs.length}, p99 ${f(percentile(writeMs, 99))} ms, max ${f(writeMs[writeMs.length - 1] ?? 0)} ms; > 5 ms: ${writeMs.filter((ms) => ms > 5).length}`,
    cpuLine(run.cpu, run.result.cpuMs),
    `  GC           ${run.gc.length} pauses, max ${f(gcMax)} ms; major: ${gcMajor.length}, max ${f(Math.max(0, ...gcMajor.map((p) => p.ms)))} ms`,
  ];
  // Each stall (slow calls due within 200 ms of each other), beside the pauses that overlap it.
  const stalls: { fromUs: number; toUs: number; worst: number; calls: number }[] = [];
  for (const i of slow) {
    const s = stalls[stalls.length - 1];
    if (s && dueUs[i]! - s.toUs < 200_000) {
      s.toUs = Math.max(s.toUs, dueUs[i]! + latencyMs[i]! * 1000);
      s.worst = Math.max(s.worst, latencyMs[i]!);
      s.calls += 1;
    } else stalls.push({ fromUs: dueUs[i]!, toUs: dueUs[i]! + latencyMs[i]! * 1000, worst: latencyMs[i]!, calls: 1 });
  }
  for (const s of stalls.slice(0, 12)) {
    const pauses = [...run.blocked, ...run.gc.filter((p) => p.ms >= Math.min(5, BLOCKED_MS)), ...run.writes.filter((p) => p.ms >= Math.min(5, BLOCKED_MS))];
    const near = pauses.filter((p) => p.atUs + p.ms * 1000 >= s.fromUs - 50_000 && p.atUs <= s.toUs).sort((a, b) => a.atUs - b.atUs);
    const causes = near
      .slice(0, 8)
      .map((p) => `${p.what} ${f(p.ms)} ms at +${((p.atUs - startUs) / 1e6).toFixed(2)} s`)
      .join('; ');
    const more = near.length > 8 ? `; … ${near.length - 8} more` : '';
    lines.push(`  stall at +${((s.fromUs - startUs) / 1e6).toFixed(2)} s (${wall(s.fromUs)}): ${s.calls} calls, worst ${f(s.worst)} ms${causes ? ` — ${causes}${more}` : ' — no pause seen in the server process'}`);
  }
  if (stalls.length > 12) lines.push(`  … ${stalls.length - 12} more stalls`);
  process.stdout.write(`${lines.join('\n')}\n`);
}

/** Where the machine's CPU went during the run, in shares of one core (the MCP upstream is among the other processes). */
function cpuLine(cpu: { seconds: number; machineMs: number; serverMs: number; mainThreadMs: number }, loadMs: number): string {
  const pct = (ms: number) => `${Math.round(ms / cpu.seconds / 10)} %`;
  const others = Math.max(0, cpu.machineMs - cpu.serverMs - loadMs);
  return `  CPU          server ${pct(cpu.serverMs)} (event-loop thread ${pct(cpu.mainThreadMs)}), load generator ${pct(loadMs)}, other processes ${pct(others)} (of one core, warm-up included)`;
}

async function decideRun(setup: BenchSetup): Promise<void> {
  const credential = await setup.grant(['files.read']);
  const run = await watchLoop(setup, () =>
    runInChild<StallLoadRequest, StallLoadResult>(new URL('./stall-load.js', import.meta.url), {
      kind: 'decide',
      url: `${setup.server.url}/v1/decide`,
      body: JSON.stringify({ credential, tool: 'files.read', args: { path: '/srv/reports/q3.csv' } }),
      expect: '"outcome":"allow"',
      ratePerSecond: RATE,
      seconds: SECONDS,
      warmup: 500,
      rampSeconds: RAMP_SECONDS,
    }),
  );
  report('POST /v1/decide', run);
}

async function mcpRun(setup: BenchSetup, upstreamUrl: string): Promise<void> {
  const credential = await setup.grant(['echo.echo']);
  const run = await watchLoop(setup, () =>
    runInChild<StallLoadRequest, StallLoadResult>(new URL('./stall-load.js', import.meta.url), {
      kind: 'mcp',
      url: `${setup.server.url}/mcp`,
      tool: 'echo.echo',
      credential,
      direct: { url: upstreamUrl, tool: 'echo' },
      ratePerSecond: RATE,
      seconds: SECONDS,
      warmup: 300,
      rampSeconds: RAMP_SECONDS,
    }),
  );
  report('MCP tools/call through the gateway', run);
}

async function main(): Promise<void> {
  const which = process.argv[2] ?? 'both';
  if (which === 'decide' || which === 'both') {
    const setup = await startBenchServer(ROOT, ADMIN, (config) => void delete config.upstreams);
    try {
      await decideRun(setup);
    } finally {
      await setup.close();
    }
  }
  if (which === 'mcp' || which === 'both') await withEchoGateway(ROOT, ADMIN, mcpRun);
}

await main();
