import http from 'node:http';
import { serveInChild } from './child.js';
import { hrUs, openLoop } from './open-loop.js';

/**
 * An open-loop load generator, run in its own process so the client does not
 * steal the server's event loop. Requests leave on a fixed schedule; latency
 * counts from the scheduled send time, so a stall cannot hide queued requests
 * (no coordinated omission).
 */
export interface LoadRequest {
  url: string;
  body: string;
  ratePerSecond: number;
  seconds: number;
  warmup: number;
  /** A response body must contain this to count as a success. */
  expect: string;
}

export interface LoadResult {
  latenciesMs: number[];
  ok: number;
  total: number;
}

async function run(req: LoadRequest): Promise<LoadResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  const url = new URL(req.url);
  const send = () =>
    new Promise<boolean>((resolve, reject) => {
      const r = http.request(
        { hostname: url.hostname, port: url.port, path: url.pathname, method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(req.body) } },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (text += c));
          res.on('end', () => resolve(res.statusCode === 200 && text.includes(req.expect)));
        },
      );
      r.on('error', reject);
      r.end(req.body);
    });
  for (let i = 0; i < req.warmup; i++) await send();
  const total = Math.round(req.ratePerSecond * req.seconds);
  const latenciesMs: number[] = [];
  let ok = 0;
  await openLoop(total, req.ratePerSecond, async (_i, due) => {
    if (await send()) ok += 1;
    latenciesMs.push((hrUs() - due) / 1000);
  });
  agent.destroy();
  return { latenciesMs, ok, total };
}

serveInChild(run);
