import { createHmac } from 'node:crypto';
import type { Approval } from './model.js';

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
