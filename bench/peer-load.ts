import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { loadavg } from 'node:os';
import { createInterface } from 'node:readline';
import { HttpUpstreamClient } from '../src/gateway/mcp/http-upstream-client.js';
import { serveInChild } from './child.js';
import { hrUs, openLoop } from './open-loop.js';

/**
 * The one load generator of the peer benchmarks, in its own process: it runs
 * blocks against several targets in the order given (alternating, so each sees
 * the same machine), and reads the CPU time of the target's server process
 * right at each block's edges. A block is either closed loop (`max`: a fixed
 * number of calls in flight for a fixed time: throughput at saturation) or
 * open loop (`rate`: a fixed schedule, latency from the scheduled send time).
 */
export type Target =
  /** POST a JSON body; the answer must be a 200 containing `expect`. */
  | { kind: 'http'; url: string; body: string; expect: string }
  /** An MCP `tools/call` over Streamable HTTP. */
  | { kind: 'mcp-http'; url: string; tool: string; headers: Record<string, string> }
  /** An MCP `tools/call` over stdio to a server this process starts. */
  | { kind: 'mcp-stdio'; command: string; args: string[]; tool: string };

export interface Block {
  target: string;
  mode: 'max' | 'rate';
  seconds: number;
  /** Calls per second, for `rate`. */
  rate?: number;
}

export interface PeerLoadRequest {
  /** Each target, and the pid of the server process whose CPU time its blocks report (none: not read). */
  targets: Record<string, { target: Target; pid?: number }>;
  blocks: Block[];
  /** Calls in flight in a `max` block. */
  concurrency: number;
  /** Calls per target before the first block (JIT, caches, connections), `concurrency` at a time. */
  warmup: number;
  /** Pin this process (and its threads) to this core. */
  cpu?: number;
}

export interface BlockResult extends Block {
  calls: number;
  errors: number;
  wallSeconds: number;
  /** The server's user + system CPU time during the block, in seconds. */
  cpuSeconds: number;
  /** The machine's 1-minute load average at the end of the block. */
  load: number;
  /** For `rate` blocks: latency of each call from its scheduled send time. */
  latenciesMs?: number[];
}

const TICK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

/** utime + stime of a process (all its threads), in seconds. */
function cpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return 0;
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name may hold spaces: fields are counted from after its closing parenthesis (field 3 is first there).
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICK;
}

type Call = () => Promise<boolean>;

function httpCall(t: Extract<Target, { kind: 'http' }>, agent: http.Agent): Call {
  const url = new URL(t.url);
  const headers = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(t.body) };
  return () =>
    new Promise<boolean>((resolve) => {
      const r = http.request({ hostname: url.hostname, port: url.port, path: url.pathname, method: 'POST', agent, headers }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => resolve(res.statusCode === 200 && text.includes(t.expect)));
      });
      // Bounded: a server that stops answering fails its calls instead of holding the block open.
      r.setTimeout(30_000, () => r.destroy());
      r.on('error', () => resolve(false));
      r.end(t.body);
    });
}

async function mcpHttpCall(t: Extract<Target, { kind: 'mcp-http' }>, closers: (() => Promise<void>)[]): Promise<Call> {
  const client = new HttpUpstreamClient(t.url, t.headers);
  await client.connect(10_000);
  closers.push(() => client.close());
  return async () => {
    try {
      const r = (await client.request('tools/call', { name: t.tool, arguments: { message: 'ping' } }, 30_000)) as { isError?: boolean };
      return !r.isError;
    } catch {
      return false;
    }
  };
}

/** A lean stdio MCP client: newline-delimited JSON-RPC, answers matched by id. */
async function mcpStdioCall(t: Extract<Target, { kind: 'mcp-stdio' }>, closers: (() => Promise<void>)[]): Promise<Call> {
  const child = spawn(t.command, t.args, { stdio: ['pipe', 'pipe', 'inherit'] });
  closers.push(async () => void child.kill());
  type Answer = { id?: number; result?: { isError?: boolean }; error?: unknown };
  const waiting = new Map<number, (m: Answer) => void>();
  createInterface({ input: child.stdout! }).on('line', (line) => {
    const m = JSON.parse(line) as Answer;
    if (typeof m.id !== 'number') return;
    waiting.get(m.id)?.(m);
    waiting.delete(m.id);
  });
  // A server that dies fails the calls it owes instead of leaving them waiting.
  child.once('exit', () => {
    for (const resolve of waiting.values()) resolve({ error: 'the stdio server exited' });
    waiting.clear();
  });
  let nextId = 1;
  const request = (method: string, params: unknown) =>
    new Promise<Answer>((resolve) => {
      const id = nextId++;
      waiting.set(id, resolve);
      child.stdin!.write(`${JSON.stringify({ jsonrpc: '2.0', id, method, params })}\n`);
    });
  await request('initialize', { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'bench', version: '1.0.0' } });
  child.stdin!.write(`${JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' })}\n`);
  return async () => {
    const m = await request('tools/call', { name: t.tool, arguments: { message: 'ping' } });
    return m.error === undefined && !m.result?.isError;
  };
}

/** `concurrency` callers, each calling again as soon as its call is answered, until `seconds` have passed or `limit` calls have started. */
async function closedLoop(call: Call, concurrency: number, seconds: number, limit = Infinity): Promise<{ calls: number; errors: number }> {
  const end = hrUs() + seconds * 1e6;
  let started = 0;
  let calls = 0;
  let errors = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (hrUs() < end && started < limit) {
        started += 1;
        if (await call()) calls += 1;
        else errors += 1;
      }
    }),
  );
  return { calls, errors };
}

async function run(req: PeerLoadRequest): Promise<BlockResult[]> {
  if (req.cpu !== undefined) execFileSync('taskset', ['-a', '-p', '-c', String(req.cpu), String(process.pid)], { stdio: 'ignore' });
  const agent = new http.Agent({ keepAlive: true, maxSockets: Math.max(req.concurrency, 256) });
  const closers: (() => Promise<void>)[] = [];
  const calls: Record<string, Call> = {};
  try {
    for (const [name, { target }] of Object.entries(req.targets)) {
      calls[name] = target.kind === 'http' ? httpCall(target, agent) : target.kind === 'mcp-http' ? await mcpHttpCall(target, closers) : await mcpStdioCall(target, closers);
    }
    // Every target warmed at once (not measured): what is warmed is each server's own code and connections.
    await Promise.all(
      Object.entries(calls).map(async ([name, call]) => {
        const { errors } = await closedLoop(call, req.concurrency, 60, req.warmup);
        if (errors > 0) throw new Error(`${name}: ${errors} of ${req.warmup} warm-up calls failed`);
      }),
    );
    const results: BlockResult[] = [];
    for (const block of req.blocks) {
      const call = calls[block.target]!;
      const pid = req.targets[block.target]!.pid;
      const cpu0 = cpuSeconds(pid);
      const t0 = hrUs();
      let outcome: { calls: number; errors: number; latenciesMs?: number[] };
      if (block.mode === 'max') outcome = await closedLoop(call, req.concurrency, block.seconds);
      else {
        const latenciesMs: number[] = [];
        let ok = 0;
        const total = Math.round(block.rate! * block.seconds);
        await openLoop(total, block.rate!, async (_i, due) => {
          if (await call()) ok += 1;
          latenciesMs.push((hrUs() - due) / 1000);
        });
        outcome = { calls: ok, errors: total - ok, latenciesMs };
      }
      results.push({ ...block, ...outcome, wallSeconds: (hrUs() - t0) / 1e6, cpuSeconds: cpuSeconds(pid) - cpu0, load: loadavg()[0]! });
    }
    return results;
  } finally {
    agent.destroy();
    await Promise.all(closers.map((close) => close()));
  }
}

serveInChild(run);
