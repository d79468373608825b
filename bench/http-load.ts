import { serveInChild } from './child.js';
import { jsonPoster } from './http-post.js';
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
  const { send, close } = jsonPoster(req.url, req.body, req.expect);
  for (let i = 0; i < req.warmup; i++) await send();
  const total = Math.round(req.ratePerSecond * req.seconds);
  const latenciesMs: number[] = [];
  let ok = 0;
  await openLoop(total, req.ratePerSecond, async (_i, due) => {
    if (await send()) ok += 1;
    latenciesMs.push((hrUs() - due) / 1000);
  });
  close();
  return { latenciesMs, ok, total };
}

serveInChild(run);
