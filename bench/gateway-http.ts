import { startBenchServer, startUpstream } from './bench-server.js';
import { runInChild } from './child.js';
import type { PairLoadRequest, PairLoadResult } from './pair-load.js';
import { addedMetrics, type Metrics } from './stats.js';

const RATE = Number(process.env.BENCH_GATEWAY_RATE ?? 500);
const SECONDS = Number(process.env.BENCH_GATEWAY_SECONDS ?? 6);

/**
 * A REST GET round trip to the same upstream, directly and through the HTTP API
 * gateway (credential check, route match, decision with audit, streamed
 * response, result accounting), interleaved at a fixed 500 calls/s.
 */
export async function benchGatewayHttp(root: string, adminToken: string, metrics: Metrics): Promise<void> {
  const upstream = await startUpstream(root, 'rest-upstream.js');
  try {
    const setup = await startBenchServer(root, adminToken, (config) => {
      delete config.upstreams;
      config.apis = { billing: { baseUrl: `http://127.0.0.1:${upstream.port}`, routes: [{ method: 'GET', path: '/invoices/{id}', tool: 'getInvoice', kind: 'read', risk: 'low' }] } };
    });
    try {
      const result = await runInChild<PairLoadRequest, PairLoadResult>(new URL('./pair-load.js', import.meta.url), {
        direct: { url: `http://127.0.0.1:${upstream.port}/invoices/42` },
        via: { url: `${setup.server.url}/proxy/billing/invoices/42`, headers: { authorization: `Bearer ${await setup.grant(['billing.getInvoice'])}` } },
        ratePerSecond: RATE,
        seconds: SECONDS,
        warmup: 300,
      });
      if (result.errors > 0) throw new Error(`${result.errors} HTTP calls failed`);
      Object.assign(metrics, addedMetrics('gateway.http', result.directMs, result.viaMs));
    } finally {
      await setup.close();
    }
  } finally {
    upstream.stop();
  }
}
