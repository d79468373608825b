import type { Actor, AuditSink } from '../audit/index.js';
import { CodedError, canonicalJson, formatZodError, sha256Hex, type Clock, type Random } from '../core/index.js';
import type { Task } from '../mandate/index.js';
import type { ApprovalTerms } from '../policy/index.js';
import { z } from 'zod';
import { APPROVER_ID, type Approval, type Approver, type ApproverIdentity } from './model.js';
import type { ApprovalQuery, ApprovalRepo, ApproverRepo } from './ports.js';

export interface ApprovalDefaults {
  /** Who may approve when no policy names anyone: `group:<name>`, `approver:<id>`, `principal`. */
  approvers: string[];
  expirySeconds: number;
  separationOfDuties: boolean;
}

export interface ApprovalDeps {
  approvals: ApprovalRepo;
  approvers: ApproverRepo;
  audit: AuditSink;
  clock: Clock;
  random: Random;
  defaults: ApprovalDefaults;
  /** Called when a request is created (the webhook channel); never awaited by the decision. */
  onRequested?: (a: Approval) => void;
  /** Called when a request is decided, so waiting calls resume at once on this replica. */
  onDecided?: (a: Approval) => void;
}

const RegisterApproverSchema = z
  .object({
    id: z.string().regex(APPROVER_ID, 'lowercase letters, digits, `.`, `_`, `@` or `-`'),
    groups: z.array(z.string().regex(/^[A-Za-z0-9_-]{1,64}$/)).max(16).default([]),
  })
  .strict();

/** The canonical hash an approval is bound to: equal arguments hash equally whatever their key order. */
export function argsHashOf(args: Record<string, unknown>): string {
  return sha256Hex(canonicalJson(args));
}

/** Step-up requests bound to one exact action, and the people who decide them. */
export class ApprovalService {
  constructor(private readonly d: ApprovalDeps) {}

  // The decision side

  /** Takes one use of an approval of exactly this action, if there is one. */
  async consume(task: Task, tool: string, argsHash: string, decisionId: string): Promise<Approval | undefined> {
    const used = await this.d.approvals.consume(task.id, tool, argsHash, this.d.clock.nowMs());
    if (used) await this.d.audit.record({ type: 'approval.consumed', taskId: task.id, agentId: task.agentId, data: { approvalId: used.id, decisionId, tool, usesLeft: used.usesLeft } });
    return used;
  }

  latestFor(task: Task, tool: string, argsHash: string): Promise<Approval | undefined> {
    return this.d.approvals.latestFor(task.id, tool, argsHash);
  }

  /** The pending request for this exact action: the existing one, or a new one. */
  async request(task: Task, tool: string, args: Record<string, unknown>, argsHash: string, policies: string[], terms: ApprovalTerms | undefined): Promise<Approval> {
    const now = this.d.clock.nowMs();
    const latest = await this.d.approvals.latestFor(task.id, tool, argsHash);
    if (latest?.status === 'pending' && latest.expiresAtMs > now) return latest;
    const approval: Approval = {
      id: `apr_${this.d.random.token(12)}`,
      taskId: task.id,
      agentId: task.agentId,
      agentName: task.agentName,
      principal: task.principal,
      tool,
      args,
      argsHash,
      policies,
      purpose: task.mandate.purpose,
      approvers: terms?.approvers.length ? terms.approvers : this.d.defaults.approvers,
      separationOfDuties: terms?.separationOfDuties ?? this.d.defaults.separationOfDuties,
      usesLeft: terms?.uses ?? 1,
      windowSeconds: terms?.windowSeconds ?? null,
      status: 'pending',
      createdAtMs: now,
      expiresAtMs: now + this.d.defaults.expirySeconds * 1000,
      decidedBy: null,
      decidedAtMs: null,
      reason: null,
      notify: this.d.onRequested ? 'pending' : 'none',
    };
    await this.d.approvals.insert(approval);
    await this.d.audit.record({
      type: 'approval.requested',
      taskId: task.id,
      agentId: task.agentId,
      data: { approvalId: approval.id, tool, argsHash, policies, approvers: approval.approvers, expiresAtMs: approval.expiresAtMs },
    });
    this.d.onRequested?.(approval);
    return approval;
  }

  // The people side

  /** Registers an approver; the token is returned once and only its hash is kept. Errors: request.invalid, request.conflict. */
  async registerApprover(input: unknown, by: Actor): Promise<{ approver: Omit<Approver, 'tokenHash'>; token: string }> {
    const parsed = RegisterApproverSchema.safeParse(input);
    if (!parsed.success) throw new CodedError('request.invalid', formatZodError(parsed.error));
    const token = `mapr_${this.d.random.token(32)}`;
    const approver: Approver = { id: parsed.data.id, groups: parsed.data.groups, tokenHash: sha256Hex(token), createdAtMs: this.d.clock.nowMs() };
    await this.d.approvers.insert(approver);
    await this.d.audit.record({ type: 'approver.registered', data: { approverId: approver.id, groups: approver.groups, by } });
    return { approver: { id: approver.id, groups: approver.groups, createdAtMs: approver.createdAtMs }, token };
  }

  async authenticate(token: string | undefined): Promise<Approver | undefined> {
    return token ? this.d.approvers.byTokenHash(sha256Hex(token)) : undefined;
  }

  /** Errors: request.not_found. Expired requests read as expired. */
  async get(id: string): Promise<Approval> {
    await this.sweep();
    const a = await this.d.approvals.get(id);
    if (!a) throw new CodedError('request.not_found', `no approval \`${id}\``);
    return a;
  }

  async list(q: ApprovalQuery): Promise<Approval[]> {
    await this.sweep();
    return this.d.approvals.list(q);
  }

  /**
   * Approves or denies a pending request as `approver`. A request whose task has
   * ended is cancelled, not decided: approving it would only look like it let the
   * call through.
   * Errors: request.not_found, approval.not_pending, approval.not_allowed.
   */
  async decide(id: string, approver: ApproverIdentity, verdict: 'approved' | 'denied', reason: string): Promise<Approval> {
    const a = await this.get(id);
    const refuse = async (code: 'approval.not_pending' | 'approval.not_allowed', message: string): Promise<never> => {
      await this.d.audit.record({ type: 'approval.refused', taskId: a.taskId, agentId: a.agentId, data: { approvalId: id, approver: approver.id, verdict, code } });
      throw new CodedError(code, message);
    };
    if (a.status !== 'pending') return refuse('approval.not_pending', notPendingMessage(a));
    if (!mayApprove(approver, a)) return refuse('approval.not_allowed', `approver \`${approver.id}\` is not among the approvers of \`${id}\` (${a.approvers.join(', ')})`);
    if (a.separationOfDuties && a.principal !== null && a.principal === approver.id) {
      return refuse('approval.not_allowed', `approver \`${approver.id}\` is the principal of this task and may not approve its own request`);
    }
    const decided = await this.d.approvals.decide(id, verdict, approver.id, reason, this.d.clock.nowMs());
    if (!decided) {
      // It expired, was decided elsewhere, or its task ended a moment ago: record that first, then say which.
      await this.sweep();
      const now = await this.d.approvals.get(id);
      return refuse('approval.not_pending', now && now.status !== 'pending' ? notPendingMessage(now) : `approval \`${id}\` is no longer pending`);
    }
    await this.d.audit.record({
      type: verdict === 'approved' ? 'approval.approved' : 'approval.denied',
      taskId: a.taskId,
      agentId: a.agentId,
      data: { approvalId: id, by: approver.id, reason, tool: a.tool, argsHash: a.argsHash },
    });
    this.d.onDecided?.(decided);
    return decided;
  }

  /**
   * Marks expired requests, and pending requests whose task is no longer active
   * (completed, revoked, past its expiry) as cancelled; audits each once.
   */
  async sweep(): Promise<void> {
    const now = this.d.clock.nowMs();
    for (const a of await this.d.approvals.cancelOrphaned(now)) {
      await this.d.audit.record({ type: 'approval.cancelled', taskId: a.taskId, agentId: a.agentId, data: { approvalId: a.id, tool: a.tool, reason: a.reason } });
      this.d.onDecided?.(a);
    }
    for (const a of await this.d.approvals.expire(now)) {
      await this.d.audit.record({ type: 'approval.expired', taskId: a.taskId, agentId: a.agentId, data: { approvalId: a.id, tool: a.tool } });
      this.d.onDecided?.(a);
    }
  }

  async recordNotify(a: Approval, delivered: boolean, attempts: number, error: string | null): Promise<void> {
    await this.d.approvals.setNotify(a.id, delivered ? 'delivered' : 'failed');
    await this.d.audit.record({
      type: delivered ? 'approval.notified' : 'approval.notify_failed',
      taskId: a.taskId,
      agentId: a.agentId,
      data: { approvalId: a.id, attempts, error },
    });
  }
}

function notPendingMessage(a: Approval): string {
  return a.status === 'cancelled' ? `approval \`${a.id}\` was cancelled: its task \`${a.taskId}\` is no longer active (${a.reason ?? 'task ended'})` : `approval \`${a.id}\` is ${a.status}`;
}

/** `group:<name>`, `approver:<id>`, or `principal` (the person the task acts for). */
export function mayApprove(approver: ApproverIdentity, a: Approval): boolean {
  return a.approvers.some((rule) => {
    if (rule === 'principal') return a.principal !== null && a.principal === approver.id;
    if (rule.startsWith('group:')) return approver.groups.includes(rule.slice(6));
    if (rule.startsWith('approver:')) return approver.id === rule.slice(9);
    return false;
  });
}
