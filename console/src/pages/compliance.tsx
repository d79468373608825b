import { api } from '../api';
import { ErrorNote, Loading, PageHeader } from '../components';
import { visible } from '../format';
import { useResource } from '../hooks';
import type { Report } from '../types';

const STATUS_TEXT: Record<string, string> = { in_force: 'in force', partial: 'partial', not_in_force: 'not in force' };

export function CompliancePage() {
  const r = useResource(() => api.get<Report>('/v1/report'), 'report');
  const rep = r.data;
  return (
    <section aria-labelledby="page-title">
      <PageHeader title="Compliance">{rep ? <span className="muted small">generated {new Date(rep.generatedAt).toLocaleString()}</span> : null}</PageHeader>
      <p className="muted">Control by control: what is in force, what the trail shows and what is missing (OWASP Top 10 for Agentic Applications, CSA MAESTRO, NIST AI RMF).</p>
      <ErrorNote error={r.error} />
      <Loading when={r.loading && !rep} />
      {rep ? (
        <>
          <ul className="tiles" aria-label="Summary">
            <li className="tile"><span className="tile-label">In force</span><span className="tile-value" data-field="in-force">{rep.summary.inForce}</span></li>
            <li className="tile"><span className="tile-label">Partial</span><span className="tile-value">{rep.summary.partial}</span></li>
            <li className="tile"><span className="tile-label">Not in force</span><span className="tile-value">{rep.summary.notInForce}</span></li>
            <li className="tile">
              <span className="tile-label">Gaps</span>
              <span className="tile-value" data-field="gaps">{rep.summary.gaps}</span>
              <span className="muted small">{Object.entries(rep.summary.gapsBySeverity).map(([k, v]) => `${v} ${k}`).join(' · ')}</span>
            </li>
          </ul>
          {rep.controls.map((c) => (
            <section key={c.id} className="panel control" data-control={c.id} aria-labelledby={`control-${c.id}`}>
              <div className="panel-header">
                <h2 id={`control-${c.id}`}>{c.title}</h2>
                <span className={`badge control-${c.status}`}>{STATUS_TEXT[c.status] ?? c.status}</span>
              </div>
              <p>{c.checks}</p>
              {c.gaps.length ? (
                <ul className="gaps">
                  {c.gaps.map((g, i) => (
                    <li key={i} className={`gap severity-${g.severity}`}>
                      <span className="badge">{g.severity}</span> <code>{g.kind}</code> <code>{visible(g.item)}</code>: {visible(g.detail)}
                    </li>
                  ))}
                  {c.gapsNotListed ? <li className="muted">and {c.gapsNotListed} more</li> : null}
                </ul>
              ) : (
                <p className="muted small">No gap.</p>
              )}
            </section>
          ))}
        </>
      ) : null}
    </section>
  );
}
