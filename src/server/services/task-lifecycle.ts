import type { ApprovalService } from '../../approvals/index.js';
import { SYSTEM_ACTOR, type Actor, type AuditSink } from '../../audit/index.js';
import { CodedError, parseId, type AgentId, type Clock, type Random, type TaskId, type ToolCatalog } from '../../core/index.js';
import { REVOCATION_KINDS, type CredentialService, type PresentedProof, type RevocationKind } from '../../credentials/index.js';
import type { PossessionCheck } from './possession.js';
import type { Agent, IdentityService, PrincipalTrust } from '../../identity/index.js';
import { delegatorsOf, grantMandate, mandateFromPlan, refuseWhole, statedPurpose, type DelegationGate, type Task, type TaskQuery, type TaskRepo, type ToolParamsSource } from '../../mandate/index.js';
import { buildDelegationRequest, type PolicyEngine } from '../../policy/index.js';
import type { SeenGroup } from '../../monitor/index.js';
import { extractKeys } from '../../provenance/index.js';
import type { ChangeFeed } from '../../store/index.js';

/** What the presenter of a task credential must prove (its `cnf`). */
type Confirm = { spiffeId: string } | { jkt: string };

export interface GrantedTask {
  task: Task;
  credential: string;
}

export interface TaskLifecycleDeps {
  identity: IdentityService;
  credentials: CredentialService;
  approvals: ApprovalService;
  tasks: TaskRepo;
  changes: ChangeFeed;
  tools: ToolCatalog;
  ceiling: PolicyEngine;
  audit: AuditSink;
  clock: Clock;
  random: Random;
  /** Parameters of catalog tools stated nowhere but in their MCP upstream's `inputSchema`, for the grant's checks. */
  toolParams?: ToolParamsSource;
  /** DPoP proofs of the keys SVIDs are bound to. */
  possession: PossessionCheck;
  /** The people agents act for, by their id tokens. */
  principals: PrincipalTrust;
  /** `principals.requireToken`: `onBehalfOf` only on a person's id token. */
  requirePrincipalToken: boolean;
  /** How deep and how wide delegation may go (`delegation`). */
  delegationLimits: { maxDepth: number; maxChildren: number };
  environment: string;
  /** What the parent task has read and called, for `context.task` of the `delegate` decision. */
  behaviourOf(task: Task): Promise<{ labels: string[]; toolsCalled: string[] }>;
  /** Drops what this replica holds in memory of an ended task. */
  forget(id: TaskId): void;
  /** Records values a task has seen (the monitor's). */
  observeValues(task: Task, found: readonly SeenGroup[]): Promise<void>;
}

/** Tasks from grant to end: declare a mandate, end a task and its children, revoke by credential, task, agent or principal. */
export class TaskLifecycle {
  constructor(private readonly d: TaskLifecycleDeps) {}

  /** Grants a mandate to the agent an SVID proves. Errors: identity.svid_*, dpop.*, mandate.*. */
  async declare(svid: string, mandate: unknown, presented?: PresentedProof): Promise<GrantedTask> {
    const { agent, confirm } = await this.holderOf(svid, presented);
    await this.ownParentOnly(agent, mandate);
    return this.grant(agent, mandate, confirm);
  }

  /**
   * A mandate declared with an SVID may name as its parent only a task of the same
   * agent: a task id is no secret (it is in every trail), and a child inherits its
   * parent's principal. Work goes to another agent by token exchange, asked for by
   * the parent's holder. Error: mandate.parent_invalid (recorded).
   */
  private async ownParentOnly(agent: Agent, mandate: unknown): Promise<void> {
    const named = mandate !== null && typeof mandate === 'object' ? (mandate as { parentTask?: unknown }).parentTask : undefined;
    const id = typeof named === 'string' ? parseId('task', named) : undefined;
    // Not a task id, or no such task: the grant refuses it as it refuses any bad parent.
    const parent = id ? await this.d.tasks.get(id as TaskId) : undefined;
    if (parent === undefined || parent.agentId === agent.id) return;
    const err = new CodedError('mandate.parent_invalid', `task \`${named}\` is another agent's: its holder hands work over by token exchange (POST /v1/token)`);
    await refuseWhole(agent.id, statedPurpose(mandate), 'parentTask', err, this.d.audit);
  }

  /** Grants the mandate a plan gives (`mandateFromPlan`); the SVID is checked before the plan is read. Errors: identity.svid_*, dpop.*, mandate.*. */
  async declareFromPlan(svid: string, plan: unknown, presented?: PresentedProof): Promise<GrantedTask> {
    const { agent, confirm } = await this.holderOf(svid, presented);
    const mandate = mandateFromPlan(plan);
    await this.ownParentOnly(agent, mandate);
    return this.grant(agent, mandate, confirm);
  }

  /**
   * Token exchange for a person (RFC 8693, `subject_token` an id token): the agent
   * the SVID proves gets a task on behalf of the person the id token names, verified
   * against their identity provider's keys. Errors: identity.*, dpop.*,
   * identity.principal_untrusted, mandate.principal_unverified, mandate.*.
   */
  async declareOnBehalf(svid: string, idToken: string, mandate: unknown, presented?: PresentedProof): Promise<GrantedTask> {
    const { agent, confirm } = await this.holderOf(svid, presented);
    const person = await this.d.principals.verify(idToken);
    const named = mandate !== null && typeof mandate === 'object' ? (mandate as { onBehalfOf?: unknown }).onBehalfOf : undefined;
    if (named !== undefined && named !== person.principal) {
      return refuseWhole(agent.id, statedPurpose(mandate), 'onBehalfOf', new CodedError('mandate.principal_unverified', `the mandate names \`${String(named)}\`, the id token \`${person.principal}\``), this.d.audit);
    }
    const input = mandate !== null && typeof mandate === 'object' && !Array.isArray(mandate) ? { ...mandate, onBehalfOf: person.principal } : mandate;
    return this.grant(agent, input, confirm, { issuer: person.issuer, sub: person.sub });
  }

  /** The agent an SVID proves; a key-bound SVID needs a DPoP proof of its key, and binds the task credential to the same key. */
  private async holderOf(svid: string, presented: PresentedProof | undefined): Promise<{ agent: Agent; confirm?: Confirm }> {
    const { agent, claims } = await this.d.identity.verifySvid(svid);
    if (!claims.jkt) return { agent };
    await this.d.possession.dpop(presented, { accessToken: svid, jkt: claims.jkt });
    return { agent, confirm: { jkt: claims.jkt } };
  }

  /**
   * Token exchange (RFC 8693): the holder of `parent` hands a narrower child task to
   * the agent `actorSpiffeId` names. The child's mandate names its parent; the
   * credential is the actor's, carrying the chain as `act` claims. Errors:
   * delegation.actor_unknown, identity.agent_disabled, delegation.*, mandate.*.
   */
  async delegate(parent: Task, actorSpiffeId: string, mandate: unknown): Promise<GrantedTask> {
    const prefix = this.d.identity.spiffeIdFor('');
    const actor = actorSpiffeId.startsWith(prefix) ? await this.d.identity.agentByName(actorSpiffeId.slice(prefix.length)).catch(() => undefined) : undefined;
    const refuse = (err: CodedError): Promise<never> => refuseWhole(parent.agentId, statedPurpose(mandate), 'delegation', err, this.d.audit);
    if (!actor) return refuse(new CodedError('delegation.actor_unknown', `no agent of this trust domain is \`${actorSpiffeId}\``));
    if (actor.disabledAtMs !== null) return refuse(new CodedError('identity.agent_disabled', `agent \`${actor.name}\` was deregistered`));
    if (mandate === null || typeof mandate !== 'object' || Array.isArray(mandate)) return refuse(new CodedError('mandate.invalid', 'the child mandate must be a JSON object'));
    const named = (mandate as { parentTask?: unknown }).parentTask;
    if (named !== undefined && named !== parent.id) return refuse(new CodedError('mandate.parent_invalid', `the child mandate names parent task \`${String(named)}\`, not the task of the subject token`));
    // Handed over by the delegating agent: it works only for the actor, proven by the key it attested with, else by its own SVID.
    return this.grant(actor, { ...mandate, parentTask: parent.id }, actor.dpopJkt ? { jkt: actor.dpopJkt } : { spiffeId: actor.spiffeId });
  }

  private async grant(agent: Agent, mandate: unknown, confirm?: Confirm, vouched?: { issuer: string; sub: string }): Promise<GrantedTask> {
    const { tasks, tools, ceiling, audit, clock, random, toolParams } = this.d;
    // A person is the principal of a root task only on their id token's word, when so configured; a child inherits its parent's.
    const m = mandate !== null && typeof mandate === 'object' ? (mandate as { onBehalfOf?: unknown; parentTask?: unknown }) : {};
    if (this.d.requirePrincipalToken && !vouched && m.onBehalfOf !== undefined && m.parentTask === undefined) {
      const err = new CodedError('mandate.principal_unverified', `\`onBehalfOf\` needs the id token of \`${String(m.onBehalfOf)}\`: exchange it at POST /v1/token (principals.requireToken)`);
      return refuseWhole(agent.id, statedPurpose(mandate), 'onBehalfOf', err, audit);
    }
    const task = await grantMandate(agent, mandate, { tasks, tools, ceiling, audit, clock, random, toolParams, delegation: this.delegationGate }, vouched);
    // The purpose is the principal's request, stated before anything was read: a recipient or account it names is theirs.
    // Not recorded (a store fault) leaves them unseen, which asks more, never less.
    const stated = extractKeys(task.mandate.purpose);
    if (stated.size > 0) await this.d.observeValues(task, [{ keys: stated, trust: 'trusted' }]).catch(() => undefined);
    const credential = await this.d.credentials.mint({
      credentialId: task.credentialId,
      taskId: task.id,
      agentId: task.agentId,
      spiffeId: task.spiffeId,
      principal: task.principal,
      chain: task.chain,
      ...(confirm ? { confirm } : {}),
      expiresAtMs: task.expiresAtMs,
    });
    return { task, credential };
  }

  /** Depth, live children, and the ceiling's `delegate` for the pair; see DelegationGate. */
  private readonly delegationGate: DelegationGate = {
    admit: async (parent, actor, purpose) => {
      const { maxDepth, maxChildren } = this.d.delegationLimits;
      if (parent.delegationDepth + 1 > maxDepth) throw new CodedError('delegation.depth_exceeded', `a task at depth ${parent.delegationDepth} cannot be delegated from: \`delegation.maxDepth\` is ${maxDepth}`);
      const live = await this.d.tasks.list({ parentTaskId: parent.id, status: 'active', limit: maxChildren + 1 });
      if (live.length >= maxChildren) throw new CodedError('delegation.children_exceeded', `task ${parent.id} already has ${live.length} live child tasks: \`delegation.maxChildren\` is ${maxChildren}`);
      const delegator = await this.d.identity.agentById(parent.agentId);
      if (!delegator || delegator.disabledAtMs !== null) throw new CodedError('delegation.not_permitted', `the agent holding task ${parent.id} is no longer registered`);
      const b = await this.d.behaviourOf(parent);
      const verdict = this.d.ceiling.evaluate(
        buildDelegationRequest({
          delegator: { name: delegator.name, spiffeId: delegator.spiffeId, groups: delegator.groups },
          actor: { name: actor.name, spiffeId: actor.spiffeId, groups: actor.groups },
          purpose,
          task: { id: parent.id, purpose: parent.mandate.purpose, dataClasses: parent.mandate.dataClasses, callCount: parent.callCount, labels: b.labels, toolsCalled: b.toolsCalled, delegationDepth: parent.delegationDepth, delegationChain: delegatorsOf(parent), onBehalfOf: parent.principal ?? undefined, egress: parent.mandate.egress },
          environment: this.d.environment,
        }),
      );
      // A delegation waits for nobody: a step-up answer refuses it like any other that is not an allow.
      if (verdict.outcome !== 'allow') {
        const by = verdict.policyIds.length > 0 ? ` (${verdict.policyIds.join(', ')})` : '';
        throw new CodedError('delegation.not_permitted', `the ceiling does not permit \`${delegator.name}\` to delegate to \`${actor.name}\`: ${verdict.code ?? 'policy.no_permit'}${by}`, { policyIds: verdict.policyIds });
      }
    },
  };

  /** Errors: request.not_found. */
  async get(id: string): Promise<Task> {
    const taskId = parseId('task', id);
    const task = taskId && (await this.d.tasks.get(taskId));
    if (!task) throw new CodedError('request.not_found', `no task \`${id}\``);
    return task;
  }

  list(query: TaskQuery): Promise<Task[]> {
    return this.d.tasks.list(query);
  }

  /** Ends a task: its credential and every child task's are revoked at once, and their pending approval requests cancelled. */
  async end(id: string, status: 'completed' | 'revoked', reason: string, by: Actor): Promise<Task> {
    const task = await this.get(id);
    if (task.status !== 'active') return task;
    await this.d.credentials.revoke('task', task.id, reason, by, task.expiresAtMs);
    await this.d.tasks.end(task.id, status, this.d.clock.nowMs(), reason);
    if (status === 'completed') await this.d.audit.record({ type: 'task.completed', taskId: task.id, agentId: task.agentId, data: { reason, by } });
    for (const child of await this.d.tasks.list({ parentTaskId: task.id, status: 'active', limit: 10_000 })) {
      await this.end(child.id, 'revoked', `parent task ${task.id} ended`, SYSTEM_ACTOR);
    }
    this.d.forget(task.id);
    // Its pending approval requests are cancelled now, so nobody approves a call that can no longer happen.
    await this.d.approvals.sweep().catch(() => undefined);
    await this.d.changes.publish({ kind: 'task', taskId: task.id }).catch(() => undefined);
    return this.get(id);
  }

  /** Is this token the task credential of that task? (an agent may complete its own task) */
  /** Revokes by credential, task, agent or principal. Errors: request.invalid, request.not_found. */
  async revoke(kind: string, subject: string, reason: string, by: Actor): Promise<{ kind: RevocationKind; subject: string; tasksEnded: number }> {
    if (!(REVOCATION_KINDS as readonly string[]).includes(kind)) throw new CodedError('request.invalid', `kind must be one of ${REVOCATION_KINDS.join(', ')}`);
    switch (kind as RevocationKind) {
      case 'task':
        await this.end(subject, 'revoked', reason, by);
        return { kind: 'task', subject, tasksEnded: 1 };
      case 'credential':
        await this.d.credentials.revoke('credential', subject, reason, by);
        return { kind: 'credential', subject, tasksEnded: 0 };
      case 'agent': {
        const agent = await this.d.identity.agentByName(subject).catch(() => undefined);
        const agentId = agent?.id ?? parseId('agent', subject);
        if (!agentId) throw new CodedError('request.not_found', `no agent \`${subject}\``);
        await this.d.credentials.revoke('agent', agentId, reason, by);
        return { kind: 'agent', subject: agentId, tasksEnded: await this.endAll({ agentId }, reason, by) };
      }
      case 'principal':
        await this.d.credentials.revoke('principal', subject, reason, by);
        return { kind: 'principal', subject, tasksEnded: await this.endAll({ principal: subject }, reason, by) };
    }
  }

  /** Deregisters an agent and ends every task it holds. */
  async deregisterAgent(name: string, by: Actor): Promise<Agent> {
    const agent = await this.d.identity.deregisterAgent(name, by);
    await this.revoke('agent', agent.id, 'agent deregistered', by);
    return agent;
  }

  private async endAll(query: { agentId?: AgentId; principal?: string }, reason: string, by: Actor): Promise<number> {
    const active = await this.d.tasks.list({ ...query, status: 'active', limit: 10_000 });
    for (const t of active) await this.end(t.id, 'revoked', reason, by);
    return active.length;
  }
}
