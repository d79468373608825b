import { useEffect, useRef, useState, type FormEvent } from 'react';
import { api, query } from '../api';
import { ErrorNote, Fields, Loading, OutcomeBadge, PageHeader } from '../components';
import { json, time, visible } from '../format';
import { useResource } from '../hooks';
import { Link, navigate } from '../router';
import type { AuditEvent, AuditPage, DecisionData, DecisionDetail } from '../types';

const PAGE = 50;
const LIVE_MAX = 200;
const POLL_MS = 3000;
const FILTERS = ['outcome', 'reason', 'tool', 'agent', 'task'] as const;
type Filters = Record<(typeof FILTERS)[number], string>;

/** Records seen in a list, so a decision opens even where `GET /v1/decisions/:id` is not served. */
const seen = new Map<string, AuditEvent>();
function remember(events: AuditEvent[]): void {
  for (const e of events) seen.set(decisionIdOf(e), e);
  // Bounded: the history pages and the live list, not the whole trail.
  while (seen.size > 2000) seen.delete(seen.keys().next().value!);
}
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
        <label>
          Tool
          <input name="tool" defaultValue={filters.tool} />
        </label>
        <label>
          Agent
          <input name="agent" defaultValue={filters.agent} />
        </label>
        <label>
          Task
          <input name="task" defaultValue={filters.task} />
        </label>
        <button type="submit">Apply</button>
      </form>
      <LiveDecisions filters={filters} />
      <History filters={filters} />
    </section>
  );
}

/** Decisions as they are made: Server-Sent Events where served, else the newest page polled. */
function LiveDecisions({ filters }: { filters: Filters }) {
  const [events, setEvents] = useState<AuditEvent[]>([]);
  const [mode, setMode] = useState<'connecting' | 'stream' | 'polling'>('connecting');
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
      remember(fresh);
      setEvents((prev) => [...fresh.sort((a, b) => b.atMs - a.atMs), ...prev].slice(0, LIVE_MAX));
    };
    let timer: ReturnType<typeof setInterval> | undefined;
    const poll = () => {
      setMode('polling');
      const since = Date.now();
      const once = async () => {
        try {
          const page = await api.get<AuditPage>(`/v1/audit${query({ ...filters, type: 'decision', sinceMs: since - 1000, limit: 100 })}`);
          if (!closed) add(page.events);
        } catch {
          // The history below shows the error; the next poll tries again.
        }
      };
      void once();
      timer = setInterval(() => void once(), POLL_MS);
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
      // A refused connection (404, 401) closes for good; a dropped one reconnects by itself.
      if (source.readyState === EventSource.CLOSED && !closed) {
        source.close();
        if (!timer) poll();
      }
    });
    return () => {
      closed = true;
      source.close();
      if (timer) clearInterval(timer);
    };
  }, [filterQuery]);

  return (
    <section className="panel" aria-labelledby="live-title">
      <div className="panel-header">
        <h2 id="live-title">Live</h2>
        <span className="muted small" data-role="live-mode" data-mode={mode}>
          {mode === 'stream' ? 'streaming' : mode === 'polling' ? `live stream not available; checking every ${POLL_MS / 1000}s` : 'connecting…'}
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
    async () => {
      const page = await api.get<AuditPage>(`/v1/audit${query({ ...filters, type: 'decision', limit: PAGE, cursor })}`);
      remember(page.events);
      return page;
    },
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

/** `GET /v1/decisions/:id` where served; else the record as a list showed it, without the policies' text. */
async function loadDecision(id: string): Promise<{ detail: DecisionDetail; full: boolean }> {
  try {
    const detail = await api.get<DecisionDetail>(`/v1/decisions/${encodeURIComponent(id)}`);
    return { detail, full: true };
  } catch (err) {
    const known = seen.get(id);
    if (known && (err as { notAvailable?: boolean }).notAvailable) return { detail: { record: known }, full: false };
    throw err;
  }
}

export function DecisionPage({ id }: { id: string }) {
  const r = useResource(() => loadDecision(id), `decision:${id}`);
  const detail = r.data?.detail;
  // The record itself, or the detail's own fields when it is returned flat.
  const record = detail?.record ?? (detail as unknown as AuditEvent | undefined);
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
                  ['Policy version', d.policyVersion ?? '—'],
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
              {detail?.policies?.length ? (
                detail.policies.map((p) => (
                  <div key={`${p.file}:${p.id}`} className="policy" data-policy={p.id}>
                    <h3><code>{p.id}</code> <span className="muted small">{p.file}:{p.line}</span></h3>
                    <pre tabIndex={0}>{p.text}</pre>
                  </div>
                ))
              ) : (d.policies ?? []).length ? (
                <>
                  <ul data-field="policies">{(d.policies ?? []).map((p) => <li key={p}><code>{p}</code></li>)}</ul>
                  {r.data?.full ? null : <p className="muted small">The policies' text is not available on this server.</p>}
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
