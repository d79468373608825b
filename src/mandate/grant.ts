import type { AuditSink } from '../audit/index.js';
import { CodedError, formatZodError, newId, type Clock, type Random, type TaskId, type ToolCatalog, type ToolParams, type ToolSpec } from '../core/index.js';
import { parseId } from '../core/index.js';
import { MandateSchema, type Mandate, type RefusedItem, type Task } from './model.js';
import type { TaskRepo, ToolParamsSource } from './ports.js';
import { constraintMismatch } from './check-params.js';
import { narrowDelegation, parentDelegates } from './narrowing.js';

export interface GrantingAgent {
  id: Task['agentId'];
  name: string;
  spiffeId: string;
  groups: string[];
}

/** The ceiling as the grant step sees it: does policy forbid this tool for this agent whatever the call? */
export interface GrantCeiling {
  checkGrant(agent: { name: string; spiffeId: string; groups: string[] }, tool: ToolSpec): { refused: false } | { refused: true; code: string; policyIds: string[] };
}

/**
 * Whether a task may be delegated from `parent` to `actor` at all, before the child
 * mandate is narrowed item by item: the chain's depth, the parent's live children,
 * and the ceiling's `delegate` for the pair. Refuses with a CodedError
 * (delegation.depth_exceeded, delegation.children_exceeded, delegation.not_permitted).
 */
export interface DelegationGate {
  admit(parent: Task, actor: GrantingAgent, purpose: string): Promise<void>;
}

export interface GrantDeps {
  tasks: TaskRepo;
  /** Without it a child task is narrowed but not gated (unit tests of narrowing). */
  delegation?: DelegationGate;
  tools: ToolCatalog;
  ceiling: GrantCeiling;
  audit: AuditSink;
  clock: Clock;
  random: Random;
  /** The parameters of tools the catalog states none for, learned from their upstream; without it only stated `params` are checked. */
  toolParams?: ToolParamsSource;
}

/** Thrown when any item is refused: the mandate is granted whole or not at all. */
export class MandateRefused extends CodedError {
  constructor(readonly refused: RefusedItem[]) {
    super('mandate.refused', `the ceiling refuses ${refused.length} item${refused.length === 1 ? '' : 's'} of the mandate: ${refused.map((r) => `${r.item} (${r.code})`).join(', ')}`, { refused });
  }
}

/**
 * Validates a mandate, narrows it against the tool catalog, the parent task (on
 * every axis: src/mandate/narrowing.ts) and the ceiling (and its argument
 * constraints against the tool's parameters: those the catalog states, else those
 * `toolParams` learns), and stores the task.
 * Errors: mandate.invalid, mandate.refused (items may carry
 * mandate.delegation_widens, mandate.delegation_unprovable), mandate.parent_invalid.
 */
export async function grantMandate(agent: GrantingAgent, input: unknown, d: GrantDeps, vouched?: { issuer: string; sub: string }): Promise<Task> {
  const parsed = MandateSchema.safeParse(input);
  if (!parsed.success) return refuseWhole(agent.id, statedPurpose(input), 'mandate', new CodedError('mandate.invalid', formatZodError(parsed.error)), d.audit);
  const mandate = parsed.data;
  const now = d.clock.nowMs();
  let expiresAtMs = now + mandate.ttlSeconds * 1000;

  let parent: Task | undefined;
  try {
    parent = mandate.parentTask === undefined ? undefined : await loadParent(mandate.parentTask, d.tasks, now);
  } catch (err) {
    if (!(err instanceof CodedError) || err.code !== 'mandate.parent_invalid') throw err;
    return refuseWhole(agent.id, mandate.purpose, 'parentTask', err, d.audit);
  }
  if (parent && d.delegation) {
    try {
      await d.delegation.admit(parent, agent, mandate.purpose);
    } catch (err) {
      if (!(err instanceof CodedError) || !err.code.startsWith('delegation.')) throw err;
      return refuseWhole(agent.id, mandate.purpose, 'delegation', err, d.audit);
    }
  }
  const learned = learnParams(mandate, parent, d);
  const refused: RefusedItem[] = [];
  for (const grant of mandate.tools) {
    const tool = d.tools.get(grant.name);
    if (!tool) {
      refused.push({ item: `tools.${grant.name}`, code: 'mandate.tool_unknown', reason: `tool \`${grant.name}\` is not in the tool catalog`, policyIds: [] });
      continue;
    }
    // A tool the parent cannot hand down is refused by the narrowing below; nothing else about it matters.
    if (parent && !parentDelegates(parent.mandate, grant.name)) continue;
    const verdict = d.ceiling.checkGrant(agent, tool);
    if (verdict.refused) {
      refused.push({ item: `tools.${grant.name}`, code: verdict.code, reason: `the ceiling ${verdict.code === 'policy.forbid' ? 'forbids' : 'never permits'} \`${grant.name}\` for agent \`${agent.name}\``, policyIds: verdict.policyIds });
    }
    // A constraint the tool's parameters can never meet is a mistake (or a hole): refuse it now rather than at every call.
    // Stated parameters win over learned ones.
    let params = tool.params;
    const lookup = params ? undefined : learned.get(grant.name);
    if (lookup) {
      const found = await lookup;
      if ('error' in found) {
        // Fail closed. A constraint on an argument the tool lacks is not caught at call time: the agent can add that
        // argument with a value that meets it, which the upstream ignores (and an `optional` one is met by leaving it
        // out), while the argument the author meant goes unconstrained. Granting unchecked would grant that silently.
        // Only a tool with constraints and no stated `params` waits on its upstream; stating them removes the wait.
        refused.push({
          item: `tools.${grant.name}`,
          code: 'mandate.params_unavailable',
          reason: `the argument constraints of \`${grant.name}\` cannot be checked: its parameters could not be learned from its upstream (${found.error}); retry, or state its \`params\` in the configuration`,
          policyIds: [],
        });
        continue;
      }
      params = found.params;
    }
    if (params) {
      for (const [name, constraint] of Object.entries(grant.args)) {
        const mismatch = constraintMismatch(params, name, constraint);
        if (mismatch) refused.push({ item: `tools.${grant.name}.args.${name}`, code: 'mandate.arg_constraint', reason: `argument \`${name}\` of \`${grant.name}\`: ${mismatch}`, policyIds: [] });
      }
    }
  }
  if (parent) {
    // Delegation only ever narrows: a child may hold nothing its parent could not do.
    const narrowed = narrowDelegation(parent, mandate, expiresAtMs);
    refused.push(...narrowed.refused);
    expiresAtMs = narrowed.expiresAtMs;
  }
  if (refused.length > 0) {
    await d.audit.record({ type: 'task.refused', agentId: agent.id, data: { purpose: mandate.purpose, refused } });
    throw new MandateRefused(refused);
  }

  const task: Task = {
    id: newId('task', d.random),
    agentId: agent.id,
    agentName: agent.name,
    spiffeId: agent.spiffeId,
    mandate,
    principal: mandate.onBehalfOf ?? parent?.principal ?? null,
    parentTaskId: parent?.id ?? null,
    delegationDepth: parent ? parent.delegationDepth + 1 : 0,
    chain: parent ? [{ taskId: parent.id, agentId: parent.agentId, spiffeId: parent.spiffeId }, ...parent.chain] : [],
    status: 'active',
    credentialId: newId('credential', d.random),
    createdAtMs: now,
    expiresAtMs,
    endedAtMs: null,
    endReason: null,
    callCount: 0,
  };
  await d.tasks.insert(task);
  await d.audit.record({
    type: 'task.granted',
    taskId: task.id,
    agentId: agent.id,
    data: { mandate, principal: task.principal, principalVouchedBy: vouched ?? null, parentTaskId: task.parentTaskId, delegationDepth: task.delegationDepth, chain: task.chain, expiresAtMs, credentialId: task.credentialId },
  });
  return task;
}

type Learned = { params: ToolParams | undefined } | { error: string };

/**
 * Starts learning the parameters of every constrained tool the catalog states
 * none for, all at once: the grant waits for the slowest upstream, not for the
 * sum of them. Each answer is awaited in item order, so refusals keep their order.
 */
function learnParams(mandate: Mandate, parent: Task | undefined, d: GrantDeps): Map<string, Promise<Learned>> {
  const out = new Map<string, Promise<Learned>>();
  const source = d.toolParams;
  if (!source) return out;
  for (const grant of mandate.tools) {
    const tool = d.tools.get(grant.name);
    if (!tool || tool.params || Object.keys(grant.args).length === 0 || out.has(grant.name)) continue;
    if (parent && !parentDelegates(parent.mandate, grant.name)) continue; // refused anyway
    const lookup = Promise.resolve()
      .then(() => source.paramsOf(grant.name))
      .then(
        (params): Learned => ({ params }),
        (err: unknown): Learned => ({ error: err instanceof CodedError ? `${err.code}: ${err.publicMessage}` : 'the lookup failed' }),
      );
    out.set(grant.name, lookup);
  }
  return out;
}

/**
 * A mandate refused as a whole (it does not parse, its parent cannot be delegated
 * from, its actor or principal does not hold) is recorded like any refusal, naming
 * the one `item` refused, then thrown.
 */
export async function refuseWhole(agentId: Task['agentId'], purpose: string | null, item: string, err: CodedError, audit: AuditSink): Promise<never> {
  const policyIds = Array.isArray(err.detail.policyIds) ? (err.detail.policyIds as string[]) : [];
  await audit.record({ type: 'task.refused', agentId, data: { purpose, refused: [{ item, code: err.code, reason: err.publicMessage, policyIds }] } });
  throw err;
}

/** The purpose of a mandate that may not parse, when it states one, bounded as a valid one is. */
export function statedPurpose(input: unknown): string | null {
  const purpose = input !== null && typeof input === 'object' ? (input as { purpose?: unknown }).purpose : undefined;
  return typeof purpose === 'string' ? purpose.slice(0, 2000) : null;
}

async function loadParent(id: string, tasks: TaskRepo, now: number): Promise<Task> {
  const taskId = parseId('task', id);
  const parent = taskId && (await tasks.get(taskId as TaskId));
  if (!parent) throw new CodedError('mandate.parent_invalid', `parent task \`${id}\` does not exist`);
  if (parent.status !== 'active' || parent.expiresAtMs <= now) throw new CodedError('mandate.parent_invalid', `parent task \`${id}\` is not active`);
  return parent;
}

export type { Mandate };
