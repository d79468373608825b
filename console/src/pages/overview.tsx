import { ApiError, api, query } from '../api';
import { DecisionsChart, type Bucket } from '../chart';
import { ErrorNote, Loading, PageHeader } from '../components';
import { useResource } from '../hooks';
import { Link } from '../router';
import type { Agent, Approval, AuditPage, Overview, Task } from '../types';

const REFRESH_MS = 5000;
const FALLBACK_WINDOW_MS = 30 * 60_000;
const FALLBACK_BUCKET_MS = 60_000;

/**
 * `GET /v1/overview` where the server has it; otherwise the same figures from the endpoints
 * every server has (counts, health, and the chart from one bounded page of recent decisions).
 */
async function loadOverview(): Promise<{ overview: Overview; partial: boolean }> {
  try {
    return { overview: await api.get<Overview>('/v1/overview'), partial: false };
  } catch (err) {
    if (!(err instanceof ApiError && err.notAvailable)) throw err;
  }
  const nowMs = Date.now();
  const sinceMs = nowMs - FALLBACK_WINDOW_MS;
  const [agents, tasks, approvals, health, decisions] = await Promise.all([
    api.get<{ agents: Agent[] }>('/v1/agents'),
    api.get<{ tasks: Task[] }>('/v1/tasks?status=active&limit=1000'),
    api.get<{ approvals: Approval[] }>('/v1/approvals?status=pending&limit=1000').catch(() => ({ approvals: [] })),
    api.get<{ store: string; storeAvailable: boolean }>('/healthz'),
    api.get<AuditPage>(`/v1/audit${query({ type: 'decision', sinceMs, limit: 1000 })}`),
  ]);
  const buckets = new Map<number, Bucket>();
  for (let t = Math.floor(sinceMs / FALLBACK_BUCKET_MS) * FALLBACK_BUCKET_MS; t <= nowMs; t += FALLBACK_BUCKET_MS) buckets.set(t, { startMs: t, allow: 0, deny: 0, step_up: 0 });
  const reasons = new Map<string, number>();
  const lastMinute = { allow: 0, deny: 0, step_up: 0 };
  for (const e of decisions.events) {
    const outcome = e.data.outcome as keyof typeof lastMinute;
    if (!(outcome in lastMinute)) continue;
    const b = buckets.get(Math.floor(e.atMs / FALLBACK_BUCKET_MS) * FALLBACK_BUCKET_MS);
    if (b) b[outcome]++;
    if (e.atMs >= nowMs - 60_000) lastMinute[outcome]++;
    if (outcome !== 'allow' && typeof e.data.code === 'string') reasons.set(e.data.code, (reasons.get(e.data.code) ?? 0) + 1);
  }
  const activeTasks = tasks.tasks;
  return {
    partial: true,
    overview: {
      agents: { registered: agents.agents.length, disabled: agents.agents.filter((a) => a.disabledAtMs !== null).length },
      tasks: { active: activeTasks.length },
      approvals: { pending: approvals.approvals.length },
      driftAlerts: activeTasks.filter((t) => (t.drift?.signals.length ?? 0) > 0).length,
      decisionsLastMinute: lastMinute,
      series: [...buckets.values()],
      topReasons: [...reasons].map(([code, count]) => ({ code, count })).sort((a, b) => b.count - a.count).slice(0, 8),
      health: { store: { kind: health.store, available: health.storeAvailable }, upstreams: [] },
    },
  };
}

export function OverviewPage() {
  const r = useResource(loadOverview, 'overview', REFRESH_MS);
  const o = r.data?.overview;
  return (
    <section aria-labelledby="page-title">
      <PageHeader title="Overview" />
      <ErrorNote error={r.error} />
      <Loading when={r.loading && !o} />
      {o ? (
        <>
          <ul className="tiles" aria-label="Counts">
            <Tile label="Agents registered" value={o.agents.registered} detail={`${o.agents.disabled} disabled`} to="/agents" field="agents" />
            <Tile label="Active tasks" value={o.tasks.active} to="/tasks" field="active-tasks" />
            <Tile label="Pending approvals" value={o.approvals.pending} to="/step-ups" field="pending-approvals" />
            <Tile label="Drift alerts" value={o.driftAlerts} field="drift-alerts" />
            <Tile label="Decisions, last minute" value={o.decisionsLastMinute.allow + o.decisionsLastMinute.deny + o.decisionsLastMinute.step_up} detail={`${o.decisionsLastMinute.allow} allow · ${o.decisionsLastMinute.deny} deny · ${o.decisionsLastMinute.step_up} step-up`} field="decisions-last-minute" />
          </ul>
          <div className="columns">
            <section aria-labelledby="chart-title" className="panel wide">
              <h2 id="chart-title">Decisions over time</h2>
              <DecisionsChart series={o.series} />
              {r.data?.partial ? <p className="muted small">From the decisions of the last 30 minutes (at most 1,000); this server has no <code>/v1/overview</code>.</p> : null}
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
                    Upstream <code>{u.name}</code>: <span className={u.healthy ? 'ok' : 'bad'}>{u.healthy ? 'healthy' : 'unhealthy'}</span>
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
