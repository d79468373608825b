import { isAuthorizedPartial, type CedarValueJson, type TypeAndId, type PolicyJson } from '@cedar-policy/cedar-wasm/nodejs';
import type { ToolSpec } from '../core/index.js';
import { requestEntities } from './build-request.js';
import type { AgentFacts, GrantCheck, LoadedPolicy } from './model.js';
import { CEDAR_SCHEMA } from './schema.js';

// At grant time the environment, the task state and the arguments are not known yet.
const UNKNOWN_CONTEXT: Record<string, CedarValueJson> = {
  environment: { __extn: { fn: 'unknown', arg: 'environment' } },
  task: { __extn: { fn: 'unknown', arg: 'task' } },
  call: { __extn: { fn: 'unknown', arg: 'call' } },
  delegation: { __extn: { fn: 'unknown', arg: 'delegation' } },
};
const NO_TAGS: Record<string, string> = {};

/**
 * The policies as used at grant time: every `hasTag`/`getTag` (the call's
 * arguments) replaced by an unknown, so a policy that depends on argument
 * values stays undecided instead of being read as "no such argument".
 */
export function grantTimePolicies(policies: readonly LoadedPolicy[]): Record<string, PolicyJson> {
  const out: Record<string, PolicyJson> = {};
  for (const p of policies) {
    out[p.id] = { ...p.json, conditions: p.json.conditions.map((c) => ({ ...c, body: argsUnknown(c.body) as typeof c.body })) };
  }
  return out;
}

/**
 * Refuses a tool at grant time only when the ceiling denies it for this agent
 * whatever the arguments, environment and task state: Cedar partial evaluation
 * with those unknown. A forbid that is already true refuses (`policy.forbid`);
 * no permit that is true or still undecided refuses (`policy.no_permit`).
 * Step-up forbids never refuse: a human may approve at call time. When Cedar
 * cannot answer, nothing is refused; every call is still evaluated in full.
 * `kind` is the action checked: the tool's kind, or one of its further effects.
 */
export function checkGrantAgainst(
  policies: Record<string, PolicyJson>,
  byId: ReadonlyMap<string, LoadedPolicy>,
  agent: AgentFacts,
  tool: ToolSpec,
  kind: string = tool.kind,
): GrantCheck {
  const principal: TypeAndId = { type: 'Agent', id: agent.name };
  const resource: TypeAndId = { type: 'Tool', id: tool.name };
  const answer = isAuthorizedPartial({
    principal,
    action: { type: 'Action', id: kind },
    resource,
    context: UNKNOWN_CONTEXT,
    // The schema supplies the action hierarchy (`read in [call_tool]`); unknowns cannot pass request validation.
    schema: CEDAR_SCHEMA,
    validateRequest: false,
    policies: { staticPolicies: policies },
    entities: requestEntities(agent, principal, tool, resource, NO_TAGS),
  });
  if (answer.type !== 'residuals') return { refused: false };
  const r = answer.response;
  const forbids = r.satisfied.filter((id) => {
    const p = byId.get(id);
    return p !== undefined && p.effect === 'forbid' && p.stepUp === undefined;
  });
  if (forbids.length > 0) return { refused: true, code: 'policy.forbid', policyIds: forbids.sort() };
  // An errored permit is left to call time, where it denies with policy.evaluation_error.
  const maybePermit = [...r.satisfied, ...r.nontrivialResiduals, ...r.errored].some((id) => byId.get(id)?.effect === 'permit');
  if (!maybePermit) return { refused: true, code: 'policy.no_permit', policyIds: [] };
  return { refused: false };
}

type Node = Record<string, unknown>;

// Walks Cedar's JSON expression form (`{ op: body }`), rewriting tag access only.
function argsUnknown(expr: unknown): unknown {
  if (expr === null || typeof expr !== 'object' || Array.isArray(expr)) return expr;
  const [op, body] = Object.entries(expr as Node)[0] ?? [];
  if (op === undefined) return expr;
  switch (op) {
    case 'Value':
    case 'Var':
    case 'Slot':
      return expr;
    case 'hasTag':
    case 'getTag':
      return { unknown: [{ Value: 'argument' }] };
    case 'Record':
      return { Record: Object.fromEntries(Object.entries(body as Node).map(([k, v]) => [k, argsUnknown(v)])) };
    default:
      // `Set` and extension calls hold arrays of expressions; operators hold named operands.
      if (Array.isArray(body)) return { [op]: body.map(argsUnknown) };
      if (body !== null && typeof body === 'object') {
        const out: Node = {};
        for (const [k, v] of Object.entries(body as Node)) out[k] = k === 'pattern' || k === 'attr' || k === 'entity_type' ? v : argsUnknown(v);
        return { [op]: out };
      }
      return expr;
  }
}
