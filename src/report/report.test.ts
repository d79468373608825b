import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { TrailReport } from '../audit/index.js';
import { ToolSpecSchema, type ToolSpec } from '../core/index.js';
import { DEFAULT_RESPONSES } from '../monitor/index.js';
import { PolicyEngine } from '../policy/index.js';
import { analyseCeiling } from './analyse-ceiling.js';
import { buildReport } from './build-report.js';
import { findCredentials } from './find-credentials.js';
import { DEFAULT_THRESHOLDS, type Control, type Gap, type ReportInput, type ReportedConfig } from './model.js';
import { renderJson, renderMarkdown } from './render.js';
import { MAX_LISTED, TrailTally } from './tally-trail.js';

const NOW = Date.UTC(2026, 5, 1);
const DAY = 86_400_000;

const tool = (spec: Record<string, unknown>): ToolSpec => ToolSpecSchema.parse(spec);
const TOOLS = [
  tool({ name: 'files.read', kind: 'read', risk: 'low' }),
  tool({ name: 'db.drop_table', kind: 'delete', risk: 'high' }),
  tool({ name: 'payments.create', kind: 'payment', risk: 'high', targets: ['iban'] }),
  tool({ name: 'shell.exec', kind: 'execute', risk: 'critical' }),
];

const PERMIT_ALL = 'permit (principal in AgentGroup::"agents", action in Action::"call_tool", resource);';
const STEP_UP_PAYMENTS = '@step_up("human")\nforbid (principal, action == Action::"payment", resource);';
const FORBID_EXECUTE = 'forbid (principal, action == Action::"execute", resource);';
const STEP_UP_AFTER_UNTRUSTED = '@step_up("human")\nforbid (principal, action == Action::"delete", resource) when { context.task.labels.contains("untrusted") };';
const DEPTH_LIMIT = 'forbid (principal, action in Action::"call_tool", resource) when { context.task.delegationDepth > 1 };';

const engine = (...texts: string[]) => PolicyEngine.fromFiles(texts.map((text, i) => ({ name: `p${i}.cedar`, text })), { decisionCache: 0 });

const CONFIG: ReportedConfig = {
  trustDomain: 'acme.internal',
  environment: 'production',
  identity: { svidTtlSeconds: 300, joinTokenTtlSeconds: 600, oidcIssuers: [] },
  credentials: { maxTaskTtlSeconds: 3600 },
  policy: { source: 'dir' },
  audit: { checkpointEveryEvents: 1000, checkpointEverySeconds: 60 },
  approvals: { approvers: ['group:approvers'], expirySeconds: 600, separationOfDuties: true },
  monitor: { denialsPerMinute: 3, webhook: { url: 'https://hooks.example/drift', secret: { secret: 'drift-hook' } }, responses: DEFAULT_RESPONSES },
};

const VERIFIED: TrailReport = { ok: true, empty: false, segments: [{ segment: 'main', events: 10, headHash: 'ab'.repeat(32) }], broken: null, witnessed: 1, findings: [] };

function input(overrides: Partial<ReportInput> = {}, policies: string[] = [PERMIT_ALL, STEP_UP_PAYMENTS, FORBID_EXECUTE, STEP_UP_AFTER_UNTRUSTED, DEPTH_LIMIT]): ReportInput {
  const tools = overrides.tools ?? TOOLS;
  return {
    nowMs: NOW,
    period: { sinceMs: null, untilMs: null },
    thresholds: DEFAULT_THRESHOLDS,
    config: CONFIG,
    tools,
    agents: [{ name: 'report-bot', groups: ['agents'], joinToken: true, oidcRules: 0, disabled: false }],
    ceiling: analyseCeiling(engine(...policies), tools, { environment: 'production', agentGroups: [['agents']] }),
    secrets: [{ name: 'drift-hook', version: 3, createdAtMs: NOW - 10 * DAY }],
    trail: new TrailTally({ sinceMs: null, untilMs: null }, DEFAULT_THRESHOLDS).result(),
    integrity: { verified: VERIFIED, witness: 'file:/var/lib/mandate/audit-witness.jsonl' },
    ...overrides,
  };
}

const controlOf = (r: { controls: Control[] }, id: string): Control => r.controls.find((c) => c.id === id)!;
const gapsOf = (r: { controls: Control[] }, id: string): Pick<Gap, 'kind' | 'item' | 'severity'>[] => controlOf(r, id).gaps.map(({ kind, item, severity }) => ({ kind, item, severity }));

describe('step-up coverage, found by asking the ceiling', () => {
  test('a high-risk tool the ceiling allows with no person asked is a high gap naming the tool', () => {
    const r = buildReport(input({}, [PERMIT_ALL, STEP_UP_PAYMENTS, FORBID_EXECUTE]));
    assert.deepEqual(gapsOf(r, 'step-up'), [{ kind: 'high_risk_tool_without_step_up', item: 'db.drop_table', severity: 'high' }]);
    assert.equal(controlOf(r, 'step-up').status, 'partial');
    assert.deepEqual(controlOf(r, 'step-up').configured.highRiskToolsHeld, ['payments.create']);
    assert.deepEqual(controlOf(r, 'step-up').configured.highRiskToolsRefused, ['shell.exec']);
  });

  test('a step-up only once the task has read untrusted content is a medium gap', () => {
    const r = buildReport(input());
    assert.deepEqual(gapsOf(r, 'step-up'), [{ kind: 'step_up_only_after_untrusted_content', item: 'db.drop_table', severity: 'medium' }]);
  });

  test('every high-risk tool held or refused: in force; no step-up policy at all: not in force', () => {
    const held = '@step_up("human")\nforbid (principal, action in [Action::"payment", Action::"delete"], resource);';
    assert.equal(controlOf(buildReport(input({}, [PERMIT_ALL, held, FORBID_EXECUTE])), 'step-up').status, 'in_force');
    const none = buildReport(input({}, [PERMIT_ALL]));
    assert.equal(controlOf(none, 'step-up').status, 'not_in_force');
    assert.deepEqual(
      gapsOf(none, 'step-up').map((g) => g.item),
      ['db.drop_table', 'payments.create', 'shell.exec'],
    );
  });

  test('a tool allowed to one agent group and held for another is a gap naming the group', () => {
    const tools = [tool({ name: 'db.drop_table', kind: 'delete', risk: 'high' })];
    const ops = 'permit (principal in AgentGroup::"ops", action, resource);';
    const heldForAgents = '@step_up("human")\nforbid (principal in AgentGroup::"agents", action == Action::"delete", resource);';
    const ceiling = analyseCeiling(engine(PERMIT_ALL, ops, heldForAgents), tools, { environment: 'production', agentGroups: [['agents'], ['ops'], ['agents']] });
    assert.deepEqual(ceiling.groupsProbed, [['agents'], ['ops']]);
    assert.deepEqual(ceiling.highRiskTools[0]?.allowedFor, [['ops']]);
    assert.match(controlOf(buildReport(input({ tools, ceiling })), 'step-up').gaps[0]!.detail, /agent groups: ops/);
  });

  test('a delegation depth limit is found by asking at growing depths', () => {
    assert.equal(input().ceiling.delegationLimitedFromDepth, 2);
    const r = buildReport(input({}, [PERMIT_ALL, STEP_UP_PAYMENTS]));
    assert.equal(controlOf(r, 'delegation-limits').status, 'partial');
    assert.deepEqual(gapsOf(r, 'delegation-limits'), [{ kind: 'no_delegation_depth_limit', item: 'policy', severity: 'medium' }]);
  });
});

describe('lifetimes', () => {
  test('a task lifetime allowed above the threshold is a gap on the configuration key', () => {
    const r = buildReport(input({ config: { ...CONFIG, credentials: { maxTaskTtlSeconds: 86_400 } } }));
    assert.deepEqual(gapsOf(r, 'jit-credentials'), [{ kind: 'long_task_ttl_allowed', item: 'credentials.maxTaskTtlSeconds', severity: 'medium' }]);
    assert.equal(controlOf(r, 'jit-credentials').status, 'partial');
    assert.equal(controlOf(buildReport(input()), 'jit-credentials').status, 'in_force');
  });

  test('a task granted for longer than the threshold is a gap naming the task', () => {
    const tally = new TrailTally({ sinceMs: null, untilMs: null }, DEFAULT_THRESHOLDS);
    const mandate = { purpose: 'reconcile the March invoices with the bank statement', dataClasses: ['finance'], limits: { maxCalls: 50 } };
    tally.add({ type: 'task.granted', atMs: NOW, taskId: 'tsk_long', data: { mandate, parentTaskId: null, expiresAtMs: NOW + 7200_000 } });
    tally.add({ type: 'task.granted', atMs: NOW, taskId: 'tsk_short', data: { mandate, parentTaskId: null, expiresAtMs: NOW + 600_000 } });
    const r = buildReport(input({ trail: tally.result() }));
    assert.deepEqual(gapsOf(r, 'jit-credentials'), [{ kind: 'long_task_ttl_granted', item: 'tsk_long', severity: 'low' }]);
    assert.equal(controlOf(r, 'jit-credentials').evidence.longestTaskTtlSeconds, 7200);
    assert.deepEqual(gapsOf(r, 'declared-purpose'), []);
  });

  test('an SVID lifetime above the threshold is a gap', () => {
    const r = buildReport(input({ config: { ...CONFIG, identity: { ...CONFIG.identity, svidTtlSeconds: 3600 } } }));
    assert.deepEqual(gapsOf(r, 'workload-identity'), [{ kind: 'long_svid_ttl', item: 'identity.svidTtlSeconds', severity: 'medium' }]);
  });
});

describe('brokered secrets', () => {
  test('a secret whose newest version is older than the threshold is a gap naming it', () => {
    const secrets = [
      { name: 'github-token', version: 2, createdAtMs: NOW - 120 * DAY },
      { name: 'drift-hook', version: 3, createdAtMs: NOW - 10 * DAY },
    ];
    const r = buildReport(input({ secrets }));
    assert.deepEqual(gapsOf(r, 'brokered-secrets'), [{ kind: 'secret_not_rotated', item: 'github-token', severity: 'medium' }]);
    assert.match(controlOf(r, 'brokered-secrets').gaps[0]!.detail, /stored 120 days ago, more than 90/);
    assert.deepEqual(gapsOf(buildReport(input({ secrets, thresholds: { ...DEFAULT_THRESHOLDS, secretMaxAgeDays: 180 } })), 'brokered-secrets'), []);
  });

  test('a secret referenced but not stored, and a credential written in clear, are high gaps', () => {
    const config = {
      ...CONFIG,
      approvals: { ...CONFIG.approvals, webhook: { url: 'https://hooks.example/approvals', secret: 'plain-text-hmac-key' } },
      upstreams: {
        github: { transport: 'http', url: 'https://api.github.example/mcp', headers: { Authorization: { secret: 'github-token', prefix: 'Bearer ' }, 'x-api-key': 'sk-live-123', Accept: 'application/json' } },
        local: { transport: 'stdio', command: 'node', env: { DB_PASSWORD: 'hunter2', LOG_LEVEL: 'debug' } },
      },
    } as ReportedConfig;
    assert.deepEqual(findCredentials(config), {
      references: [
        { name: 'drift-hook', path: 'monitor.webhook.secret' },
        { name: 'github-token', path: 'upstreams.github.headers.Authorization' },
      ],
      literals: ['approvals.webhook.secret', 'upstreams.github.headers.x-api-key', 'upstreams.local.env.DB_PASSWORD'],
    });
    const r = buildReport(input({ config }));
    assert.deepEqual(gapsOf(r, 'brokered-secrets'), [
      { kind: 'secret_not_stored', item: 'github-token', severity: 'high' },
      { kind: 'literal_credential', item: 'approvals.webhook.secret', severity: 'high' },
      { kind: 'literal_credential', item: 'upstreams.github.headers.x-api-key', severity: 'high' },
      { kind: 'literal_credential', item: 'upstreams.local.env.DB_PASSWORD', severity: 'high' },
    ]);
    assert.equal(r.summary.gapsBySeverity.high, 4);
  });

  test('nothing stored and nothing referenced: not in force, and no gap', () => {
    const config = { ...CONFIG, monitor: { ...CONFIG.monitor, webhook: undefined } };
    const r = buildReport(input({ config, secrets: [] }));
    assert.equal(controlOf(r, 'brokered-secrets').status, 'not_in_force');
    assert.deepEqual(gapsOf(r, 'brokered-secrets'), []);
  });
});

describe('the trail', () => {
  test('counts only the period: since inclusive, until exclusive', () => {
    const tally = new TrailTally({ sinceMs: NOW, untilMs: NOW + DAY }, DEFAULT_THRESHOLDS);
    for (const atMs of [NOW - 1, NOW, NOW + DAY - 1, NOW + DAY]) tally.add({ type: 'decision', atMs, taskId: 'tsk_a', data: { outcome: 'deny', code: 'policy.forbid' } });
    tally.add({ type: 'decision', atMs: NOW + 5, taskId: 'tsk_a', data: { outcome: 'step_up', code: 'policy.step_up' } });
    const facts = tally.result();
    assert.equal(facts.events, 3);
    assert.deepEqual(facts.decisionsByOutcome, { deny: 2, step_up: 1 });
    assert.deepEqual([facts.firstAtMs, facts.lastAtMs], [NOW, NOW + DAY - 1]);
  });

  test('a task whose mandate says little is a gap naming what it lacks; the list is capped, the count is not', () => {
    const tally = new TrailTally({ sinceMs: null, untilMs: null }, DEFAULT_THRESHOLDS);
    for (let i = 0; i < MAX_LISTED + 5; i++) {
      tally.add({ type: 'task.granted', atMs: NOW, taskId: `tsk_${i}`, data: { mandate: { purpose: 'quick lookup', dataClasses: [], limits: {} }, expiresAtMs: NOW + 60_000 } });
    }
    tally.add({ type: 'task.granted', atMs: NOW, taskId: 'tsk_fine', data: { mandate: { purpose: 'summarise the Q3 report for the board', dataClasses: ['internal'], limits: { maxCalls: 5 } }, expiresAtMs: NOW + 60_000 } });
    const r = buildReport(input({ trail: tally.result() }));
    const purpose = controlOf(r, 'declared-purpose');
    assert.equal(purpose.gaps.length, MAX_LISTED);
    assert.equal(purpose.gapsNotListed, 5);
    assert.equal(purpose.evidence.tasksWithoutDetail, MAX_LISTED + 5);
    assert.deepEqual(purpose.gaps[0], { kind: 'purpose_without_detail', severity: 'low', item: 'tsk_0', detail: 'a purpose of 2 words (fewer than 5), no dataClasses, no limits' });
    assert.equal(r.summary.gapsBySeverity.low, MAX_LISTED + 5);
  });

  test('counts by data keep a key that names a prototype as a plain key', () => {
    const tally = new TrailTally({ sinceMs: null, untilMs: null }, DEFAULT_THRESHOLDS);
    tally.add({ type: 'decision', atMs: NOW, taskId: null, data: { outcome: 'deny', code: '__proto__' } });
    assert.equal(tally.result().decisionsByCode['__proto__'], 1);
    assert.equal(Object.getPrototypeOf(tally.result().decisionsByCode), Object.prototype);
  });
});

describe('audit integrity', () => {
  test('a trail that does not verify is not in force, with a gap per finding', () => {
    const verified: TrailReport = { ...VERIFIED, ok: false, findings: [{ kind: 'truncated', segment: 'main', storedSeq: 8, witnessedSeq: 10 }] };
    const r = buildReport(input({ integrity: { verified, witness: 'file:/w.jsonl' } }));
    assert.equal(controlOf(r, 'audit-integrity').status, 'not_in_force');
    assert.deepEqual(gapsOf(r, 'audit-integrity'), [{ kind: 'trail_not_verified', item: 'main:8', severity: 'high' }]);
  });

  test('a trail that verifies with no witness is partial', () => {
    const r = buildReport(input({ integrity: { verified: { ...VERIFIED, witnessed: 0 }, witness: null } }));
    assert.equal(controlOf(r, 'audit-integrity').status, 'partial');
    assert.deepEqual(gapsOf(r, 'audit-integrity'), [{ kind: 'trail_not_witnessed', item: 'audit.witnessFile', severity: 'medium' }]);
  });
});

describe('mappings and rendering', () => {
  test('every control maps to at least one entry of each framework; coverage lists every entry', () => {
    const r = buildReport(input());
    for (const c of r.controls) {
      assert.ok(c.mappings.owasp.length > 0 && c.mappings.maestro.length > 0 && c.mappings.nist.length > 0, c.id);
    }
    assert.deepEqual(r.frameworks.owasp.map((e) => e.id), ['ASI01', 'ASI02', 'ASI03', 'ASI04', 'ASI05', 'ASI06', 'ASI07', 'ASI08', 'ASI09', 'ASI10']);
    assert.ok(r.frameworks.owasp.every((e) => e.controls.length > 0), 'each of ASI01-ASI10 is answered by a control');
    assert.deepEqual(r.frameworks.maestro.filter((e) => e.status === 'not_addressed').map((e) => e.id), ['L1', 'L2']);
    assert.deepEqual([...new Set(r.frameworks.nist.map((e) => e.function))], ['GOVERN', 'MAP', 'MEASURE', 'MANAGE']);
  });

  test('JSON is the report as it is; Markdown lists each control with its status and gaps', () => {
    const r = buildReport(input({}, [PERMIT_ALL]));
    assert.deepEqual(JSON.parse(renderJson(r)), JSON.parse(JSON.stringify(r)));
    const md = renderMarkdown(r);
    assert.match(md, /^# Compliance report: acme\.internal \(production\)/);
    assert.match(md, /\| \[A person approves high-risk calls\]\(#step-up\) \| not in force \| 3 \|/);
    assert.match(md, /- \*\*high\*\* `db\.drop_table` \(high_risk_tool_without_step_up\): /);
    assert.match(md, /\| ASI09 \| Human-Agent Trust Exploitation \| step-up \| not in force \|/);
  });
});
