import type { DeliverWebhook, WebhookDelivery } from '../../approvals/index.js';
import type { Clock } from '../../core/index.js';
import type { SecretVault, ValueOrSecret } from '../../secrets/index.js';

/** A configured webhook (`approvals.webhook`, `monitor.webhook`). */
export interface Webhook {
  url: string;
  secret: ValueOrSecret;
  attempts: number;
  backoffMs: number;
  timeoutMs: number;
}

/**
 * Signed webhook posts that must never delay a decision: each runs in the
 * background with its retries, and `settle` (at shutdown) waits for them all.
 */
export class Notifier {
  private readonly pending = new Set<Promise<void>>();

  constructor(private readonly d: { secrets: SecretVault; deliver: DeliverWebhook; clock: Clock }) {}

  /** Posts a signed payload with retries; resolves with the outcome, never throws past a secret that cannot be resolved. */
  async post(hook: Webhook, payload: unknown, usedBy: string): Promise<WebhookDelivery> {
    const { values } = await this.d.secrets.resolveAll({ secret: hook.secret }, usedBy);
    return this.d.deliver({ url: hook.url, secret: values.secret!, attempts: hook.attempts, backoffMs: hook.backoffMs, timeoutMs: hook.timeoutMs }, payload, () => this.d.clock.nowMs());
  }

  /** Work that must not delay a decision, but that shutdown waits for. */
  inBackground(job: Promise<void>): void {
    const tracked = job.catch(() => undefined);
    this.pending.add(tracked);
    void tracked.finally(() => this.pending.delete(tracked));
  }

  async settle(): Promise<void> {
    await Promise.allSettled([...this.pending]);
  }
}
