import type { AuditSink } from '../../audit/index.js';
import type { AgentId, TaskId } from '../../core/index.js';

/**
 * A refusal at a gateway outside any decision (origin, credential, session, a bad
 * request): a `gateway.refused` record (docs/audit-events.md), written without
 * holding up the answer. `task` is the one authenticated, or the one a genuine
 * refused credential names.
 */
export function recordGatewayRefusal(audit: AuditSink, gateway: 'mcp' | 'http', task: { id: TaskId; agentId: AgentId } | null, data: { code: string; method: string | null; upstream?: string | null }): void {
  void audit.record({ type: 'gateway.refused', taskId: task?.id ?? null, agentId: task?.agentId ?? null, data: { gateway, ...data } }).catch(() => undefined);
}
