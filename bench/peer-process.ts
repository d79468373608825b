import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { grantTask, writeBenchConfig } from './bench-server.js';
import type { Block, BlockResult } from './peer-load.js';
import type { Metrics } from './stats.js';

/**
 * Servers the peer benchmarks compare, each in a process of its own, so that
 * its CPU time (/proc/<pid>/stat) is its own and not the load generator's or
 * the benchmark's.
 */
export interface ServerProcess {
  pid: number;
  url: string;
  stop(): Promise<void>;
}

/**
 * Cores for a saturation run: the server on one, the load generator on the
 * other, so that a server that can use every core (Cerbos) and one whose work
 * is on one thread (Node) are each given one core's worth, and neither fights
 * the client for it. None on a one-core machine, without taskset, or with
 * BENCH_PEER_PIN=0.
 */
export function pinning(): { server: number; client: number } | undefined {
  if (process.env.BENCH_PEER_PIN === '0' || availableParallelism() < 2) return undefined;
  try {
    execFileSync('taskset', ['-p', String(process.pid)], { stdio: 'ignore' });
  } catch {
    return undefined;
  }
  return { server: 1, client: 0 };
}

/** Starts `command` (on `cpu` alone when given: a Go runtime sizes itself from its affinity at start, so it is set before exec). */
export function spawnServer(command: string, args: string[], opts: { cpu?: number; env?: Record<string, string>; cwd?: string } = {}): ChildProcess {
  const [cmd, argv] = opts.cpu === undefined ? [command, args] : ['taskset', ['-c', String(opts.cpu), command, ...args]];
  const child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...opts.env }, cwd: opts.cwd });
  if (child.pid === undefined) throw new Error(`${command} did not start`);
  return child;
}

/** Ends a child started here: SIGTERM, then SIGKILL if it has not exited within 5 s. */
export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

/** Ports free on 127.0.0.1 now, all different (for servers that cannot report the ones they picked). */
export async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: n }, () => new Promise<Server>((resolve, reject) => {
      const server = createServer();
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve(server));
    })),
  );
  const ports = servers.map((s) => (s.address() as AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  return ports;
}

/** Resolves once `url` answers anything over HTTP; after `ms`, or if the child exits first, stops it and fails. */
export async function waitForHttp(url: string, child: ChildProcess, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline && child.exitCode === null) {
    try {
      await fetch(url, { signal: AbortSignal.timeout(1000) });
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  await stopChild(child);
  throw new Error(`${url} did not answer within ${ms} ms (exit code ${child.exitCode})`);
}

/**
 * `mandate serve` on the example configuration (changed by `adjust`) and a
 * throwaway SQLite file, as it is deployed: the CLI, in its own process.
 */
export async function startMandate(root: string, adminToken: string, adjust: (config: Record<string, any>) => void, cpu?: number): Promise<ServerProcess & { grant(tools: unknown[]): Promise<string> }> {
  const { dir, file, env } = writeBenchConfig(root, adminToken, adjust);
  // One worker: the comparison is one core against one core (the process is pinned).
  const child = spawnServer(process.execPath, [join(root, 'bin', 'mandate.js'), 'serve', '--config', file, '--workers', '1'], { cpu, env });
  const stop = async () => {
    await stopChild(child);
    rmSync(dir, { recursive: true, force: true });
  };
  const lines = createInterface({ input: child.stdout! });
  const url = await new Promise<string>((resolve, reject) => {
    // A server that never says where it listens (a log level above info hides the line) fails the run instead of hanging it.
    const timer = setTimeout(() => reject(new Error('mandate serve did not report where it listens within 60 s (log.level must be info or lower)')), 60_000);
    // Read every line to the end: a pipe nobody drains would stall the server.
    lines.on('line', (line) => {
      const m = /mandate listening on (\S+)/.exec(line);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`mandate serve exited with ${code}`));
    });
  }).catch(async (err: unknown) => {
    await stop();
    throw err;
  });
  return { pid: child.pid!, url, grant: (tools) => grantTask(url, adminToken, tools), stop };
}

/** Calls, calls per second and calls per server CPU-second over the blocks of one target and mode. */
export function totals(results: BlockResult[], target: string, mode: Block['mode']): { calls: number; errors: number; perSecond: number; perCpuSecond: number; latenciesMs: number[] } {
  const blocks = results.filter((b) => b.target === target && b.mode === mode);
  const sum = (f: (b: BlockResult) => number) => blocks.reduce((a, b) => a + f(b), 0);
  return {
    calls: sum((b) => b.calls),
    errors: sum((b) => b.errors),
    perSecond: sum((b) => b.calls) / sum((b) => b.wallSeconds),
    perCpuSecond: sum((b) => b.calls) / sum((b) => b.cpuSeconds),
    latenciesMs: blocks.flatMap((b) => b.latenciesMs ?? []),
  };
}

/** One line a block: what ran, what it gave, what the server spent and how loaded the machine was. */
export function describeBlock(b: BlockResult): string {
  const mode = b.mode === 'max' ? 'max' : `${b.rate}/s`;
  const cpu = b.cpuSeconds > 0 ? `  server CPU ${b.cpuSeconds.toFixed(2)} s (${Math.round((b.cpuSeconds / b.wallSeconds) * 100)} %), ${Math.round(b.calls / b.cpuSeconds)}/CPU-s` : '';
  return `  ${b.target.padEnd(10)} ${mode.padEnd(7)} ${b.wallSeconds.toFixed(1)} s  ${String(b.calls).padStart(6)} ok ${b.errors ? `${b.errors} failed ` : ''}(${Math.round(b.calls / b.wallSeconds)}/s)${cpu}  load ${b.load.toFixed(2)}`;
}

/** Starts two servers at once: if either fails to start, the other is stopped (once up) and the failure thrown. */
export async function startBoth<A extends { stop(): Promise<void> }, B extends { stop(): Promise<void> }>(a: Promise<A>, b: Promise<B>): Promise<[A, B]> {
  const [ra, rb] = await Promise.allSettled([a, b]);
  if (ra.status === 'fulfilled' && rb.status === 'fulfilled') return [ra.value, rb.value];
  if (ra.status === 'fulfilled') await ra.value.stop();
  if (rb.status === 'fulfilled') await rb.value.stop();
  throw ra.status === 'rejected' ? ra.reason : (rb as PromiseRejectedResult).reason;
}

/** A peer benchmark whose servers are up: `run` measures, `stop` ends its servers. */
export interface PeerSide {
  run(metrics: Metrics): Promise<void>;
  stop(): Promise<void>;
}
