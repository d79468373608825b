import { SIGNALS } from '../monitor/index.js';
import { findCredentials } from './find-credentials.js';
import { MAESTRO_LAYERS, NIST_SUBCATEGORIES, OWASP_AGENTIC_TOP_10, nistFunctionOf, type MaestroId, type NistSubcategory, type OwaspId } from './frameworks.js';
import { HIGH_RISKS } from './analyse-ceiling.js';
import { MAX_LISTED } from './tally-trail.js';
import {
  GAP_SEVERITY,
  REPORT_SCHEMA,
  type Configured,
  type Control,
  type ControlMappings,
  type ControlStatus,
  type Coverage,
  type Evidence,
  type Gap,
  type GapKind,
  type GapSeverity,
  type Report,
  type ReportInput,
  type UndetailedTask,
} from './model.js';

const DAY_MS = 86_400_000;

interface ControlDraft {
  id: string;
  title: string;
  checks: string;
  owasp: OwaspId[];
  maestro: MaestroId[];
  nist: NistSubcategory[];
  status: ControlStatus;
  configured: Configured;
  evidence: Evidence;
  gaps: Gap[];
  /** Findings counted in the trail beyond the tasks it lists by name. */
  unlisted?: { kind: GapKind; count: number };
}

/**
 * Maps what is configured and what the trail shows over a period to controls, each
 * with its framework mappings, whether it is in force, the evidence (counts) and
 * the gaps (the offending tool, task, key or secret). Pure: everything it reads is
 * in `input`.
 */
export function buildReport(input: ReportInput): Report {
  const drafts = [
    workloadIdentity(input),
    taskCredentials(input),
    toolCatalog(input),
    declaredPurpose(input),
    perCallPolicy(input),
    stepUp(input),
    driftResponse(input),
    delegationLimits(input),
    brokeredSecrets(input),
    auditIntegrity(input),
  ];
  const severities: GapSeverity[] = drafts.flatMap((d) => [
    ...d.gaps.map((g) => g.severity),
    ...(d.unlisted ? Array<GapSeverity>(d.unlisted.count).fill(GAP_SEVERITY[d.unlisted.kind]) : []),
  ]);
  const controls = drafts.map(finish);
  const decisionsByOutcome = { allow: 0, deny: 0, step_up: 0, ...input.trail.decisionsByOutcome };
  return {
    schema: REPORT_SCHEMA,
    generatedAt: iso(input.nowMs),
    period: { since: input.period.sinceMs === null ? null : iso(input.period.sinceMs), until: input.period.untilMs === null ? null : iso(input.period.untilMs) },
    trustDomain: input.config.trustDomain,
    environment: input.config.environment,
    thresholds: {
      maxTaskTtlSeconds: input.thresholds.maxTaskTtlSeconds,
      maxSvidTtlSeconds: input.thresholds.maxSvidTtlSeconds,
      secretMaxAgeDays: input.thresholds.secretMaxAgeDays,
      minPurposeWords: input.thresholds.minPurposeWords,
    },
    summary: {
      controls: controls.length,
      inForce: controls.filter((c) => c.status === 'in_force').length,
      partial: controls.filter((c) => c.status === 'partial').length,
      notInForce: controls.filter((c) => c.status === 'not_in_force').length,
      gaps: severities.length,
      gapsBySeverity: { high: severities.filter((s) => s === 'high').length, medium: severities.filter((s) => s === 'medium').length, low: severities.filter((s) => s === 'low').length },
    },
    controls,
    frameworks: {
      owasp: OWASP_AGENTIC_TOP_10.map((r) => coverage(r.id, r.title, controls.filter((c) => c.mappings.owasp.some((m) => m.id === r.id)))),
      maestro: MAESTRO_LAYERS.map((l) => coverage(l.id, l.title, controls.filter((c) => c.mappings.maestro.some((m) => m.id === l.id)))),
      nist: NIST_SUBCATEGORIES.map((s) => {
        const { id, title, ...rest } = coverage(s.id, s.title, controls.filter((c) => c.mappings.nist.some((m) => m.subcategory === s.id)));
        return { id, function: nistFunctionOf(s.id), title, ...rest };
      }),
    },
    trail: {
      events: input.trail.events,
      firstEventAt: input.trail.firstAtMs === null ? null : iso(input.trail.firstAtMs),
      lastEventAt: input.trail.lastAtMs === null ? null : iso(input.trail.lastAtMs),
      byType: sorted(input.trail.byType),
      decisions: { total: sum(input.trail.decisionsByOutcome), byOutcome: decisionsByOutcome, byCode: sorted(input.trail.decisionsByCode) },
    },
  };
}

// The controls

function workloadIdentity({ config, agents, trail, thresholds }: ReportInput): ControlDraft {
  const active = agents.filter((a) => !a.disabled);
  const gaps: Gap[] = [];
  if (config.identity.svidTtlSeconds > thresholds.maxSvidTtlSeconds) {
    gaps.push(gap('long_svid_ttl', 'identity.svidTtlSeconds', `an SVID lives ${config.identity.svidTtlSeconds} s, longer than ${thresholds.maxSvidTtlSeconds} s: a stolen one proves the agent's identity that long`));
  }
  return {
    id: 'workload-identity',
    title: 'Workload identity for every agent',
    checks: 'Agents are registered, attest (join token or OIDC) and carry short-lived SPIFFE JWT-SVIDs; nothing acts without one.',
    owasp: ['ASI03', 'ASI07', 'ASI10'],
    maestro: ['L4', 'L7'],
    nist: ['GOVERN 1.6', 'MEASURE 2.7'],
    status: active.length === 0 ? 'not_in_force' : gaps.length > 0 ? 'partial' : 'in_force',
    configured: {
      svidTtlSeconds: config.identity.svidTtlSeconds,
      joinTokenTtlSeconds: config.identity.joinTokenTtlSeconds,
      oidcIssuers: config.identity.oidcIssuers.map((i) => i.issuer),
      agents: active.length,
      agentsDeregistered: agents.length - active.length,
      agentsAttestingByJoinToken: active.filter((a) => a.joinToken).length,
      agentsAttestingByOidc: active.filter((a) => a.oidcRules > 0).length,
    },
    evidence: {
      attestations: sum(trail.attestationsByMethod),
      attestationsByMethod: sorted(trail.attestationsByMethod),
      attestationFailures: sum(trail.attestationFailuresByCode),
      attestationFailuresByCode: sorted(trail.attestationFailuresByCode),
      agentsRegistered: count(trail, 'agent.registered'),
      agentsDeregistered: count(trail, 'agent.deregistered'),
      joinTokensCreated: count(trail, 'join_token.created'),
      keyRotations: count(trail, 'key.rotated'),
    },
    gaps,
  };
}

function taskCredentials({ config, trail, thresholds }: ReportInput): ControlDraft {
  const gaps: Gap[] = [];
  if (config.credentials.maxTaskTtlSeconds > thresholds.maxTaskTtlSeconds) {
    gaps.push(gap('long_task_ttl_allowed', 'credentials.maxTaskTtlSeconds', `a task may ask for a credential that lives ${config.credentials.maxTaskTtlSeconds} s, longer than ${thresholds.maxTaskTtlSeconds} s`));
  }
  for (const t of trail.longTtlTasks) {
    gaps.push(gap('long_task_ttl_granted', t.taskId, `granted a credential for ${t.ttlSeconds} s, longer than ${thresholds.maxTaskTtlSeconds} s`));
  }
  return {
    id: 'jit-credentials',
    title: 'Just-in-time task credentials',
    checks: 'Each task gets its own credential, bound to its mandate, that expires with the task and is refused the moment the task ends or is revoked.',
    owasp: ['ASI03'],
    maestro: ['L4', 'L6'],
    nist: ['MEASURE 2.7', 'MANAGE 2.4'],
    status: gaps.length > 0 ? 'partial' : 'in_force',
    configured: { maxTaskTtlSeconds: config.credentials.maxTaskTtlSeconds },
    evidence: {
      tasksGranted: count(trail, 'task.granted'),
      tasksRefused: count(trail, 'task.refused'),
      tasksCompleted: count(trail, 'task.completed'),
      longestTaskTtlSeconds: trail.longestTaskTtlSeconds ?? 0,
      tasksWithLongTtl: trail.longTtlTaskCount,
      revocations: sum(trail.revocationsByKind),
      revocationsByKind: sorted(trail.revocationsByKind),
      refusedAsExpired: trail.decisionsByCode['credential.expired'] ?? 0,
      refusedAsRevoked: trail.decisionsByCode['credential.revoked'] ?? 0,
      withdrawnAfterDecision: count(trail, 'decision.withdrawn'),
    },
    gaps,
    unlisted: { kind: 'long_task_ttl_granted', count: trail.longTtlTaskCount - trail.longTtlTasks.length },
  };
}

function toolCatalog({ tools, trail }: ReportInput): ControlDraft {
  const gaps: Gap[] = tools.length === 0 ? [gap('empty_catalog', 'tools', 'the catalog lists no tool: no mandate can be granted')] : [];
  return {
    id: 'tool-catalog',
    title: 'Tool inventory',
    checks: 'Every tool an agent can reach is in the catalog with its kind and risk; a mandate naming another tool is refused, and so is a call to one.',
    owasp: ['ASI02', 'ASI04'],
    maestro: ['L3', 'L7'],
    nist: ['GOVERN 1.6'],
    status: tools.length === 0 ? 'not_in_force' : 'in_force',
    configured: { tools: tools.length, highRiskTools: tools.filter((t) => HIGH_RISKS.includes(t.risk)).map((t) => t.name) },
    evidence: {
      toolsByRisk: tally(tools.map((t) => t.risk)),
      toolsByKind: tally(tools.map((t) => t.kind)),
      mandateItemsRefusedAsUnknownTool: trail.refusedItemsByCode['mandate.tool_unknown'] ?? 0,
      callsRefusedAsUnknownTool: trail.decisionsByCode['mandate.tool_unknown'] ?? 0,
      toolsRegisteredThroughApi: count(trail, 'tool.registered'),
      gatewayRefusals: count(trail, 'gateway.refused'),
    },
    gaps,
  };
}

function declaredPurpose({ trail, thresholds }: ReportInput): ControlDraft {
  const lacking = (t: UndetailedTask) =>
    t.missing.map((m) => (m === 'purpose' ? `a purpose of ${t.purposeWords} word${t.purposeWords === 1 ? '' : 's'} (fewer than ${thresholds.minPurposeWords})` : `no ${m}`)).join(', ');
  const gaps: Gap[] = trail.undetailedTasks.map((t) => gap('purpose_without_detail', t.taskId, lacking(t)));
  return {
    id: 'declared-purpose',
    title: 'A declared purpose for every task',
    checks: 'Each task declares what it is for, the tools it needs with their argument constraints, the data classes it handles and its limits; calls are held to that declaration.',
    owasp: ['ASI01', 'ASI02'],
    maestro: ['L3'],
    nist: ['MAP 1.1'],
    status: trail.undetailedTaskCount > 0 ? 'partial' : 'in_force',
    configured: { minPurposeWords: thresholds.minPurposeWords },
    evidence: {
      tasksGranted: count(trail, 'task.granted'),
      tasksWithoutDetail: trail.undetailedTaskCount,
      refusedAsNotDeclared: trail.decisionsByCode['mandate.tool_not_declared'] ?? 0,
      refusedByArgumentConstraint: trail.decisionsByCode['mandate.arg_constraint'] ?? 0,
      refusedByLimit: trail.decisionsByCode['mandate.limit_exceeded'] ?? 0,
    },
    gaps,
    unlisted: { kind: 'purpose_without_detail', count: trail.undetailedTaskCount - trail.undetailedTasks.length },
  };
}

function perCallPolicy({ ceiling, config, trail }: ReportInput): ControlDraft {
  const loaded = ceiling.permits + ceiling.forbids;
  const gaps: Gap[] = [];
  if (loaded === 0) gaps.push(gap('no_policy_loaded', 'policy', 'no policy is loaded: every call is denied (policy.none_loaded)'));
  const errors = trail.decisionsByCode['policy.evaluation_error'] ?? 0;
  if (errors > 0) {
    gaps.push(gap('policy_evaluation_errors', 'policy.evaluation_error', `${errors} call${errors === 1 ? ' was' : 's were'} denied because a policy failed to evaluate: fix the policy, or it denies work it was meant to allow`));
  }
  return {
    id: 'per-call-policy',
    title: 'A decision at every call',
    checks: 'Every tool call is decided against the task\'s mandate and the organisation\'s Cedar ceiling, with what the task has read (labels, target provenance) in view; an error denies.',
    owasp: ['ASI01', 'ASI02', 'ASI05', 'ASI06'],
    maestro: ['L3', 'L6'],
    nist: ['GOVERN 1.4', 'MANAGE 1.3'],
    status: loaded === 0 ? 'not_in_force' : gaps.length > 0 ? 'partial' : 'in_force',
    configured: { policySource: config.policy.source, policyVersion: ceiling.version, policyHash: ceiling.hash || null, policyFiles: ceiling.files, permits: ceiling.permits, forbids: ceiling.forbids },
    evidence: {
      decisions: sum(trail.decisionsByOutcome),
      decisionsByOutcome: { allow: 0, deny: 0, step_up: 0, ...trail.decisionsByOutcome },
      decisionsByCode: sorted(trail.decisionsByCode),
      policyLoads: count(trail, 'policy.loaded'),
    },
    gaps,
  };
}

function stepUp({ ceiling, config, trail }: ReportInput): ControlDraft {
  const gaps: Gap[] = [];
  for (const t of ceiling.highRiskTools) {
    const who = t.allowedFor.map((g) => (g.length === 0 ? 'no group' : g.join('+'))).join(', ');
    if (t.stepUp === 'never') {
      gaps.push(gap('high_risk_tool_without_step_up', t.tool, `${t.risk}-risk ${t.kind} tool allowed with no person asked (agent groups: ${who}), even after untrusted content`));
    } else if (t.stepUp === 'after_untrusted_content') {
      gaps.push(gap('step_up_only_after_untrusted_content', t.tool, `${t.risk}-risk ${t.kind} tool allowed with no person asked (agent groups: ${who}) until the task has read untrusted content`));
    }
  }
  const covered = ceiling.highRiskTools.filter((t) => t.stepUp === 'always' || t.stepUp === 'refused').length;
  return {
    id: 'step-up',
    title: 'A person approves high-risk calls',
    checks: 'A call to a high- or critical-risk tool waits for a person who approves that exact call (or is refused outright), with its arguments and the policies that asked shown.',
    owasp: ['ASI02', 'ASI09'],
    maestro: ['L3', 'L6'],
    nist: ['GOVERN 3.2', 'MAP 3.5'],
    status: ceiling.stepUpPolicies.length === 0 && covered < ceiling.highRiskTools.length ? 'not_in_force' : gaps.length > 0 ? 'partial' : 'in_force',
    configured: {
      stepUpPolicies: ceiling.stepUpPolicies,
      highRiskTools: ceiling.highRiskTools.length,
      highRiskToolsHeld: ceiling.highRiskTools.filter((t) => t.stepUp === 'always').map((t) => t.tool),
      highRiskToolsRefused: ceiling.highRiskTools.filter((t) => t.stepUp === 'refused').map((t) => t.tool),
      approvers: [...config.approvals.approvers],
      approvalExpirySeconds: config.approvals.expirySeconds,
      separationOfDuties: config.approvals.separationOfDuties,
      approvalWebhook: config.approvals.webhook !== undefined,
    },
    evidence: {
      stepUps: trail.decisionsByOutcome['step_up'] ?? 0,
      allowedAfterApproval: trail.decisionsByCode['approval.approved'] ?? 0,
      deniedByPerson: trail.decisionsByCode['approval.denied'] ?? 0,
      approvals: pick(trail.byType, ['approval.requested', 'approval.notified', 'approval.notify_failed', 'approval.approved', 'approval.denied', 'approval.expired', 'approval.cancelled', 'approval.consumed', 'approval.refused'], 'approval.'),
    },
    gaps,
  };
}

function driftResponse({ config, trail }: ReportInput): ControlDraft {
  const responses = config.monitor.responses;
  const alertOnly = SIGNALS.filter((s) => responses[s] === 'alert');
  const gaps: Gap[] = [];
  if (alertOnly.length > 0 && config.monitor.webhook === undefined) {
    gaps.push(gap('alerts_not_delivered', 'monitor.webhook', `${alertOnly.join(', ')} answer${alertOnly.length === 1 ? 's' : ''} with an alert only, and no monitor.webhook is set: the alert stays in the trail and nobody is told`));
  }
  const driftDenials = Object.entries(trail.decisionsByCode).filter(([code]) => code.startsWith('monitor.drift.'));
  return {
    id: 'drift-response',
    title: 'Drift detection and response',
    checks: 'Each task\'s behaviour is compared with its mandate (undeclared tools, broken constraints, repeated denials, forbidden secrets, bursts, plan deviation) and every signal gets its configured response.',
    owasp: ['ASI01', 'ASI08', 'ASI10'],
    maestro: ['L5'],
    nist: ['MEASURE 2.4', 'MANAGE 2.4', 'MANAGE 4.1'],
    status: gaps.length > 0 ? 'partial' : 'in_force',
    configured: {
      ...Object.fromEntries(SIGNALS.map((s) => [`responses.${s}`, responses[s]])),
      denialsPerMinute: config.monitor.denialsPerMinute,
      alertWebhook: config.monitor.webhook !== undefined,
    },
    evidence: {
      signals: sum(trail.signalsBySignal),
      signalsBySignal: sorted(trail.signalsBySignal),
      signalsByResponse: sorted(trail.signalsByResponse),
      alerts: count(trail, 'monitor.alert'),
      resumed: count(trail, 'monitor.resumed'),
      refusedByDriftResponse: driftDenials.reduce((n, [, c]) => n + c, 0),
    },
    gaps,
  };
}

function delegationLimits({ ceiling, trail }: ReportInput): ControlDraft {
  const depth = ceiling.delegationLimitedFromDepth;
  const gaps: Gap[] =
    depth === null
      ? [gap('no_delegation_depth_limit', 'policy', 'no policy answers a delegated task more strictly at any depth up to 8: a chain of agents is bounded only by narrowing')]
      : [];
  return {
    id: 'delegation-limits',
    title: 'Delegation limits',
    checks: 'A child task gets no more than its parent declared and never outlives it; ending a task ends its children; the ceiling can bound how deep delegation goes (`context.task.delegationDepth`).',
    owasp: ['ASI03', 'ASI07', 'ASI08'],
    maestro: ['L3', 'L7'],
    nist: ['GOVERN 1.4'],
    status: gaps.length > 0 ? 'partial' : 'in_force',
    configured: { delegationLimitedFromDepth: depth },
    evidence: {
      childTasksGranted: trail.childTasks,
      mandateItemsRefusedBeyondParent: ['mandate.parent_invalid', 'mandate.delegation_widens', 'mandate.delegation_unprovable'].reduce((sum, code) => sum + (trail.refusedItemsByCode[code] ?? 0), 0),
    },
    gaps,
  };
}

function brokeredSecrets({ config, secrets, trail, nowMs, thresholds }: ReportInput): ControlDraft {
  // The whole configuration is walked, not only the keys `ReportedConfig` names: a credential can sit in any upstream's headers or env.
  const inConfig = findCredentials(config);
  const stored = new Map(secrets.map((s) => [s.name, s]));
  const gaps: Gap[] = [];
  for (const s of secrets) {
    const ageDays = Math.floor((nowMs - s.createdAtMs) / DAY_MS);
    if (ageDays > thresholds.secretMaxAgeDays) {
      gaps.push(gap('secret_not_rotated', s.name, `version ${s.version} was stored ${ageDays} days ago, more than ${thresholds.secretMaxAgeDays}: rotate it with \`mandate secret set ${s.name}\``));
    }
  }
  for (const name of new Set(inConfig.references.map((r) => r.name))) {
    if (!stored.has(name)) {
      const at = inConfig.references.filter((r) => r.name === name).map((r) => r.path);
      gaps.push(gap('secret_not_stored', name, `referenced by ${at.join(', ')} but not stored: what needs it does not start (gateway.secret_unavailable)`));
    }
  }
  for (const path of inConfig.literals) {
    gaps.push(gap('literal_credential', path, 'a credential written in the configuration: store it with `mandate secret set` and reference it as `{ secret: "<name>" }`'));
  }
  const brokered = secrets.length > 0 || inConfig.references.length > 0;
  return {
    id: 'brokered-secrets',
    title: 'Brokered secrets',
    checks: 'Upstream credentials are stored encrypted and injected by the gateway, never handed to an agent; each is rotated and none is written in the configuration.',
    owasp: ['ASI03'],
    maestro: ['L4', 'L6'],
    nist: ['MEASURE 2.7'],
    status: !brokered ? 'not_in_force' : gaps.length > 0 ? 'partial' : 'in_force',
    configured: {
      secretsStored: secrets.map((s) => s.name).sort(),
      secretsReferenced: [...new Set(inConfig.references.map((r) => r.name))].sort(),
      credentialsInClear: inConfig.literals.length,
      secretMaxAgeDays: thresholds.secretMaxAgeDays,
    },
    evidence: {
      secretsStoredInPeriod: count(trail, 'secret.stored'),
      secretUses: sum(trail.secretsUsedByName),
      secretUsesByName: sorted(trail.secretsUsedByName),
      oldestSecretAgeDays: secrets.length === 0 ? 0 : Math.max(...secrets.map((s) => Math.floor((nowMs - s.createdAtMs) / DAY_MS))),
    },
    gaps,
  };
}

function auditIntegrity({ integrity, config, trail }: ReportInput): ControlDraft {
  const v = integrity.verified;
  const gaps: Gap[] = [];
  if (v.empty) gaps.push(gap('trail_not_verified', 'audit', 'the trail has no events: a deployment\'s trail starts with its first key, so it was emptied'));
  if (v.broken) gaps.push(gap('trail_not_verified', `${v.broken.segment}:${v.broken.seq}`, `the hash chain breaks here (${v.broken.reason})`));
  for (const f of v.findings) {
    const at = f.kind === 'truncated' ? `${f.segment}:${f.storedSeq}` : `${f.segment}:${f.seq}`;
    gaps.push(gap('trail_not_verified', at, `the store does not hold what the witness saw (${f.kind})`));
  }
  if (integrity.witness === null) {
    gaps.push(gap('trail_not_witnessed', 'audit.witnessFile', 'no witness keeps the checkpoints outside the store: a trail cut at its end cannot be told from a short one'));
  }
  return {
    id: 'audit-integrity',
    title: 'A tamper-evident audit trail',
    checks: 'Every decision and change is appended to a hash chain, checkpointed with a signed Merkle root kept by a witness outside the store, and the whole trail verifies.',
    owasp: ['ASI03', 'ASI10'],
    maestro: ['L5', 'L6'],
    nist: ['MEASURE 2.8', 'MANAGE 4.1'],
    status: !v.ok ? 'not_in_force' : gaps.length > 0 ? 'partial' : 'in_force',
    configured: { witness: integrity.witness, checkpointEveryEvents: config.audit.checkpointEveryEvents, checkpointEverySeconds: config.audit.checkpointEverySeconds },
    evidence: {
      verified: v.ok ? 1 : 0,
      segments: v.segments.length,
      eventsInTrail: v.segments.reduce((n, s) => n + s.events, 0),
      eventsInPeriod: trail.events,
      checkpointsWitnessed: v.witnessed,
      checkpointsInPeriod: count(trail, 'audit.checkpoint'),
      segmentsRestarted: count(trail, 'audit.segment_restarted'),
      findings: v.findings.length,
    },
    gaps,
  };
}

// Helpers

function gap(kind: GapKind, item: string, detail: string): Gap {
  return { kind, severity: GAP_SEVERITY[kind], item, detail };
}

function finish(d: ControlDraft): Control {
  const mappings: ControlMappings = {
    owasp: d.owasp.map((id) => ({ id, title: OWASP_AGENTIC_TOP_10.find((r) => r.id === id)!.title })),
    maestro: d.maestro.map((id) => ({ id, title: MAESTRO_LAYERS.find((l) => l.id === id)!.title })),
    nist: d.nist.map((subcategory) => ({ function: nistFunctionOf(subcategory), subcategory })),
  };
  const listed = d.gaps.slice(0, MAX_LISTED);
  return {
    id: d.id,
    title: d.title,
    checks: d.checks,
    status: d.status,
    mappings,
    configured: d.configured,
    evidence: d.evidence,
    gaps: listed,
    gapsNotListed: (d.unlisted?.count ?? 0) + d.gaps.length - listed.length,
  };
}

/** In force when every control mapped to the entry is; partial when some are; not addressed when none is mapped. */
function coverage(id: string, title: string, controls: readonly Control[]): Coverage {
  const statuses = controls.map((c) => c.status);
  const status =
    statuses.length === 0 ? 'not_addressed' : statuses.every((s) => s === 'in_force') ? 'in_force' : statuses.every((s) => s === 'not_in_force') ? 'not_in_force' : 'partial';
  return { id, title, controls: controls.map((c) => c.id), status };
}

function count(trail: ReportInput['trail'], type: string): number {
  return trail.byType[type] ?? 0;
}

function sum(counts: Record<string, number>): number {
  return Object.values(counts).reduce((n, c) => n + c, 0);
}

function sorted(counts: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(counts).sort(([a], [b]) => a.localeCompare(b)));
}

function tally(keys: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of keys) out[k] = (out[k] ?? 0) + 1;
  return sorted(out);
}

/** The counts of these types, every one present (0 when absent), named without the prefix. */
function pick(byType: Record<string, number>, types: readonly string[], prefix: string): Record<string, number> {
  return Object.fromEntries(types.map((t) => [t.slice(prefix.length), byType[t] ?? 0]));
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
