import type { TypeAndId } from '@cedar-policy/cedar-wasm/nodejs';
import { TOOL_KINDS, toolGroup, type ToolSpec } from '../core/index.js';
import type { AgentFacts, CallFacts, CedarEntity, CedarRequest, TaskFacts } from './model.js';

// Shared, never mutated: this runs on every call, and cedar-wasm only reads its input.
const NO_ATTRS = {};
const NO_PARENTS: TypeAndId[] = [];
const NO_TOOL_TAGS: string[] = [];
const ACTIONS = new Map<string, TypeAndId>(TOOL_KINDS.map((k) => [k, { type: 'Action', id: k }]));

/**
 * Builds the Cedar request for one tool call. Only the entities the decision
 * needs go in (agent, tool, their groups): cedar-wasm's cost grows with each one.
 */
export function buildCedarRequest(facts: CallFacts): CedarRequest {
  const { agent, tool, task } = facts;
  const principal: TypeAndId = { type: 'Agent', id: agent.name };
  const resource: TypeAndId = { type: 'Tool', id: tool.name };
  return {
    principal,
    // An unknown kind still builds; schema validation then denies it with policy.evaluation_error.
    action: ACTIONS.get(tool.kind) ?? { type: 'Action', id: String(tool.kind) },
    resource,
    context: {
      environment: facts.environment,
      task: {
        id: task.id,
        purpose: task.purpose,
        dataClasses: task.dataClasses,
        callCount: task.callCount,
        labels: task.labels,
        toolsCalled: task.toolsCalled,
        delegationDepth: task.delegationDepth,
        onBehalfOf: task.onBehalfOf ?? '',
        egress: task.egress ?? [],
      },
      call: callContext(facts.call),
      delegation: delegationContext(task),
    },
    entities: requestEntities(agent, principal, tool, resource, argsToTags(facts.args)),
  };
}

/** What decides whether one agent may delegate to another: both agents, the child's purpose, and the delegating task as it stands. */
export interface DelegationFacts {
  delegator: AgentFacts;
  actor: AgentFacts;
  /** The child mandate's purpose. */
  purpose: string;
  /** The delegating (parent) task: `context.task` is its state, as for its own calls. */
  task: TaskFacts;
  environment: string;
}

/**
 * The Cedar request for `delegate` (schema: principal Agent, resource Task): the
 * delegating agent asks to hand part of its task to the actor, the child task's
 * `agent`. A policy permits a pair (`principal in AgentGroup::"orchestrators"` and
 * `resource.agent in AgentGroup::"researchers"`) and may read the parent's context.
 */
export function buildDelegationRequest(f: DelegationFacts): CedarRequest {
  const principal: TypeAndId = { type: 'Agent', id: f.delegator.name };
  const actor: TypeAndId = { type: 'Agent', id: f.actor.name };
  const resource: TypeAndId = { type: 'Task', id: `delegated-from:${f.task.id}` };
  const entities: CedarEntity[] = [];
  const groupsSeen = new Set<string>();
  const agentEntity = (uid: TypeAndId, facts: AgentFacts): void => {
    const parents: TypeAndId[] = [];
    for (const id of new Set(facts.groups)) {
      parents.push({ type: 'AgentGroup', id });
      if (!groupsSeen.has(id)) entities.push({ uid: { type: 'AgentGroup', id }, attrs: NO_ATTRS, parents: NO_PARENTS });
      groupsSeen.add(id);
    }
    entities.push({ uid, attrs: { name: facts.name, spiffeId: facts.spiffeId }, parents });
  };
  agentEntity(principal, f.delegator);
  // An agent delegating to itself is one entity: a duplicate is a Cedar error.
  if (f.actor.name !== f.delegator.name) agentEntity(actor, f.actor);
  entities.push({ uid: resource, attrs: { purpose: f.purpose, agent: { __entity: actor } }, parents: NO_PARENTS });
  const t = f.task;
  return {
    principal,
    action: { type: 'Action', id: 'delegate' },
    resource,
    context: {
      environment: f.environment,
      task: { id: t.id, purpose: t.purpose, dataClasses: t.dataClasses, callCount: t.callCount, labels: t.labels, toolsCalled: t.toolsCalled, delegationDepth: t.delegationDepth, onBehalfOf: t.onBehalfOf ?? '', egress: t.egress ?? [] },
      call: NO_TARGETS,
      delegation: delegationContext(t),
    },
    entities,
  };
}

const NO_CHAIN: string[] = [];

/** `context.delegation`: how deep the task is delegated and by whom (schema: DelegationContext). */
function delegationContext(t: TaskFacts): { depth: number; chain: string[] } {
  return { depth: t.delegationDepth, chain: t.delegationChain === undefined || t.delegationChain.length === 0 ? NO_CHAIN : [...t.delegationChain] };
}

const NO_TARGETS = { targets: 0, declaredTargets: 0, trustedTargets: 0, counterpartyTargets: 0, untrustedTargets: 0, unseenTargets: 0 };

/** Target counts by provenance, as `context.call` (schema: CallInfo). */
function callContext(c: CallFacts['call'] | undefined): typeof NO_TARGETS {
  if (!c) return NO_TARGETS;
  return {
    targets: c.declared + c.trusted + c.counterparty + c.untrusted + c.unseen,
    declaredTargets: c.declared,
    trustedTargets: c.trusted,
    counterpartyTargets: c.counterparty,
    untrustedTargets: c.untrusted,
    unseenTargets: c.unseen,
  };
}

/** The agent, the tool, and their group entities. Shared with the grant-time check. */
export function requestEntities(
  agent: AgentFacts,
  principal: TypeAndId,
  tool: ToolSpec,
  resource: TypeAndId,
  tags: Record<string, string>,
): CedarEntity[] {
  const groups = agent.groups;
  const agentParents: TypeAndId[] = [];
  const entities: CedarEntity[] = [];
  for (let i = 0; i < groups.length; i++) {
    const id = groups[i]!;
    // A duplicate entity is a Cedar error, so a group listed twice is passed once.
    if (groups.indexOf(id) !== i) continue;
    const uid: TypeAndId = { type: 'AgentGroup', id };
    agentParents.push(uid);
    entities.push({ uid, attrs: NO_ATTRS, parents: NO_PARENTS });
  }
  const groupUid: TypeAndId = { type: 'ToolGroup', id: toolGroup(tool.name) };
  entities.push(
    { uid: principal, attrs: { name: agent.name, spiffeId: agent.spiffeId }, parents: agentParents },
    { uid: resource, attrs: { name: tool.name, kind: tool.kind, risk: tool.risk, labels: tool.labels, tags: tool.tags ?? NO_TOOL_TAGS, targets: tool.targets ?? NO_TOOL_TAGS }, parents: [groupUid], tags },
    { uid: groupUid, attrs: NO_ATTRS, parents: NO_PARENTS },
  );
  return entities;
}

/**
 * Arguments become the Tool's tags (`tags String` in the schema): strings as-is,
 * numbers, booleans, null, arrays and objects as their JSON text.
 */
export function argsToTags(args: Record<string, unknown>): Record<string, string> {
  // Null prototype: an argument named `__proto__` must become a tag, not a prototype.
  const tags: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const key in args) {
    if (!Object.hasOwn(args, key)) continue;
    const value = args[key];
    if (typeof value === 'string') tags[key] = value;
    else if (value !== undefined) tags[key] = jsonText(value);
  }
  return tags;
}

function jsonText(value: unknown): string {
  try {
    // JSON.stringify returns undefined for functions and symbols; they have no JSON text.
    return JSON.stringify(value) ?? String(value);
  } catch {
    // BigInt or a cycle: never reachable from JSON-RPC input, but never throw on the hot path.
    return String(value);
  }
}
