import { extraKinds, type ToolSpec } from '../core/index.js';
import type { ApprovalTerms, CedarRequest, PolicyEvaluation } from './model.js';

/** Anything that decides one Cedar request: the engine, or a stand-in in tests. */
export interface Ceiling {
  evaluate(req: CedarRequest): PolicyEvaluation;
}

/**
 * Decides a call under the tool's kind and each of its further effects: the
 * request built for the kind (`req`), then the same request once per effect,
 * with only the action changed. A tool without effects costs exactly one
 * evaluation, the request as given. The kernel and the policy test runner both
 * decide through here, so they cannot disagree.
 */
export function evaluateEffects(ceiling: Ceiling, req: CedarRequest, tool: Pick<ToolSpec, 'kind' | 'effects'>): PolicyEvaluation {
  const primary = ceiling.evaluate(req);
  const extra = extraKinds(tool);
  if (extra.length === 0) return primary;
  const all = [primary];
  for (const kind of extra) all.push(ceiling.evaluate({ ...req, action: { type: 'Action', id: kind } }));
  return combineEvaluations(all);
}

/**
 * One answer for several actions of the same call, failing closed: any deny
 * denies (the first denying action's code, the determining policies of every
 * denying one); else any step-up steps up (values and policies of every step-up,
 * the strictest approval terms); else allow (every permit, the union of the
 * redactions).
 */
export function combineEvaluations(all: readonly PolicyEvaluation[]): PolicyEvaluation {
  const first = all[0];
  if (first === undefined) throw new TypeError('combineEvaluations: nothing to combine');
  if (all.length === 1) return first;
  const denials = all.filter((e) => e.outcome === 'deny');
  const steps = all.filter((e) => e.outcome === 'step_up');
  const base = { version: first.version, hash: first.hash };
  if (denials.length > 0) {
    return {
      ...base,
      outcome: 'deny',
      code: denials[0]!.code ?? 'policy.no_permit',
      policyIds: sortedUnion(denials.map((e) => e.policyIds)),
      stepUp: [],
      redact: [],
      errors: union(denials.map((e) => e.errors)),
    };
  }
  // Once approved, the call runs under the permits of the actions that allowed: their redactions still apply.
  const redact = union(all.map((e) => e.redact));
  if (steps.length > 0) {
    const out: PolicyEvaluation = {
      ...base,
      outcome: 'step_up',
      code: 'policy.step_up',
      policyIds: sortedUnion(steps.map((e) => e.policyIds)),
      stepUp: union(steps.map((e) => e.stepUp)),
      redact,
      errors: [],
    };
    const terms = steps.map((e) => e.approval).filter((t): t is ApprovalTerms => t !== undefined);
    if (terms.length > 0) out.approval = mergeApprovalTerms(terms);
    return out;
  }
  return { ...base, outcome: 'allow', policyIds: sortedUnion(all.map((e) => e.policyIds)), stepUp: [], redact, errors: [] };
}

/**
 * The strictest of several step-ups' terms — of several forbids on one action
 * (the engine) or of several actions of one call: every named approver, fewest
 * uses, shortest window, separation of duties if any asks for it (null where
 * none says).
 */
export function mergeApprovalTerms(terms: readonly ApprovalTerms[]): ApprovalTerms {
  const min = (values: (number | null)[]) => {
    const set = values.filter((v): v is number => v !== null);
    return set.length ? Math.min(...set) : null;
  };
  const sod = terms.map((t) => t.separationOfDuties).filter((v): v is boolean => v !== null);
  return {
    approvers: union(terms.map((t) => t.approvers)),
    uses: min(terms.map((t) => t.uses)),
    windowSeconds: min(terms.map((t) => t.windowSeconds)),
    separationOfDuties: sod.length ? sod.some(Boolean) : null,
  };
}

function union(lists: readonly (readonly string[])[]): string[] {
  return [...new Set(lists.flat())];
}

function sortedUnion(lists: readonly (readonly string[])[]): string[] {
  return union(lists).sort();
}
