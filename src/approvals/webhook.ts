import { createHmac } from 'node:crypto';
import type { Approval } from './model.js';

export interface WebhookTarget {
  url: string;
  /** The shared HMAC key, resolved from the vault. */
  secret: string;
  attempts: number;
  backoffMs: number;
  timeoutMs: number;
}

/**
 * `X-Mandate-Signature: sha256=<hex>` is the HMAC-SHA256 of `<timestamp>.<body>`
 * with the shared secret, and `X-Mandate-Timestamp` is that timestamp in ms: a
 * receiver recomputes it, compares in constant time, and refuses old timestamps
 * so a captured request cannot be replayed.
 */
export function signWebhook(secret: string, timestampMs: number, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestampMs}.${body}`).digest('hex')}`;
}

export function approvalPayload(a: Approval, baseUrl: string): Record<string, unknown> {
  return {
    type: 'approval.requested',
    approval: {
      id: a.id,
      task: a.taskId,
      agent: a.agentName,
      principal: a.principal,
      tool: a.tool,
      args: a.args,
      argsHash: a.argsHash,
      purpose: a.purpose,
      policies: a.policies,
      approvers: a.approvers,
      expiresAtMs: a.expiresAtMs,
    },
    links: { approve: `${baseUrl}/v1/approvals/${a.id}/approve`, deny: `${baseUrl}/v1/approvals/${a.id}/deny`, console: `${baseUrl}/console/approvals` },
  };
}

/** Posts the payload, retrying with exponential backoff; resolves with the outcome, never throws. */
export async function deliverWebhook(target: WebhookTarget, payload: unknown, nowMs: () => number): Promise<{ delivered: boolean; attempts: number; error: string | null }> {
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
}
