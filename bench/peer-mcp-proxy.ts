import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { runInChild } from './child.js';
import type { Block, BlockResult, PeerLoadRequest } from './peer-load.js';
import { describeBlock, freePorts, spawnServer, startBoth, startMandate, stopChild, totals, waitForHttp, type PeerSide, type ServerProcess } from './peer-process.js';
import { addedMetrics, type Metrics } from './stats.js';

const SECONDS = Number(process.env.BENCH_PEER_SECONDS ?? 1);
const ROUNDS = Number(process.env.BENCH_PEER_ROUNDS ?? 3);
const RATE = Number(process.env.BENCH_GATEWAY_RATE ?? 500);

/**
 * The MCP gateway beside mcp-proxy, a plain MCP proxy with no access control.
 * mcp-proxy fronts stdio servers only, so both front the same lean stdio echo
 * server (each starts its own copy) and are called over Streamable HTTP; the
 * baseline is the load generator calling a copy of that server over stdio
 * itself. Alternating blocks at a fixed 500 calls/s: calls per second of each
 * proxy process's CPU time, and the latency each adds. Starts both proxies (at
 * once); `run` measures.
 */
export async function startMcpProxySide(root: string, adminToken: string, log: (line: string) => void): Promise<PeerSide> {
  const echo = [join(root, 'dist', 'bench', 'fixtures', 'echo-mcp-stdio-server.js')];
  const [gateway, proxy] = await startBoth(
    startMandate(root, adminToken, (config) => {
      config.upstreams = { echo: { transport: 'stdio', command: process.execPath, args: echo, tools: { echo: { kind: 'read', risk: 'low' } } } };
    }),
    startMcpProxy(root, echo),
  );
  return {
    run: (metrics) => benchMcpProxy(gateway, proxy, echo, metrics, log),
    stop: async () => void (await Promise.all([proxy.stop(), gateway.stop()])),
  };
}

async function benchMcpProxy(gateway: Awaited<ReturnType<typeof startMandate>>, proxy: ServerProcess, echo: string[], metrics: Metrics, log: (line: string) => void): Promise<void> {
  const blocks: Block[] = [];
  const order = ['direct', 'mandate', 'mcp-proxy'];
  for (let r = 0; r < ROUNDS; r++) {
    // Rotated each round, so no one always follows the same other.
    for (let i = 0; i < order.length; i++) blocks.push({ target: order[(i + r) % order.length]!, mode: 'rate', rate: RATE, seconds: SECONDS });
  }
  const results = await runInChild<PeerLoadRequest, BlockResult[]>(new URL('./peer-load.js', import.meta.url), {
    targets: {
      direct: { target: { kind: 'mcp-stdio', command: process.execPath, args: echo, tool: 'echo' } },
      mandate: { target: { kind: 'mcp-http', url: `${gateway.url}/mcp`, tool: 'echo.echo', headers: { Authorization: `Bearer ${await gateway.grant(['echo.echo'])}` } }, pid: gateway.pid },
      'mcp-proxy': { target: { kind: 'mcp-http', url: `${proxy.url}/mcp`, tool: 'echo', headers: {} }, pid: proxy.pid },
    },
    blocks,
    // Warm-up only (these blocks are open loop): enough calls for the JIT to settle, a few at a time.
    concurrency: 8,
    warmup: 1000,
  });
  for (const b of results) log(describeBlock(b));

  const direct = totals(results, 'direct', 'rate');
  const via = totals(results, 'mandate', 'rate');
  const peer = totals(results, 'mcp-proxy', 'rate');
  for (const [name, t] of Object.entries({ direct, mandate: via, 'mcp-proxy': peer })) {
    if (t.errors > 0) throw new Error(`${name}: ${t.errors} of ${t.calls + t.errors} MCP calls failed`);
  }
  metrics['gateway.mcp.calls_per_cpu_s'] = { value: Math.round(via.perCpuSecond), unit: 'calls/CPU-s' };
  metrics['peer.mcp_proxy.calls_per_cpu_s'] = { value: Math.round(peer.perCpuSecond), unit: 'calls/CPU-s' };
  metrics['gateway.mcp.vs_mcp_proxy_ratio'] = { value: Math.round((via.perCpuSecond / peer.perCpuSecond) * 1000) / 1000, unit: 'ratio' };
  Object.assign(metrics, addedMetrics('gateway.mcp_stdio', direct.latenciesMs, via.latenciesMs), addedMetrics('peer.mcp_proxy', direct.latenciesMs, peer.latenciesMs));
}

/** `mcp-proxy` as its CLI runs it, serving Streamable HTTP on 127.0.0.1, with its defaults otherwise. */
async function startMcpProxy(root: string, upstream: string[]): Promise<ServerProcess> {
  const bin = join(root, 'node_modules', 'mcp-proxy', 'dist', 'bin', 'mcp-proxy.mjs');
  if (!existsSync(bin)) throw new Error(`mcp-proxy is not installed (${bin}): run npm install`);
  const [port] = await freePorts(1);
  const child = spawnServer(process.execPath, [bin, '--host', '127.0.0.1', '--port', String(port), '--server', 'stream', '--', process.execPath, ...upstream]);
  child.stdout!.resume();
  const url = `http://127.0.0.1:${port}`;
  await waitForHttp(`${url}/mcp`, child);
  return { pid: child.pid!, url, stop: () => stopChild(child) };
}
