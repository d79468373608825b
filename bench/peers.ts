import { benchCerbos } from './peer-cerbos.js';
import { benchMcpProxy } from './peer-mcp-proxy.js';
import type { Metrics } from './stats.js';

/**
 * Mandate beside its peers in the same run, from one load generator in
 * alternating blocks: the decision API beside Cerbos, the MCP gateway beside
 * mcp-proxy. Each block prints the machine's load, since on a shared machine a
 * figure means little without it.
 */
export async function benchPeers(root: string, adminToken: string, metrics: Metrics, log: (line: string) => void): Promise<void> {
  log('decide over HTTP beside Cerbos…');
  await benchCerbos(root, adminToken, metrics, log);
  log('MCP gateway beside mcp-proxy, both fronting a stdio server…');
  await benchMcpProxy(root, adminToken, metrics, log);
}
