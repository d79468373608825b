import type { AuditSink } from '../../audit/index.js';
import type { TaskId } from '../../core/index.js';
import type { Task } from '../../mandate/index.js';
import type { DriftResponse, Signal } from '../../monitor/index.js';
import type { Notifier, Webhook } from './notifier.js';

export interface DriftResponderDeps {
  /** Ends a task and its children. */
  end(id: TaskId, status: 'revoked', reason: string): Promise<unknown>;
  audit: AuditSink;
  webhook: Webhook | undefined;
  notifier: Notifier;
  /** Where links in webhook payloads point. */
  baseUrl: () => string;
}

/** Carries out the response configured for a drift signal. `suspend` and `step_up` are the monitor's own state; these two reach outside it. */
export class DriftResponder {
  constructor(private readonly d: DriftResponderDeps) {}

  /** `revoke` ends the task and its children at once; `alert` and `tighten` are an audit event and a signed post for the operators' tooling. */
  async respond(task: Task, signal: Signal, response: DriftResponse, score: number): Promise<void> {
    if (response === 'revoke') {
      await this.d.end(task.id, 'revoked', `drift: ${signal}`);
      return;
    }
    if (response !== 'alert' && response !== 'tighten') return;
    await this.d.audit.record({ type: 'monitor.alert', taskId: task.id, agentId: task.agentId, data: { signal, response, score } });
    const hook = this.d.webhook;
    if (!hook) return;
    const payload = { type: 'monitor.alert', response, task: task.id, agent: task.agentName, principal: task.principal, purpose: task.mandate.purpose, signal, score, links: { task: `${this.d.baseUrl()}/v1/tasks/${task.id}` } };
    this.d.notifier.inBackground(this.d.notifier.post(hook, payload, 'monitor:webhook').then(() => undefined));
  }
}
