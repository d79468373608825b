import { EventEmitter } from 'node:events';
import { ApprovalService, approvalPayload, type Approval, type ApprovalDeps } from '../../approvals/index.js';
import type { Clock } from '../../core/index.js';
import type { ChangeFeed } from '../../store/index.js';
import type { Notifier, Webhook } from './notifier.js';

/** Expired requests are marked (and audited) even when nobody looks at them. */
const SWEEP_MS = 5000;

export interface ApprovalDeskDeps {
  approvals: Omit<ApprovalDeps, 'onRequested' | 'onDecided'>;
  webhook: Webhook | undefined;
  notifier: Notifier;
  /** Where links in webhook payloads point. */
  baseUrl: () => string;
  maxWaitSeconds: number;
  clock: Clock;
  /** Tells other replicas (and workers) that a request was decided, so calls held open there wake at once. */
  changes: ChangeFeed;
}

/**
 * Step-up approvals as the application runs them: the approval service, a
 * webhook post for each new request (in the background, never delaying the
 * decision), expiry sweeps, and calls held open until a person decides.
 */
export class ApprovalDesk {
  readonly service: ApprovalService;
  /** Wakes calls held open for an approval as soon as it is decided, here or on another replica. */
  private readonly decided = new EventEmitter();
  private readonly sweeper: NodeJS.Timeout;

  constructor(private readonly d: ApprovalDeskDeps) {
    this.decided.setMaxListeners(0);
    this.service = new ApprovalService({
      ...d.approvals,
      onRequested: d.webhook ? (a) => this.notify(a, d.webhook!) : undefined,
      onDecided: (a) => {
        this.decided.emit(a.id);
        void d.changes.publish({ kind: 'approval', id: a.id }).catch(() => undefined);
      },
    });
    d.changes.subscribe((change) => {
      if (change.kind === 'approval') this.decided.emit(change.id);
    });
    this.sweeper = setInterval(() => void this.service.sweep().catch(() => undefined), SWEEP_MS);
    this.sweeper.unref();
  }

  /**
   * Waits up to `maxWaitMs` for a person to decide `approvalId`; resolves with the
   * approval as it then stands. Polls the store too, so a decision made on another
   * replica is seen should its change notification be lost.
   */
  async waitFor(approvalId: string, maxWaitMs: number): Promise<Approval> {
    const deadline = this.d.clock.nowMs() + Math.min(maxWaitMs, this.d.maxWaitSeconds * 1000);
    for (;;) {
      const current = await this.service.get(approvalId);
      const remaining = deadline - this.d.clock.nowMs();
      if (current.status !== 'pending' || remaining <= 0) return current;
      await new Promise<void>((resolve) => {
        const wake = () => {
          clearTimeout(timer);
          this.decided.off(approvalId, wake);
          resolve();
        };
        const timer = setTimeout(wake, Math.min(remaining, 1000));
        this.decided.on(approvalId, wake);
      });
    }
  }

  /** Posts a new request to the webhook with retries, and records whether it got through. */
  private notify(a: Approval, hook: Webhook): void {
    const { notifier } = this.d;
    notifier.inBackground(
      notifier
        .post(hook, approvalPayload(a, this.d.baseUrl()), 'approvals:webhook')
        .then((outcome) => this.service.recordNotify(a, outcome.delivered, outcome.attempts, outcome.error))
        .catch(() => this.service.recordNotify(a, false, 0, 'the webhook secret could not be resolved')),
    );
  }

  close(): void {
    clearInterval(this.sweeper);
  }
}
