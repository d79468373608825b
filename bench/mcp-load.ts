import { serveInChild } from './child.js';
import { hrUs, openLoop } from './open-loop.js';
import { HttpUpstreamClient } from '../src/gateway/mcp/http-upstream-client.js';

/**
 * Interleaved MCP `tools/call` round trips (a lean Streamable HTTP client, the
 * same for both legs, so the client's own cost does not crowd the machine), directly to an upstream and through
 * the gateway, on one fixed open-loop schedule, from its own process. Latency
 * counts from the scheduled send time.
 */
export interface McpLoadRequest {
  direct: { url: string; tool: string };
  via: { url: string; tool: string; progressTool: string; credential: string };
  ratePerSecond: number;
  seconds: number;
  warmup: number;
  /** Calls of the upstream's `progress` tool per leg, one at a time, timed to their first progress notification. */
  firstByteCalls: number;
}

export interface McpLoadResult {
  directMs: number[];
  viaMs: number[];
  errors: number;
  /** Milliseconds from sending a `progress` call to its first progress notification. */
  firstByteDirectMs: number[];
  firstByteViaMs: number[];
}

async function connect(url: string, headers: Record<string, string> = {}): Promise<HttpUpstreamClient> {
  const client = new HttpUpstreamClient(url, headers);
  await client.connect(10_000);
  return client;
}

async function run(req: McpLoadRequest): Promise<McpLoadResult> {
  const direct = await connect(req.direct.url);
  const via = await connect(req.via.url, { Authorization: `Bearer ${req.via.credential}` });
  const call = (client: HttpUpstreamClient, tool: string) => client.request('tools/call', { name: tool, arguments: { message: 'ping' } }, 10_000) as Promise<{ isError?: boolean }>;
  for (let i = 0; i < req.warmup; i++) {
    await call(direct, req.direct.tool);
    await call(via, req.via.tool);
  }
  const directMs: number[] = [];
  const viaMs: number[] = [];
  let errors = 0;
  await openLoop(Math.round(req.ratePerSecond * req.seconds), req.ratePerSecond, async (i, due) => {
    const throughGateway = i % 2 === 1;
    try {
      const r = await (throughGateway ? call(via, req.via.tool) : call(direct, req.direct.tool));
      if (r.isError) errors += 1;
      (throughGateway ? viaMs : directMs).push((hrUs() - due) / 1000);
    } catch {
      errors += 1;
    }
  });
  const firstByteDirectMs: number[] = [];
  const firstByteViaMs: number[] = [];
  for (let i = 0; i < req.firstByteCalls * 2; i++) {
    const throughGateway = i % 2 === 1;
    const ms = await firstProgressMs(throughGateway ? via : direct, throughGateway ? req.via.progressTool : 'progress');
    if (ms === undefined) errors += 1;
    else (throughGateway ? firstByteViaMs : firstByteDirectMs).push(ms);
  }
  await direct.close();
  await via.close();
  return { directMs, viaMs, errors, firstByteDirectMs, firstByteViaMs };
}

/** How long the first progress notification of one call takes to arrive; undefined when none came. */
async function firstProgressMs(client: HttpUpstreamClient, tool: string): Promise<number | undefined> {
  const sent = hrUs();
  let first: number | undefined;
  const relay = {
    signal: new AbortController().signal,
    progressToken: 1,
    notify: (method: string) => void (method === 'notifications/progress' && first === undefined && (first = (hrUs() - sent) / 1000)),
    ask: () => Promise.reject(new Error('no requests expected')),
  };
  await client.request('tools/call', { name: tool, arguments: {}, _meta: { progressToken: 1 } }, 10_000, relay);
  return first;
}

serveInChild(run);
