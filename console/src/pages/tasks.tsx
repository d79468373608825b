import { useState, type FormEvent } from 'react';
import { api, query } from '../api';
import { ErrorNote, Fields, FilterField, Loading, PageHeader, ReasonActions, StatusBadge } from '../components';
import { dateTime, json, timeLeft, visible } from '../format';
import { useNow, useResource } from '../hooks';
import { Link, navigate } from '../router';
import { useCan } from '../session';
import type { Task, TaskListItem, TaskNode, TaskTree } from '../types';

const PAGE = 50;

interface TaskPage {
  tasks: TaskListItem[];
  nextCursor: string | null;
}

export function TasksPage({ params }: { params: URLSearchParams }) {
  const filters = { status: params.get('status') ?? '', agent: params.get('agent') ?? '', principal: params.get('principal') ?? '', q: params.get('q') ?? '' };
  const [cursors, setCursors] = useState<string[]>([]);
  const cursor = cursors[cursors.length - 1];
  const key = JSON.stringify([filters, cursor]);
  const r = useResource(() => api.get<TaskPage>(`/v1/tasks${query({ ...filters, limit: PAGE, cursor })}`), key, 10_000);
  const now = useNow();
  const apply = (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const f = new FormData(e.currentTarget);
    setCursors([]);
    navigate(`/tasks${query({ status: String(f.get('status') ?? ''), agent: String(f.get('agent') ?? ''), principal: String(f.get('principal') ?? ''), q: String(f.get('q') ?? '') })}`);
  };
  return (
    <section aria-labelledby="page-title">
      <PageHeader title="Tasks" />
      <form className="filters" onSubmit={apply} aria-label="Filter tasks">
        <label>
          Status
          <select name="status" defaultValue={filters.status}>
            <option value="">any</option>
            <option value="active">active</option>
            <option value="completed">completed</option>
            <option value="revoked">revoked</option>
          </select>
        </label>
        <FilterField label="Agent" name="agent" value={filters.agent} />
        <FilterField label="Principal" name="principal" value={filters.principal} />
        <label>
          Search
          <input name="q" type="search" defaultValue={filters.q} />
        </label>
        <button type="submit">Apply</button>
      </form>
      <ErrorNote error={r.error} />
      <Loading when={r.loading && !r.data} />
      {r.data ? (
        <div className="table-wrap">
          <table data-role="tasks">
            <caption className="sr-only">Tasks, newest first</caption>
            <thead>
              <tr>
                <th scope="col">Task</th>
                <th scope="col">Purpose</th>
                <th scope="col">Agent</th>
                <th scope="col">On behalf of</th>
                <th scope="col">Status</th>
                <th scope="col">Credential</th>
                <th scope="col">Calls</th>
                <th scope="col">Drift</th>
              </tr>
            </thead>
            <tbody>
              {r.data.tasks.map((t) => (
                <tr key={t.id} data-task={t.id}>
                  <th scope="row">
                    <Link to={`/tasks/${encodeURIComponent(t.id)}`}><code>{t.id}</code></Link>
                    {t.parentTask ? <span className="muted small"> delegated</span> : null}
                  </th>
                  <td className="purpose">{visible(t.purpose)}</td>
                  <td>{t.agent}</td>
                  <td>{t.principal ? visible(t.principal) : '—'}</td>
                  <td><StatusBadge status={t.status} /></td>
                  <td>{t.status === 'active' ? <Expiry expiresAtMs={t.expiresAtMs} now={now} /> : dateTime(t.endedAtMs)}</td>
                  <td>{t.callCount}</td>
                  <td>{t.drift ? t.drift.score.toFixed(2) : '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {r.data.tasks.length === 0 ? <p className="muted">No task matches.</p> : null}
          <div className="pager">
            <button type="button" disabled={cursors.length === 0} onClick={() => setCursors((c) => c.slice(0, -1))}>Newer</button>
            <button type="button" disabled={!r.data.nextCursor} onClick={() => r.data?.nextCursor && setCursors((c) => [...c, r.data!.nextCursor!])}>Older</button>
          </div>
        </div>
      ) : null}
    </section>
  );
}

export function Expiry({ expiresAtMs, now }: { expiresAtMs: number; now: number }) {
  const t = timeLeft(expiresAtMs, now);
  return (
    <span className={t.soon ? 'expires soon' : 'expires'} data-field="expires" data-expired={String(t.expired)}>
      {t.text}
    </span>
  );
}

export function TaskPage({ id }: { id: string }) {
  const r = useResource(() => api.get<Task>(`/v1/tasks/${encodeURIComponent(id)}`), `task:${id}`, 5000);
  const tree = useResource(() => api.get<TaskTree>(`/v1/tasks/${encodeURIComponent(id)}/tree`), `tree:${id}`);
  const isOperator = useCan('operator');
  const now = useNow();
  const t = r.data;
  const operate = (path: string, body: (reason: string) => unknown) => async (reason: string) => {
    await api.post(path, body(reason));
    r.reload();
    tree.reload();
  };
  const needs = isOperator ? undefined : 'needs the operator role';
  return (
    <section aria-labelledby="page-title">
      <PageHeader title={`Task ${id}`}>
        <Link to={`/tasks/${encodeURIComponent(id)}/trail`}>Open the trail</Link>
      </PageHeader>
      <ErrorNote error={r.error} />
      <Loading when={r.loading && !t} />
      {t ? (
        <>
          <div className="columns">
            <section className="panel wide" aria-labelledby="mandate-title">
              <h2 id="mandate-title">Mandate</h2>
              <Fields
                rows={[
                  ['Purpose', t.mandate.purpose, 'purpose'],
                  ['Status', <StatusBadge status={t.status} />, 'status'],
                  ['Agent', t.agent, 'agent'],
                  ['SPIFFE ID', <code>{t.spiffeId}</code>],
                  ['On behalf of', t.principal ?? '—', 'principal'],
                  ['Delegated from', t.parentTask ? <Link to={`/tasks/${encodeURIComponent(t.parentTask)}`}><code>{t.parentTask}</code></Link> : '—'],
                  ['Delegation depth', t.delegationDepth],
                  ['Credential', t.status === 'active' ? <Expiry expiresAtMs={t.expiresAtMs} now={now} /> : `ended ${dateTime(t.endedAtMs)}: ${t.endReason ?? ''}`, 'credential'],
                  ['Calls', t.callCount, 'calls'],
                  ['Granted', dateTime(t.createdAtMs)],
                ]}
              />
              <h3>Tools and constraints</h3>
              <pre tabIndex={0} data-field="tools">{json(t.mandate.tools)}</pre>
            </section>
            <section className="panel" aria-labelledby="drift-title">
              <h2 id="drift-title">Behaviour</h2>
              {t.drift ? (
                <Fields
                  rows={[
                    ['Drift score', t.drift.score.toFixed(2), 'drift-score'],
                    ['Signals', t.drift.signals.join(', ') || 'none', 'signals'],
                    ['Suspended by', t.drift.suspendedBy ?? '—', 'suspended-by'],
                    ['Step-up by', t.drift.stepUpBy ?? '—'],
                    ['Tightened by', t.drift.tightenedBy ?? '—'],
                    ['Labels read', t.drift.labels.join(', ') || 'none', 'labels'],
                    ['Tools called', t.drift.toolsCalled.join(', ') || 'none'],
                  ]}
                />
              ) : (
                <p className="muted">No behaviour recorded.</p>
              )}
            </section>
          </div>
          {t.status === 'active' ? (
            <section className="panel" aria-labelledby="operate-title">
              <h2 id="operate-title">Operate</h2>
              <ReasonActions
                placeholder="why: it is recorded in the trail"
                actions={[
                  { label: 'Revoke', action: 'revoke', allowed: isOperator, needs, run: operate('/v1/revocations', (reason) => ({ kind: 'task', subject: t.id, reason: reason || 'revoked by an operator' })) },
                  { label: 'Suspend', action: 'suspend', allowed: isOperator, needs, run: operate(`/v1/tasks/${encodeURIComponent(t.id)}/suspend`, (reason) => ({ reason: reason || 'suspended by an operator' })) },
                  { label: 'Resume', action: 'resume', allowed: isOperator, needs, run: operate(`/v1/tasks/${encodeURIComponent(t.id)}/resume`, (reason) => (reason ? { reason } : {})) },
                ]}
              />
            </section>
          ) : null}
          <section className="panel" aria-labelledby="tree-title">
            <h2 id="tree-title">Delegation tree</h2>
            <ErrorNote error={tree.error} what="the delegation tree" />
            {tree.data ? (
              <>
                <ul className="tree" data-role="tree" data-nodes={tree.data.nodes}>
                  <TreeNode task={tree.data.tree} current={id} />
                </ul>
                {tree.data.truncated ? <p className="note">The tree has more than {tree.data.nodes} tasks: the deepest are left out.</p> : null}
              </>
            ) : null}
          </section>
        </>
      ) : null}
    </section>
  );
}

function TreeNode({ task, current }: { task: TaskNode; current: string }) {
  return (
    <li data-task={task.id}>
      {task.id === current ? <strong aria-current="true"><code>{task.id}</code></strong> : <Link to={`/tasks/${encodeURIComponent(task.id)}`}><code>{task.id}</code></Link>} {task.agent} · {visible(task.purpose)} <StatusBadge status={task.status} />
      {task.drift?.suspendedBy ? <span className="muted small"> suspended by {task.drift.suspendedBy}</span> : null}
      {task.children.length ? (
        <ul>
          {task.children.map((c) => (
            <TreeNode key={c.id} task={c} current={current} />
          ))}
        </ul>
      ) : null}
    </li>
  );
}
