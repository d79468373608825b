import { startCerbosSide } from './peer-cerbos.js';
import { startMcpProxySide } from './peer-mcp-proxy.js';
import type { PeerSide } from './peer-process.js';
import type { Metrics } from './stats.js';

/**
 * Mandate beside its peers in the same run, from one load generator in
 * alternating blocks: the decision API beside Cerbos, the MCP gateway beside
 * mcp-proxy. Each block prints the machine's load, since on a shared machine a
 * figure means little without it. The two servers of a comparison start at once.
 */
export async function benchPeers(root: string, adminToken: string, metrics: Metrics, log: (line: string) => void): Promise<void> {
  const measure = async (side: PeerSide | undefined) => {
    if (!side) return;
    try {
      await side.run(metrics);
    } finally {
      await side.stop();
    }
  };
  log('decide over HTTP beside Cerbos…');
  await measure(await startCerbosSide(root, adminToken, metrics, log));
  log('MCP gateway beside mcp-proxy, both fronting a stdio server…');
  await measure(await startMcpProxySide(root, adminToken, log));
}
