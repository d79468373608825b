import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe } from 'node:test';
import { runDemo } from '../../src/cli/demo.js';
import type { Control, Report } from '../../src/report/index.js';
import { ROOT } from '../helpers.js';
import { verifies } from './verifies.js';

const run = promisify(execFile);

/** The keys of every fixed-shape object of a report (maps of counts and settings are open): what docs/compliance-report.md documents. */
function skeleton(r: Report): Record<string, string[]> {
  const control = r.controls[0]!;
  const gap = r.controls.flatMap((c) => c.gaps)[0]!;
  return {
    report: Object.keys(r),
    period: Object.keys(r.period),
    thresholds: Object.keys(r.thresholds),
    summary: Object.keys(r.summary),
    gapsBySeverity: Object.keys(r.summary.gapsBySeverity),
    control: Object.keys(control),
    mappings: Object.keys(control.mappings),
    owaspMapping: Object.keys(control.mappings.owasp[0]!),
    maestroMapping: Object.keys(control.mappings.maestro[0]!),
    nistMapping: Object.keys(control.mappings.nist[0]!),
    gap: Object.keys(gap),
    frameworks: Object.keys(r.frameworks),
    owaspEntry: Object.keys(r.frameworks.owasp[0]!),
    maestroEntry: Object.keys(r.frameworks.maestro[0]!),
    nistEntry: Object.keys(r.frameworks.nist[0]!),
    trail: Object.keys(r.trail),
    decisions: Object.keys(r.trail.decisions),
  };
}

/** The JSON example of docs/compliance-report.md. */
function documented(): Report {
  const doc = readFileSync(join(ROOT, 'docs', 'compliance-report.md'), 'utf8');
  const block = /<!-- report-json:start -->\s*```json\n([\s\S]*?)```\s*<!-- report-json:end -->/.exec(doc);
  assert.ok(block, 'docs/compliance-report.md has its JSON example');
  return JSON.parse(block[1]!) as Report;
}

describe('mandate report on the demo scenario', () => {
  let dir: string;
  let report: Report;
  let markdown: string;
  const control = (id: string): Control => report.controls.find((c) => c.id === id)!;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mandate-report-'));
    const steps = await runDemo(() => undefined, { storeDir: join(dir, 'store') });
    assert.ok(steps.every((s) => s.ok), 'the demo ran as scripted');
    const args = [`${ROOT}bin/mandate.js`, 'report', '--config', `${ROOT}examples/mandate.yaml`, '--store', `file:${join(dir, 'store', 'mandate.db')}`];
    // execFile rejects on any exit code but 0.
    const json = await run(process.execPath, [...args, '--format', 'json'], { cwd: ROOT });
    report = JSON.parse(json.stdout) as Report;
    await run(process.execPath, [...args, '--out', join(dir, 'report.md')], { cwd: ROOT });
    markdown = readFileSync(join(dir, 'report.md'), 'utf8');
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  verifies('report:demo-counts', 'counts exactly what the script did, states each control and has the documented JSON shape', () => {
    assert.equal(report.schema, 'mandate.report/1');
    assert.deepEqual(report.period, { since: null, until: null });
    // Eleven scripted calls: three allowed, one held for a person, seven refused, each for its reason.
    assert.deepEqual(report.trail.decisions, {
      total: 11,
      byOutcome: { allow: 3, deny: 7, step_up: 1 },
      byCode: {
        'credential.expired': 1,
        'credential.revoked': 1,
        'mandate.arg_constraint': 2,
        'mandate.tool_not_declared': 1,
        'monitor.drift.repeated_denials': 1,
        'policy.forbid': 1,
        'policy.permit': 3,
        'policy.step_up': 1,
      },
    });
    const { 'audit.checkpoint': checkpoints, ...byType } = report.trail.byType;
    assert.ok((checkpoints ?? 0) >= 1, 'the trail was checkpointed at least at the stop');
    assert.deepEqual(byType, {
      'agent.registered': 2,
      'approval.cancelled': 1,
      'approval.requested': 1,
      'attestation.succeeded': 1,
      decision: 11,
      'join_token.created': 1,
      'key.created': 1,
      'monitor.alert': 4,
      'monitor.signal': 4,
      'policy.loaded': 1,
      revocation: 2,
      'task.completed': 2,
      'task.granted': 3,
      'tool.result': 1,
    });

    assert.deepEqual(control('workload-identity').evidence.attestationsByMethod, { join_token: 1 });
    assert.equal(control('workload-identity').configured.agents, 2);
    const credentials = control('jit-credentials').evidence;
    assert.deepEqual(
      [credentials.tasksGranted, credentials.tasksCompleted, credentials.revocations, credentials.refusedAsRevoked, credentials.refusedAsExpired, credentials.longestTaskTtlSeconds],
      [3, 2, 2, 1, 1, 600],
    );
    assert.deepEqual(control('jit-credentials').evidence.revocationsByKind, { task: 2 });
    // The payment held for a person: requested, then cancelled when its task completed.
    assert.deepEqual(control('step-up').evidence, {
      stepUps: 1,
      allowedAfterApproval: 0,
      deniedByPerson: 0,
      approvals: { requested: 1, notified: 0, notify_failed: 0, approved: 0, denied: 0, expired: 0, cancelled: 1, consumed: 0, refused: 0 },
    });
    // An undeclared tool, two broken constraints (one per task), three denials in a minute.
    assert.deepEqual(control('drift-response').evidence, {
      signals: 4,
      signalsBySignal: { arg_violations: 2, repeated_denials: 1, undeclared_tools: 1 },
      signalsByResponse: { alert: 3, tighten: 1 },
      alerts: 4,
      resumed: 0,
      refusedByDriftResponse: 1,
    });
    assert.equal(control('declared-purpose').evidence.tasksWithoutDetail, 2);
    assert.equal(control('audit-integrity').evidence.verified, 1);
    assert.equal(control('audit-integrity').evidence.eventsInPeriod, report.trail.events);

    assert.deepEqual(Object.fromEntries(report.controls.map((c) => [c.id, c.status])), {
      'workload-identity': 'in_force',
      'jit-credentials': 'partial',
      'tool-catalog': 'in_force',
      'declared-purpose': 'partial',
      'per-call-policy': 'in_force',
      'step-up': 'partial',
      'drift-response': 'partial',
      'delegation-limits': 'partial',
      'brokered-secrets': 'not_in_force',
      'audit-integrity': 'in_force',
    });
    assert.deepEqual(report.summary, { controls: 10, inForce: 4, partial: 5, notInForce: 1, gaps: 6, gapsBySeverity: { high: 0, medium: 4, low: 2 } });

    // The shape docs/compliance-report.md documents, pinned here as literals too.
    assert.deepEqual(skeleton(report), skeleton(documented()));
    assert.deepEqual(skeleton(report), {
      report: ['schema', 'generatedAt', 'period', 'trustDomain', 'environment', 'thresholds', 'summary', 'controls', 'frameworks', 'trail'],
      period: ['since', 'until'],
      thresholds: ['maxTaskTtlSeconds', 'maxSvidTtlSeconds', 'secretMaxAgeDays', 'minPurposeWords'],
      summary: ['controls', 'inForce', 'partial', 'notInForce', 'gaps', 'gapsBySeverity'],
      gapsBySeverity: ['high', 'medium', 'low'],
      control: ['id', 'title', 'checks', 'status', 'mappings', 'configured', 'evidence', 'gaps', 'gapsNotListed'],
      mappings: ['owasp', 'maestro', 'nist'],
      owaspMapping: ['id', 'title'],
      maestroMapping: ['id', 'title'],
      nistMapping: ['function', 'subcategory'],
      gap: ['kind', 'severity', 'item', 'detail'],
      frameworks: ['owasp', 'maestro', 'nist'],
      owaspEntry: ['id', 'title', 'controls', 'status'],
      maestroEntry: ['id', 'title', 'controls', 'status'],
      nistEntry: ['id', 'function', 'title', 'controls', 'status'],
      trail: ['events', 'firstEventAt', 'lastEventAt', 'byType', 'decisions'],
      decisions: ['total', 'byOutcome', 'byCode'],
    });
    assert.deepEqual(
      report.frameworks.owasp.map((e) => `${e.id} ${e.title}`),
      [
        'ASI01 Agent Goal Hijack',
        'ASI02 Tool Misuse and Exploitation',
        'ASI03 Identity and Privilege Abuse',
        'ASI04 Agentic Supply Chain Vulnerabilities',
        'ASI05 Unexpected Code Execution (RCE)',
        'ASI06 Memory & Context Poisoning',
        'ASI07 Insecure Inter-Agent Communication',
        'ASI08 Cascading Failures',
        'ASI09 Human-Agent Trust Exploitation',
        'ASI10 Rogue Agents',
      ],
    );
    assert.match(markdown, /^# Compliance report: example\.internal \(development\)/);
    assert.match(markdown, /\| \[A decision at every call\]\(#per-call-policy\) \| in force \| 0 \|/);
    assert.match(markdown, /11 decisions \(allow: 3, deny: 7, step_up: 1\)/);
  });

  verifies('report:gaps', 'names each gap of the demo configuration and trail with the offending item', () => {
    const gaps = report.controls.flatMap((c) => c.gaps.map((g) => ({ control: c.id, kind: g.kind, severity: g.severity, item: g.item })));
    const tasks = gaps.filter((g) => g.kind === 'purpose_without_detail');
    assert.deepEqual(
      gaps.filter((g) => g.kind !== 'purpose_without_detail'),
      [
        { control: 'jit-credentials', kind: 'long_task_ttl_allowed', severity: 'medium', item: 'credentials.maxTaskTtlSeconds' },
        { control: 'step-up', kind: 'step_up_only_after_untrusted_content', severity: 'medium', item: 'files.delete' },
        { control: 'drift-response', kind: 'alerts_not_delivered', severity: 'medium', item: 'monitor.webhook' },
        { control: 'delegation-limits', kind: 'no_delegation_depth_limit', severity: 'medium', item: 'policy' },
      ],
    );
    // The MCP task declares no data classes nor limits; the short lookup says three words besides.
    assert.equal(tasks.length, 2);
    assert.ok(tasks.every((g) => g.control === 'declared-purpose' && g.severity === 'low' && /^tsk_/.test(g.item)));
    assert.deepEqual(control('declared-purpose').gaps.map((g) => g.detail).sort(), ['a purpose of 3 words (fewer than 5), no dataClasses, no limits', 'no dataClasses, no limits']);
    // Held outright or refused: no gap for the other high-risk tools.
    assert.deepEqual(control('step-up').configured.highRiskToolsHeld, ['payments.create', 'vault.get_secret', 'crm.export']);
    assert.deepEqual(control('step-up').configured.highRiskToolsRefused, ['shell.exec']);
    assert.match(markdown, /- \*\*medium\*\* `files\.delete` \(step_up_only_after_untrusted_content\): /);
  });
});
