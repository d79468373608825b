import { withEchoGateway } from './bench-server.js';
import { runInChild } from './child.js';
import type { McpLoadRequest, McpLoadResult } from './mcp-load.js';
import { addedMetrics, type Metrics } from './stats.js';

const RATE = Number(process.env.BENCH_GATEWAY_RATE ?? 500);
const SECONDS = Number(process.env.BENCH_GATEWAY_SECONDS ?? 6);

/**
 * An MCP tools/call round trip to the same upstream over Streamable HTTP,
 * directly and through the gateway (credential check, decision with audit,
 * result accounting), interleaved on one schedule at a fixed 500 calls/s.
 */
export async function benchGatewayMcp(root: string, adminToken: string, metrics: Metrics): Promise<void> {
  await withEchoGateway(root, adminToken, async (setup, upstreamUrl) => {
    const result = await runInChild<McpLoadRequest, McpLoadResult>(new URL('./mcp-load.js', import.meta.url), {
      direct: { url: upstreamUrl, tool: 'echo' },
      via: { url: `${setup.server.url}/mcp`, tool: 'echo.echo', credential: await setup.grant(['echo.echo']) },
      ratePerSecond: RATE,
      seconds: SECONDS,
      warmup: 300,
    });
    if (result.errors > 0) throw new Error(`${result.errors} MCP calls failed`);
    Object.assign(metrics, addedMetrics('gateway.mcp', result.directMs, result.viaMs));
  });
}
