import { signWebhook, type DeliverWebhook } from '../../approvals/index.js';

/** Posts the payload over HTTP, retrying with exponential backoff; resolves with the outcome, never throws. */
export const deliverWebhook: DeliverWebhook = async (target, payload, nowMs) => {
  const body = JSON.stringify(payload);
  let error: string | null = null;
  for (let attempt = 1; attempt <= target.attempts; attempt++) {
    const timestamp = nowMs();
    try {
      const res = await fetch(target.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-mandate-timestamp': String(timestamp), 'x-mandate-signature': signWebhook(target.secret, timestamp, body) },
        body,
        signal: AbortSignal.timeout(target.timeoutMs),
      });
      await res.arrayBuffer().catch(() => undefined);
      if (res.ok) return { delivered: true, attempts: attempt, error: null };
      error = `HTTP ${res.status}`;
    } catch (err) {
      error = (err as Error).name === 'TimeoutError' ? 'timeout' : 'connection failed';
    }
    if (attempt < target.attempts) await new Promise((r) => setTimeout(r, target.backoffMs * 2 ** (attempt - 1)));
  }
  return { delivered: false, attempts: target.attempts, error };
};
