/** Microseconds on a monotonic clock. */
export const hrUs = () => Number(process.hrtime.bigint()) / 1000;

/**
 * Sends `total` requests on a fixed schedule (`ratePerSecond`), whatever the
 * answers do, and resolves when all have answered. Each tick sends every request
 * that is due, then sleeps ~1 ms: no busy-wait stealing the server's core.
 * `send(i)` returns the latency in ms counted from the scheduled time `dueUs`, so a
 * stall cannot hide queued requests (no coordinated omission).
 */
export async function openLoop(total: number, ratePerSecond: number, send: (i: number, dueUs: number) => Promise<void>): Promise<void> {
  const intervalUs = 1e6 / ratePerSecond;
  const pending: Promise<void>[] = [];
  const start = hrUs();
  let next = 0;
  while (next < total) {
    const now = hrUs();
    while (next < total && start + next * intervalUs <= now) {
      pending.push(send(next, start + next * intervalUs));
      next += 1;
    }
    await new Promise((r) => setTimeout(r, 1));
  }
  await Promise.all(pending);
}
