import { withEchoGateway } from './bench-server.js';
import { runInChild } from './child.js';
import type { McpLoadRequest, McpLoadResult } from './mcp-load.js';
import { addedMetrics, summarize, type Metrics } from './stats.js';

const RATE = Number(process.env.BENCH_GATEWAY_RATE ?? 500);
const SECONDS = Number(process.env.BENCH_GATEWAY_SECONDS ?? 6);
const FIRST_BYTE_CALLS = 300;

/**
 * An MCP tools/call round trip to the same upstream over Streamable HTTP,
 * directly and through the gateway (credential check, decision with audit,
 * result accounting), interleaved on one schedule at a fixed 500 calls/s. Then
 * the first byte of a streamed call: how long its first progress notification
 * takes to arrive, directly and through the gateway, one call at a time.
 */
export async function benchGatewayMcp(root: string, adminToken: string, metrics: Metrics): Promise<void> {
  await withEchoGateway(root, adminToken, async (setup, upstreamUrl) => {
    const result = await runInChild<McpLoadRequest, McpLoadResult>(new URL('./mcp-load.js', import.meta.url), {
      direct: { url: upstreamUrl, tool: 'echo' },
      via: { url: `${setup.server.url}/mcp`, tool: 'echo_echo', progressTool: 'echo_progress', credential: await setup.grant(['echo.echo', 'echo.progress']) },
      ratePerSecond: RATE,
      seconds: SECONDS,
      warmup: 300,
      firstByteCalls: FIRST_BYTE_CALLS,
    });
    if (result.errors > 0) throw new Error(`${result.errors} MCP calls failed`);
    Object.assign(metrics, addedMetrics('gateway.mcp', result.directMs, result.viaMs), firstByteMetrics(result.firstByteDirectMs, result.firstByteViaMs));
  });
}

/** `gateway.mcp.stream_first_byte_ms`: the median through the gateway, beside the direct median and the difference. */
function firstByteMetrics(directMs: number[], viaMs: number[]): Metrics {
  const [direct, via] = [summarize(directMs), summarize(viaMs)];
  const r = (v: number) => Math.round(v * 1000) / 1000;
  return {
    'gateway.mcp.stream_first_byte_ms': { value: r(via.p50), unit: 'ms' },
    'gateway.mcp.stream_first_byte_p99_ms': { value: r(via.p99), unit: 'ms' },
    'gateway.mcp.stream_first_byte_direct_ms': { value: r(direct.p50), unit: 'ms' },
    'gateway.mcp.stream_first_byte_added_ms': { value: r(via.p50 - direct.p50), unit: 'ms' },
  };
}
