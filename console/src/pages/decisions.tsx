import { useEffect, useRef, useState, type FormEvent } from 'react';
import { api, query } from '../api';
import { ErrorNote, Fields, FilterField, Loading, OutcomeBadge, PageHeader } from '../components';
import { json, time, visible } from '../format';
import { useResource } from '../hooks';
import { Link, navigate } from '../router';
import type { AuditEvent, AuditPage, DecisionData, DecisionDetail } from '../types';

const PAGE = 50;
const LIVE_MAX = 200;
const FILTERS = ['outcome', 'reason', 'tool', 'agent', 'task'] as const;
type Filters = Record<(typeof FILTERS)[number], string>;

function decisionIdOf(e: AuditEvent): string {
  return typeof e.data.decisionId === 'string' ? e.data.decisionId : e.id;
}

function filtersOf(params: URLSearchParams): Filters {
  return Object.fromEntries(FILTERS.map((f) => [f, params.get(f) ?? ''])) as Filters;
}

export function DecisionsPage({ params }: { params: URLSearchParams }) {
  const filters = filtersOf(params);
  const apply = (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const f = new FormData(e.currentTarget);
    navigate(`/decisions${query(Object.fromEntries(FILTERS.map((k) => [k, String(f.get(k) ?? '').trim()])))}`);
  };
  return (
    <section aria-labelledby="page-title">
      <PageHeader title="Decisions" />
      <form className="filters" onSubmit={apply} aria-label="Filter decisions" key={params.toString()}>
        <label>
          Outcome
          <select name="outcome" defaultValue={filters.outcome}>
            <option value="">any</option>
            <option value="allow">allow</option>
            <option value="deny">deny</option>
            <option value="step_up">step-up</option>
          </select>
        </label>
        <label>
          Reason code
          <input name="reason" defaultValue={filters.reason} placeholder="policy.forbid" />
        </label>
        <FilterField label="Tool" name="tool" value={filters.tool} />
        <FilterField label="Agent" name="agent" value={filters.agent} />
        <FilterField label="Task" name="task" value={filters.task} />
        <button type="submit">Apply</button>
      </form>
      <LiveDecisions filters={filters} />
      <History filters={filters} />
    </section>
  );
}

/**
 * Decisions as any replica stores them, from `GET /v1/decisions/stream`. A dropped connection
 * is retried by the EventSource itself with `Last-Event-ID`, so nothing made meanwhile is missed.
 */
function LiveDecisions({ filters }: { filters: Filters }) {
  const [events, setEvents] = useState<AuditEvent[]>([]);
  const [mode, setMode] = useState<'connecting' | 'stream' | 'closed'>('connecting');
  const [paused, setPaused] = useState(false);
  const pausedRef = useRef(paused);
  pausedRef.current = paused;
  const filterQuery = query(filters);

  useEffect(() => {
    setEvents([]);
    let closed = false;
    const ids = new Set<string>();
    const add = (incoming: AuditEvent[]) => {
      const fresh = incoming.filter((e) => !ids.has(e.id));
      if (!fresh.length || pausedRef.current) return;
      for (const e of fresh) ids.add(e.id);
      setEvents((prev) => [...fresh.sort((a, b) => b.atMs - a.atMs), ...prev].slice(0, LIVE_MAX));
    };
    const source = new EventSource(`/v1/decisions/stream${filterQuery}`, { withCredentials: true });
    source.addEventListener('open', () => !closed && setMode('stream'));
    source.addEventListener('decision', (m) => {
      try {
        add([JSON.parse((m as MessageEvent<string>).data) as AuditEvent]);
      } catch {
        // A malformed event is skipped, not shown half-read.
      }
    });
    source.addEventListener('error', () => {
      // A dropped connection reconnects by itself; a refused one (the session ended, too many streams) closes for good.
      if (closed) return;
      setMode(source.readyState === EventSource.CLOSED ? 'closed' : 'connecting');
    });
    return () => {
      closed = true;
      source.close();
    };
  }, [filterQuery]);

  return (
    <section className="panel" aria-labelledby="live-title">
      <div className="panel-header">
        <h2 id="live-title">Live</h2>
        <span className="muted small" data-role="live-mode" data-mode={mode}>
          {mode === 'stream' ? 'streaming' : mode === 'closed' ? 'the stream was refused: reload the page to try again' : 'connecting…'}
        </span>
        <button type="button" aria-pressed={paused} onClick={() => setPaused((p) => !p)}>{paused ? 'Resume' : 'Pause'}</button>
      </div>
      <p className="sr-only" aria-live="polite">{events.length ? `${events.length} new decisions` : ''}</p>
      {events.length ? <DecisionTable events={events} label="Decisions made since this page opened" role="live-decisions" /> : <p className="muted">No decision since this page opened.</p>}
    </section>
  );
}

function History({ filters }: { filters: Filters }) {
  const [cursors, setCursors] = useState<string[]>([]);
  const filterQuery = query(filters);
  useEffect(() => setCursors([]), [filterQuery]);
  const cursor = cursors[cursors.length - 1];
  // One page at a time from the server: the trail may hold millions of decisions.
  const r = useResource(
    () => api.get<AuditPage>(`/v1/audit${query({ ...filters, type: 'decision', limit: PAGE, cursor })}`),
    `${filterQuery}|${cursor ?? ''}`,
  );
  return (
    <section className="panel" aria-labelledby="history-title">
      <div className="panel-header">
        <h2 id="history-title">History</h2>
        <span className="muted small">page {cursors.length + 1}, {PAGE} a page, newest first</span>
        <button type="button" onClick={r.reload}>Refresh</button>
      </div>
      <ErrorNote error={r.error} />
      <Loading when={r.loading && !r.data} />
      {r.data ? (
        <>
          {r.data.events.length ? <DecisionTable events={r.data.events} label="Recorded decisions" role="history-decisions" /> : <p className="muted">No decision matches.</p>}
          <div className="pager">
            <button type="button" disabled={cursors.length === 0} onClick={() => setCursors((c) => c.slice(0, -1))}>Newer</button>
            <button type="button" data-action="older" disabled={!r.data.nextCursor} onClick={() => r.data?.nextCursor && setCursors((c) => [...c, r.data!.nextCursor!])}>Older</button>
          </div>
        </>
      ) : null}
    </section>
  );
}

function DecisionTable({ events, label, role }: { events: AuditEvent[]; label: string; role: string }) {
  return (
    <div className="table-wrap">
      <table data-role={role}>
        <caption className="sr-only">{label}</caption>
        <thead>
          <tr>
            <th scope="col">Time</th>
            <th scope="col">Outcome</th>
            <th scope="col">Reason</th>
            <th scope="col">Tool</th>
            <th scope="col">Task</th>
            <th scope="col">Purpose</th>
          </tr>
        </thead>
        <tbody>
          {events.map((e) => {
            const d = e.data as DecisionData;
            const id = decisionIdOf(e);
            return (
              <tr key={e.id} data-decision={id} data-outcome={d.outcome}>
                <td><Link to={`/decisions/${encodeURIComponent(id)}`} title={`open decision ${id}`}>{time(e.atMs)}</Link></td>
                <td><OutcomeBadge outcome={d.outcome} /></td>
                <td><code>{d.code ?? '—'}</code></td>
                <td><code>{visible(d.tool ?? '—')}</code></td>
                <td>{e.taskId ? <Link to={`/tasks/${encodeURIComponent(e.taskId)}`}><code>{e.taskId}</code></Link> : '—'}</td>
                <td className="purpose">{visible(d.purpose ?? '')}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

export function DecisionPage({ id }: { id: string }) {
  const r = useResource(() => api.get<DecisionDetail>(`/v1/decisions/${encodeURIComponent(id)}`), `decision:${id}`);
  const detail = r.data;
  const record = detail?.record;
  const d = (record?.data ?? {}) as DecisionData;
  const taskId = record?.taskId ?? detail?.task?.id ?? null;
  return (
    <section aria-labelledby="page-title">
      <PageHeader title={`Decision ${id}`}>
        <Link to="/decisions">All decisions</Link>
      </PageHeader>
      <ErrorNote error={r.error} what="this decision" />
      <Loading when={r.loading && !detail} />
      {record ? (
        <>
          <div className="columns">
            <section className="panel wide" aria-labelledby="request-title">
              <h2 id="request-title">Request</h2>
              <Fields
                rows={[
                  ['Outcome', <OutcomeBadge outcome={d.outcome} />, 'outcome'],
                  ['Reason', <><code>{d.code}</code> {visible(d.message ?? '')}</>, 'reason'],
                  ['Layer', d.layer ?? '—', 'layer'],
                  ['Tool', <code>{visible(d.tool ?? '—')}</code>, 'tool'],
                  ['Action', d.action ?? '—'],
                  ['Task', taskId ? <Link to={`/tasks/${encodeURIComponent(taskId)}`}><code>{taskId}</code></Link> : '—', 'task'],
                  ['Purpose', d.purpose ?? detail?.task?.purpose ?? '—', 'purpose'],
                  ['On behalf of', d.principal ?? '—'],
                  ['Decided', new Date(record.atMs).toLocaleString()],
                  ['Call count', d.callCount ?? '—'],
                  ['Approval', d.approvalId ?? '—'],
                  ['Policy version', detail?.policyVersion ?? '—'],
                ]}
              />
              <h3>Arguments</h3>
              {d.args ? <pre tabIndex={0} data-field="args">{json(d.args)}</pre> : <p className="muted">Names only (the trail keeps values as a hash): {(d.argNames ?? []).join(', ') || 'none'}</p>}
              {d.argsHash ? <p className="hash">sha256 <code>{d.argsHash}</code></p> : null}
              {d.targets?.length ? (
                <>
                  <h3>Where each target value came from</h3>
                  <ul data-field="targets">
                    {d.targets.map((t) => (
                      <li key={t.arg}><code>{t.arg}</code>: <span className={`provenance provenance-${t.provenance}`}>{t.provenance}</span></li>
                    ))}
                  </ul>
                </>
              ) : null}
              {taskId ? <p><Link to={`/tasks/${encodeURIComponent(taskId)}/trail`} data-role="trail-link">Open the task's trail</Link></p> : null}
            </section>
            <section className="panel" aria-labelledby="policies-title">
              <h2 id="policies-title">Determining policies</h2>
              {detail?.policies.length ? (
                <>
                  {detail.policies.map((p) => (
                    <div key={`${p.file ?? ''}:${p.id}`} className="policy" data-policy={p.id}>
                      <h3><code>{p.id}</code> {p.file ? <span className="muted small">{p.file}{p.line ? `:${p.line}` : ''}</span> : null}</h3>
                      {p.text ? <pre tabIndex={0}>{p.text}</pre> : null}
                    </div>
                  ))}
                  {detail.sourceUnavailable ? <p className="muted small" data-role="source-unavailable">Policy version {detail.policyVersion} is no longer the one served: some policies are shown by id only.</p> : null}
                </>
              ) : (
                <p className="muted">No policy decided this call (it was decided before the ceiling).</p>
              )}
            </section>
          </div>
          <details>
            <summary>The record as stored</summary>
            <pre tabIndex={0}>{json(record)}</pre>
          </details>
        </>
      ) : null}
    </section>
  );
}
