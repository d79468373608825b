import { api } from '../api';
import { DecisionsChart } from '../chart';
import { ErrorNote, Loading, PageHeader } from '../components';
import { useResource } from '../hooks';
import { Link } from '../router';
import type { Overview } from '../types';

const REFRESH_MS = 5000;

export function OverviewPage() {
  const r = useResource(() => api.get<Overview>('/v1/overview'), 'overview', REFRESH_MS);
  const o = r.data;
  return (
    <section aria-labelledby="page-title">
      <PageHeader title="Overview" />
      <ErrorNote error={r.error} />
      <Loading when={r.loading && !o} />
      {o ? (
        <>
          <ul className="tiles" aria-label="Counts">
            <Tile label="Agents registered" value={o.agents.registered} detail={`${o.agents.disabled} disabled`} to="/agents" field="agents" />
            <Tile label="Active tasks" value={o.tasks.active} detail={`${o.tasks.suspended} suspended`} to="/tasks?status=active" field="active-tasks" />
            <Tile label="Pending approvals" value={o.approvals.pending} to="/approvals" field="pending-approvals" />
            <Tile label="Drift alerts" value={o.driftAlerts} field="drift-alerts" />
            <Tile label="Decisions, last minute" value={o.decisionsLastMinute.allow + o.decisionsLastMinute.deny + o.decisionsLastMinute.step_up} detail={`${o.decisionsLastMinute.allow} allow · ${o.decisionsLastMinute.deny} deny · ${o.decisionsLastMinute.step_up} step-up`} field="decisions-last-minute" />
          </ul>
          <div className="columns">
            <section aria-labelledby="chart-title" className="panel wide">
              <h2 id="chart-title">Decisions over time</h2>
              <DecisionsChart series={o.series} />
              <p className="muted small">The last {o.windowMinutes} minutes, {o.bucketSeconds} s a bar.</p>
            </section>
            <section aria-labelledby="reasons-title" className="panel">
              <h2 id="reasons-title">Top refusal reasons</h2>
              {o.topReasons.length ? (
                <ol className="reasons" data-role="top-reasons">
                  {o.topReasons.map((t) => (
                    <li key={t.code}>
                      <Link to={`/decisions?reason=${encodeURIComponent(t.code)}`}><code>{t.code}</code></Link> <span className="count">{t.count}</span>
                    </li>
                  ))}
                </ol>
              ) : (
                <p className="muted">No refusals.</p>
              )}
            </section>
            <section aria-labelledby="health-title" className="panel">
              <h2 id="health-title">Health</h2>
              <ul className="health" data-role="health">
                <li>
                  Store <code>{o.health.store.kind}</code>: <span className={o.health.store.available ? 'ok' : 'bad'}>{o.health.store.available ? 'available' : 'unavailable'}</span>
                </li>
                {o.health.upstreams.map((u) => (
                  <li key={u.name}>
                    Upstream <code>{u.name}</code> ({u.kind}): <span className={u.healthy ? 'ok' : 'bad'}>{u.healthy ? 'healthy' : 'unhealthy'}</span>
                    {u.connected ? '' : ', not connected'}
                    {u.failures ? `, ${u.failures} failures` : ''}
                  </li>
                ))}
              </ul>
            </section>
          </div>
        </>
      ) : null}
    </section>
  );
}

function Tile({ label, value, detail, to, field }: { label: string; value: number; detail?: string; to?: string; field: string }) {
  return (
    <li className="tile">
      <span className="tile-label">{to ? <Link to={to}>{label}</Link> : label}</span>
      <span className="tile-value" data-field={field}>{value}</span>
      {detail ? <span className="muted small">{detail}</span> : null}
    </li>
  );
}
