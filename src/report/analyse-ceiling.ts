import type { ToolSpec } from '../core/index.js';
import { buildCedarRequest, evaluateEffects, type PolicyEngine, type PolicyOutcome, type TaskFacts } from '../policy/index.js';
import type { CeilingAnalysis, StepUpCoverage, ToolCoverage } from './model.js';

/** Tools at these risks should not run on an agent's word alone. */
export const HIGH_RISKS: readonly string[] = ['high', 'critical'];

/** Delegation depths asked about: a chain deeper than this is rare enough to leave to the mandate's own narrowing. */
const MAX_PROBED_DEPTH = 8;

const STRICTNESS: Record<PolicyOutcome, number> = { allow: 0, step_up: 1, deny: 2 };

/**
 * What the loaded policy set does, found by asking it rather than reading it: Cedar
 * conditions can say anything, but a question about a synthetic call has one
 * answer. Each high-risk tool is asked about twice per agent group set — by a
 * fresh task acting for a person, whose data classes cover the tool's labels and
 * whose targets the user did not name (so neither a declaration nor a missing one
 * decides), and by the same task once it has read untrusted content. Then every
 * tool is asked about again at growing delegation depths.
 */
export function analyseCeiling(engine: PolicyEngine, tools: readonly ToolSpec[], opts: { environment: string; agentGroups: readonly (readonly string[])[] }): CeilingAnalysis {
  const loaded = engine.loaded?.policies ?? [];
  const groupsProbed = distinctGroupSets(opts.agentGroups);
  const ask = (tool: ToolSpec, groups: readonly string[], task: Partial<TaskFacts>, targets: 'trusted' | 'unseen') =>
    evaluateEffects(
      engine,
      buildCedarRequest({
        agent: { name: 'report-probe', spiffeId: 'spiffe://report.invalid/agent/report-probe', groups: [...groups] },
        tool,
        args: {},
        task: { id: 'tsk_report_probe', purpose: 'compliance report probe', dataClasses: [...tool.labels], callCount: 0, labels: [], toolsCalled: [], delegationDepth: 0, onBehalfOf: 'report-probe-principal', egress: [], ...task },
        call: { declared: 0, trusted: 0, counterparty: 0, untrusted: 0, unseen: 0, ...((tool.targets?.length ?? 0) > 0 ? { [targets]: 1 } : {}) },
        environment: opts.environment,
      }),
      tool,
    );

  const highRiskTools: ToolCoverage[] = tools
    .filter((t) => HIGH_RISKS.includes(t.risk))
    .map((tool) => {
      const clean = groupsProbed.map((groups) => ({ groups, answer: ask(tool, groups, {}, 'trusted') }));
      const allowedFor = clean.filter((c) => c.answer.outcome === 'allow').map((c) => [...c.groups]);
      const afterUntrusted = groupsProbed.map((groups) => ask(tool, groups, { labels: ['untrusted'] }, 'unseen'));
      return {
        tool: tool.name,
        kind: tool.kind,
        risk: tool.risk,
        stepUp: coverageOf(clean.map((c) => c.answer.outcome), afterUntrusted.map((a) => a.outcome)),
        policies: [...new Set(clean.flatMap((c) => c.answer.policyIds))].sort(),
        allowedFor,
      };
    });

  let delegationLimitedFromDepth: number | null = null;
  for (let depth = 1; depth <= MAX_PROBED_DEPTH && delegationLimitedFromDepth === null; depth++) {
    const stricter = tools.some((tool) =>
      groupsProbed.some((groups) => STRICTNESS[ask(tool, groups, { delegationDepth: depth }, 'trusted').outcome] > STRICTNESS[ask(tool, groups, {}, 'trusted').outcome]),
    );
    if (stricter) delegationLimitedFromDepth = depth;
  }

  return {
    version: engine.version,
    hash: engine.hash,
    files: [...(engine.loaded?.files ?? [])],
    permits: loaded.filter((p) => p.effect === 'permit').length,
    forbids: loaded.filter((p) => p.effect === 'forbid').length,
    stepUpPolicies: loaded.filter((p) => p.stepUp !== undefined).map((p) => p.id),
    groupsProbed,
    highRiskTools,
    delegationLimitedFromDepth,
  };
}

/**
 * Covered when no agent group gets the tool from a clean task without a person
 * asked: held (`always`), or refused outright (`refused`) for every group.
 */
function coverageOf(clean: readonly PolicyOutcome[], afterUntrusted: readonly PolicyOutcome[]): StepUpCoverage {
  if (clean.every((o) => o === 'deny')) return 'refused';
  if (clean.every((o) => o !== 'allow')) return 'always';
  return afterUntrusted.every((o) => o !== 'allow') ? 'after_untrusted_content' : 'never';
}

/** Each set of groups once, sorted; with no agent registered yet, the group `mandate agent register` gives by default. */
function distinctGroupSets(sets: readonly (readonly string[])[]): string[][] {
  const byKey = new Map<string, string[]>();
  for (const set of sets.length > 0 ? sets : [['agents']]) {
    const sorted = [...new Set(set)].sort();
    byKey.set(sorted.join('\n'), sorted);
  }
  return [...byKey.values()].sort((a, b) => a.join(',').localeCompare(b.join(',')));
}
