import { serveInChild } from './child.js';
import { jsonPoster } from './http-post.js';
import { hrUs, openLoop } from './open-loop.js';
import { HttpUpstreamClient } from '../src/gateway/mcp/http-upstream-client.js';

/**
 * The load of bench/stalls.ts, from its own process: one kind of call on a fixed
 * open-loop schedule, each reported with its scheduled send time (µs on the
 * monotonic clock every process on the machine shares) so slow calls can be
 * lined up with what the server was doing then.
 */
interface Schedule {
  ratePerSecond: number;
  seconds: number;
  /** Calls made one after another first (caches, connections). */
  warmup: number;
  /** Then this long at the full rate, not counted: the JIT settles, and the figures are of the steady state. */
  rampSeconds: number;
}

export type StallLoadRequest =
  | ({ kind: 'decide'; url: string; body: string; expect: string } & Schedule)
  /** MCP tools/call through the gateway, interleaved with the same call made `direct`ly to the upstream, as bench/gateway-mcp.ts does. */
  | ({ kind: 'mcp'; url: string; tool: string; credential: string; direct: { url: string; tool: string } } & Schedule);

export interface StallLoadResult {
  /** Scheduled send times, µs (process.hrtime, shared across processes). */
  dueUs: number[];
  /** Latency from the scheduled send time, ms; same order as dueUs. */
  latencyMs: number[];
  /** Which calls went straight to the upstream (MCP only; the others went through the gateway). */
  direct: boolean[];
  errors: number;
  /** CPU time this process used during the timed run, ms. */
  cpuMs: number;
}

async function caller(req: StallLoadRequest): Promise<{ call: (i: number) => Promise<boolean>; close: () => Promise<void> }> {
  if (req.kind === 'mcp') {
    const via = new HttpUpstreamClient(req.url, { Authorization: `Bearer ${req.credential}` });
    const direct = new HttpUpstreamClient(req.direct.url, {});
    await via.connect(10_000);
    await direct.connect(10_000);
    const tools = async (client: HttpUpstreamClient, tool: string) => !((await client.request('tools/call', { name: tool, arguments: { message: 'ping' } }, 10_000)) as { isError?: boolean }).isError;
    return {
      call: (i) => (i % 2 === 1 ? tools(via, req.tool) : tools(direct, req.direct.tool)),
      close: async () => {
        await via.close();
        await direct.close();
      },
    };
  }
  const { send, close } = jsonPoster(req.url, req.body, req.expect);
  return { call: send, close: async () => close() };
}

async function run(req: StallLoadRequest): Promise<StallLoadResult> {
  const { call, close } = await caller(req);
  for (let i = 0; i < req.warmup; i++) await call(i);
  await openLoop(Math.round(req.ratePerSecond * req.rampSeconds), req.ratePerSecond, async (i) => void (await call(i).catch(() => false)));
  const total = Math.round(req.ratePerSecond * req.seconds);
  const dueUs = new Array<number>(total).fill(0);
  const latencyMs = new Array<number>(total).fill(0);
  const direct = Array.from({ length: total }, (_, i) => req.kind === 'mcp' && i % 2 === 0);
  let errors = 0;
  const cpu = process.cpuUsage();
  await openLoop(total, req.ratePerSecond, async (i, due) => {
    dueUs[i] = due;
    try {
      if (!(await call(i))) errors += 1;
    } catch {
      errors += 1;
    }
    latencyMs[i] = (hrUs() - due) / 1000;
  });
  const used = process.cpuUsage(cpu);
  await close();
  return { dueUs, latencyMs, direct, errors, cpuMs: (used.user + used.system) / 1000 };
}

serveInChild(run);
