import type { Configured, Control, Coverage, CoverageStatus, Evidence, Report } from './model.js';

/** The report as JSON, two-space indented: the shape docs/compliance-report.md documents. */
export function renderJson(report: Report): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}

const STATUS: Record<CoverageStatus, string> = { in_force: 'in force', partial: 'partial', not_in_force: 'not in force', not_addressed: 'not addressed' };

/** The report as Markdown: a summary table, framework coverage, then each control with its evidence and gaps. */
export function renderMarkdown(r: Report): string {
  const lines: string[] = [];
  const push = (...l: string[]) => lines.push(...l);
  push(`# Compliance report: ${r.trustDomain} (${r.environment})`, '');
  push(
    `Generated ${r.generatedAt}; the period runs from ${r.period.since ?? 'the first event of the trail'} to ${r.period.until ?? 'its last'} (${r.trail.events} events). ` +
      `Thresholds: task credentials up to ${r.thresholds.maxTaskTtlSeconds} s, SVIDs up to ${r.thresholds.maxSvidTtlSeconds} s, ` +
      `secrets rotated within ${r.thresholds.secretMaxAgeDays} days, purposes of at least ${r.thresholds.minPurposeWords} words.`,
    '',
  );

  push('## Summary', '');
  const s = r.summary;
  push(
    `${s.controls} controls: ${s.inForce} in force, ${s.partial} partial, ${s.notInForce} not in force; ` +
      `${s.gaps} gap${s.gaps === 1 ? '' : 's'} (${s.gapsBySeverity.high} high, ${s.gapsBySeverity.medium} medium, ${s.gapsBySeverity.low} low).`,
    '',
  );
  push('| control | status | gaps | OWASP ASI | MAESTRO | NIST AI RMF |', '| --- | --- | --- | --- | --- | --- |');
  for (const c of r.controls) {
    push(
      row([
        `[${c.title}](#${c.id})`,
        STATUS[c.status],
        String(c.gaps.length + c.gapsNotListed),
        c.mappings.owasp.map((m) => m.id).join(', '),
        c.mappings.maestro.map((m) => m.id).join(', '),
        c.mappings.nist.map((m) => m.subcategory).join(', '),
      ]),
    );
  }
  push('');

  push('## Coverage', '');
  push('### OWASP Top 10 for Agentic Applications (2026)', '');
  coverageTable(push, r.frameworks.owasp);
  push('### CSA MAESTRO layers', '');
  coverageTable(push, r.frameworks.maestro);
  push('### NIST AI RMF', '');
  coverageTable(push, r.frameworks.nist);

  push('## Controls', '');
  for (const c of r.controls) control(push, c);

  push('## The trail over the period', '');
  push(`${r.trail.events} events from ${r.trail.firstEventAt ?? '-'} to ${r.trail.lastEventAt ?? '-'}; ${r.trail.decisions.total} decisions (${breakdown(r.trail.decisions.byOutcome)}).`, '');
  push('| event type | count |', '| --- | --- |');
  for (const [type, n] of Object.entries(r.trail.byType)) push(row([`\`${type}\``, String(n)]));
  push('');
  return lines.join('\n');
}

function coverageTable(push: (...l: string[]) => void, entries: readonly Coverage[]): void {
  push('| id | title | controls | status |', '| --- | --- | --- | --- |');
  for (const e of entries) push(row([e.id, e.title, e.controls.join(', ') || '-', STATUS[e.status]]));
  push('');
}

function control(push: (...l: string[]) => void, c: Control): void {
  push(`### ${c.title}`, '', `<a id="${c.id}"></a>\`${c.id}\`: **${STATUS[c.status]}**. ${c.checks}`, '');
  push(
    `Maps to OWASP ${c.mappings.owasp.map((m) => `${m.id} ${m.title}`).join('; ') || '-'}; ` +
      `MAESTRO ${c.mappings.maestro.map((m) => `${m.id} ${m.title}`).join('; ') || '-'}; ` +
      `NIST AI RMF ${c.mappings.nist.map((m) => m.subcategory).join(', ') || '-'}.`,
    '',
  );
  push('| configured | value |', '| --- | --- |');
  for (const [key, value] of Object.entries(c.configured)) push(row([key, configuredValue(value)]));
  push('');
  push('| evidence over the period | count |', '| --- | --- |');
  for (const [key, value] of Object.entries(c.evidence)) push(row([key, evidenceValue(value)]));
  push('');
  if (c.gaps.length === 0) push('No gaps.', '');
  else {
    push('Gaps:', '');
    for (const g of c.gaps) push(`- **${g.severity}** \`${g.item}\` (${g.kind}): ${g.detail}`);
    if (c.gapsNotListed > 0) push(`- … and ${c.gapsNotListed} more of the same kinds, not listed`);
    push('');
  }
}

function configuredValue(value: Configured[string]): string {
  if (value === null) return '-';
  if (Array.isArray(value)) return value.length === 0 ? '-' : value.join(', ');
  return String(value);
}

function evidenceValue(value: Evidence[string]): string {
  return typeof value === 'number' ? String(value) : breakdown(value) || '0';
}

function breakdown(counts: Record<string, number>): string {
  return Object.entries(counts)
    .map(([k, n]) => `${k}: ${n}`)
    .join(', ');
}

/** A table row; a `|` in a cell would end it early. */
function row(cells: readonly string[]): string {
  return `| ${cells.map((c) => c.replaceAll('|', '\\|').replaceAll('\n', ' ')).join(' | ')} |`;
}
