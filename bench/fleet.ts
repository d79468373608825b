import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Decision } from '../src/decision/index.js';
import type { RunningServer } from '../src/server/index.js';
import { startBenchServer } from './bench-server.js';
import { eachInFlight, yieldToLoop } from './task-fleet.js';

/**
 * Live tasks on a bench server of their own, in a process of their own, all granted
 * to report-bot for `files.read` under `/srv/` and decided on the same call, in
 * process (`plane.decide`). `bench/run.ts` drives two of them, one with 1,000 live
 * tasks and one with `BENCH_SCALE_TASKS`, in alternating blocks: each has its own
 * heap, as a replica with that many tasks would.
 */
export type FleetCommand =
  /** Grants up to `upTo` live tasks, `width` in flight, deciding each once as it comes if `warm`; answers the seconds taken. */
  | { op: 'grant'; upTo: number; width: number; warm: boolean }
  /** Decides each live task from `from` on once, many at a time (not measured); answers nothing. */
  | { op: 'warm'; from: number }
  /** `count` decisions one at a time on tasks drawn at random; answers their durations in µs. */
  | { op: 'draw'; count: number }
  /** Answers how many tasks are live. */
  | { op: 'count' };

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const ADMIN = 'bench-admin-token-0123456789';
const READ_SRV = { name: 'files.read', args: { path: { prefix: '/srv/' } } };
/** Grants, or first decisions, in flight at once for `warm` (not measured). */
const WARM_IN_FLIGHT = 64;

const hr = () => Number(process.hrtime.bigint()) / 1000; // µs

/** A fleet in its own process (this file, forked); `close()` ends it. */
export class FleetProcess {
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (v: any) => void; reject: (e: Error) => void }>();
  private readonly exited: Promise<void>;

  private constructor(private readonly child: ChildProcess) {
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    child.on('message', (m: { id: number; result?: unknown; error?: string }) => {
      const w = this.waiting.get(m.id);
      this.waiting.delete(m.id);
      if (m.error !== undefined) w?.reject(new Error(`live-task fleet: ${m.error}`));
      else w?.resolve(m.result);
    });
    child.once('exit', (code, signal) => {
      for (const w of this.waiting.values()) w.reject(new Error(`the live-task fleet process exited (${code ?? signal})`));
      this.waiting.clear();
    });
  }

  /** Starts the process and its server. */
  static async start(): Promise<FleetProcess> {
    const fleet = new FleetProcess(fork(new URL(import.meta.url), ['fleet'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
    try {
      await fleet.request({ op: 'count' });
    } catch (err) {
      await fleet.close();
      throw err;
    }
    return fleet;
  }

  request(command: { op: 'grant'; upTo: number; width: number; warm: boolean }): Promise<number>;
  request(command: { op: 'warm'; from: number }): Promise<void>;
  request(command: { op: 'draw'; count: number }): Promise<number[]>;
  request(command: { op: 'count' }): Promise<number>;
  request(command: FleetCommand): Promise<unknown> {
    return new Promise((resolve, reject) => {
      if (this.child.exitCode !== null || this.child.signalCode !== null) return reject(new Error('the live-task fleet process has exited'));
      const id = this.nextId++;
      this.waiting.set(id, { resolve, reject });
      this.child.send({ id, ...command });
    });
  }

  /** Ends the process (its server closes with it) and waits until it has. */
  async close(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill();
    await this.exited;
  }
}

/** Runs `each(i)` for every i in [from, to), `width` at a time (eachInFlight over the range). */
function inFlight(from: number, to: number, width: number, each: (i: number) => Promise<void>): Promise<void> {
  return eachInFlight(Math.max(0, to - from), width, (i) => each(from + i));
}

/** The child side: one server, its live tasks' credentials, and the commands above. */
class Fleet {
  readonly credentials: string[] = [];

  constructor(readonly server: RunningServer) {}

  private call(credential: string): Promise<Decision> {
    return this.server.plane.decide({ credential, tool: 'files.read', args: { path: '/srv/reports/q3.csv' } });
  }

  private async decideAllow(credential: string): Promise<void> {
    const d = await this.call(credential);
    if (d.outcome !== 'allow') throw new Error(`benchmark decision is not an allow: ${d.reason.code}`);
  }

  /** An SVID for report-bot over the real API: join token, then attestation. */
  private async svid(): Promise<string> {
    const post = async (path: string, body: unknown, token?: string) =>
      (await fetch(`${this.server.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) }, body: JSON.stringify(body) })).json() as Promise<any>;
    const { token } = await post('/v1/agents/report-bot/join-tokens', {}, ADMIN);
    return (await post('/v1/attest/join-token', { token })).svid as string;
  }

  async run(command: FleetCommand): Promise<unknown> {
    switch (command.op) {
      case 'grant': {
        const started = hr();
        // A fresh SVID every 10,000 grants: it lives five minutes.
        while (this.credentials.length < command.upTo) {
          const svid = await this.svid();
          await inFlight(this.credentials.length, Math.min(command.upTo, this.credentials.length + 10_000), command.width, async () => {
            const { credential } = await this.server.plane.tasks.declare(svid, { purpose: 'benchmark', tools: [READ_SRV], ttlSeconds: 3600 });
            this.credentials.push(credential);
            if (command.warm) await this.decideAllow(credential);
          });
        }
        return (hr() - started) / 1e6;
      }
      case 'warm':
        return inFlight(command.from, this.credentials.length, WARM_IN_FLIGHT, (i) => this.decideAllow(this.credentials[i]!));
      case 'draw': {
        const us: number[] = [];
        for (let i = 0; i < command.count; i++) {
          const credential = this.credentials[Math.floor(Math.random() * this.credentials.length)]!;
          const t0 = hr();
          const d = await this.call(credential);
          us.push(hr() - t0);
          if (d.outcome !== 'allow') throw new Error(`benchmark decision is not an allow: ${d.reason.code}`);
          if (i % 100 === 0) await yieldToLoop();
        }
        return us;
      }
      case 'count':
        return this.credentials.length;
    }
  }
}

if (process.send && process.argv[2] === 'fleet') {
  const setup = startBenchServer(ROOT, ADMIN, () => undefined);
  const fleet = setup.then((s) => new Fleet(s.server));
  // One command at a time, in the order sent; the first waits for the server.
  let queue: Promise<unknown> = fleet;
  process.on('message', (m: { id: number } & FleetCommand) => {
    queue = queue.then(
      () => fleet.then((f) => f.run(m)).then(
        (result) => process.send!({ id: m.id, result }),
        (err: unknown) => process.send!({ id: m.id, error: String(err) }),
      ),
      (err: unknown) => process.send!({ id: m.id, error: String(err) }),
    );
  });
  const close = () => void setup.then((s) => s.close()).finally(() => process.exit(0));
  process.once('SIGTERM', close);
  process.once('disconnect', close);
}
