import type { RunningServer } from '../src/server/index.js';

/** What every fleet task declares: one constrained tool, an exact call limit and a per-minute limit (the most state a task keeps). */
export const FLEET_MANDATE = {
  purpose: 'benchmark fleet',
  tools: [{ name: 'files.read', args: { path: { prefix: '/srv/' } } }],
  limits: { maxCalls: 1_000_000, maxCallsPerMinute: 600 },
  ttlSeconds: 3600,
};

export const FLEET_CALL = { tool: 'files.read', args: { path: '/srv/reports/q3.csv' } };

async function post(url: string, path: string, body: unknown, token?: string): Promise<any> {
  const res = await fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) }, body: JSON.stringify(body) });
  return res.json();
}

/**
 * Grants `count` live tasks to report-bot and returns their credentials, `inFlight`
 * at a time. The agent attests over the API (a fresh SVID every 500 tasks, well
 * inside its lifetime); the mandates are declared in process, which is what the API does.
 */
export async function grantFleet(server: RunningServer, adminToken: string, count: number, inFlight = 1): Promise<string[]> {
  const credentials: string[] = [];
  for (let from = 0; from < count; from += 500) {
    const { token } = await post(server.url, '/v1/agents/report-bot/join-tokens', {}, adminToken);
    const svid = (await post(server.url, '/v1/attest/join-token', { token })).svid as string;
    const to = Math.min(count, from + 500);
    await eachInFlight(to - from, inFlight, async () => void credentials.push((await server.plane.tasks.declare(svid, FLEET_MANDATE)).credential));
  }
  return credentials;
}

/** Runs `each(i)` for i in [0, count), `width` at a time, yielding to the event loop every 100; the first failure stops the rest. */
export async function eachInFlight(count: number, width: number, each: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  let failed = false;
  await Promise.all(
    Array.from({ length: Math.min(width, count) }, async () => {
      try {
        while (next < count && !failed) {
          const i = next++;
          await each(i);
          if (i % 100 === 0) await yieldToLoop();
        }
      } catch (err) {
        failed = true;
        throw err;
      }
    }),
  );
}

/** One decision that must be an allow: a benchmark that measured refusals would measure the wrong path. */
export async function decideAllow(server: RunningServer, credential: string): Promise<void> {
  const d = await server.plane.decide({ credential, ...FLEET_CALL });
  if (d.outcome !== 'allow') throw new Error(`benchmark decision is not an allow: ${d.reason.code}`);
}

/**
 * Lets timers run. In process, a decision on the embedded store never waits for
 * I/O, so a loop of them would starve the catch-up read and the sweeps (and the
 * replica would start refusing as `store.unreachable`); a server yields on every request.
 */
export function yieldToLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Heap in use after full collections (needs `--expose-gc`). */
export function heapAfterGc(): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with node --expose-gc');
  for (let i = 0; i < 3; i++) gc();
  return process.memoryUsage().heapUsed;
}
