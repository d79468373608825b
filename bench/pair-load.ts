import http from 'node:http';
import { serveInChild } from './child.js';
import { hrUs, openLoop } from './open-loop.js';

/**
 * Interleaved GET round trips to two URLs (directly to an upstream, and through
 * the gateway), on one fixed open-loop schedule, from its own process. Latency
 * counts from the scheduled send time.
 */
export interface PairLoadRequest {
  direct: { url: string };
  via: { url: string; headers: Record<string, string> };
  ratePerSecond: number;
  seconds: number;
  warmup: number;
}

export interface PairLoadResult {
  directMs: number[];
  viaMs: number[];
  errors: number;
}

async function run(req: PairLoadRequest): Promise<PairLoadResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  const get = (url: string, headers: Record<string, string> = {}) =>
    new Promise<boolean>((resolve) => {
      const r = http.get(url, { agent, headers }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode === 200));
      });
      r.on('error', () => resolve(false));
    });
  for (let i = 0; i < req.warmup; i++) {
    await get(req.direct.url);
    await get(req.via.url, req.via.headers);
  }
  const directMs: number[] = [];
  const viaMs: number[] = [];
  let errors = 0;
  await openLoop(Math.round(req.ratePerSecond * req.seconds), req.ratePerSecond, async (i, due) => {
    const throughGateway = i % 2 === 1;
    const ok = await (throughGateway ? get(req.via.url, req.via.headers) : get(req.direct.url));
    if (!ok) errors += 1;
    (throughGateway ? viaMs : directMs).push((hrUs() - due) / 1000);
  });
  agent.destroy();
  return { directMs, viaMs, errors };
}

serveInChild(run);
