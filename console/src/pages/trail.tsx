import { api } from '../api';
import { ErrorNote, Loading, OutcomeBadge, PageHeader, StatusBadge } from '../components';
import { dateTime, json, time, visible } from '../format';
import { useResource } from '../hooks';
import { Link } from '../router';
import type { ChainVerification, TaskTrail, TrailStep } from '../types';

export function TrailPage({ taskId }: { taskId: string }) {
  const trail = useResource(() => api.get<TaskTrail>(`/v1/tasks/${encodeURIComponent(taskId)}/trail`), `trail:${taskId}`);
  const verify = useResource(() => api.get<ChainVerification>('/v1/audit/verify'), 'verify');
  const t = trail.data;
  return (
    <section aria-labelledby="page-title">
      <PageHeader title={`Trail of ${taskId}`}>
        <Link to={`/tasks/${encodeURIComponent(taskId)}`}>The task</Link>
      </PageHeader>
      <Integrity r={verify} />
      <ErrorNote error={trail.error} />
      <Loading when={trail.loading && !t} />
      {t ? (
        <>
          <section className="panel" aria-labelledby="purpose-title">
            <h2 id="purpose-title">Purpose</h2>
            <p className="purpose-quote" data-field="purpose">{visible(t.task.purpose)}</p>
            <ul className="trail-tasks" data-role="trail-tasks">
              {t.tasks.map((task) => (
                <li key={task.id} className={`depth-${Math.min(task.delegationDepth, 4)}`}>
                  <Link to={`/tasks/${encodeURIComponent(task.id)}`}><code>{task.id}</code></Link> {task.agent}
                  {task.principal ? ` for ${visible(task.principal)}` : ''} · {visible(task.purpose)} <StatusBadge status={task.status} />
                  {task.parentTask ? <span className="muted small"> delegated from {task.parentTask}</span> : null}
                </li>
              ))}
            </ul>
          </section>
          <section className="panel" aria-labelledby="steps-title">
            <h2 id="steps-title">Calls, decisions and results</h2>
            {t.truncated ? <p className="note">The trail is long: the rest is in the decisions history for this task.</p> : null}
            <ol className="steps" data-role="steps">
              {t.steps.map((s, i) => (
                <Step key={i} step={s} root={t.task.id} />
              ))}
            </ol>
            {t.steps.length === 0 ? <p className="muted">Nothing recorded yet.</p> : null}
          </section>
        </>
      ) : null}
    </section>
  );
}

function Integrity({ r }: { r: { data?: ChainVerification; error?: import('../api').ApiError; loading: boolean } }) {
  if (r.error) return <ErrorNote error={r.error} what="integrity check" />;
  if (!r.data) return <p className="muted" aria-live="polite">Checking the trail's integrity…</p>;
  const v = r.data;
  const events = v.segments.reduce((n, s) => n + s.events, 0);
  return (
    <p className={v.ok ? 'integrity ok' : 'integrity bad'} role="status" data-role="integrity" data-ok={String(v.ok)}>
      {v.ok ? `Integrity verified: ${events} events in ${v.segments.length} hash-chained segment${v.segments.length === 1 ? '' : 's'}, ${v.witnessed} witnessed checkpoints.` : `Integrity check FAILED${v.broken ? `: ${v.broken.reason} at ${v.broken.segment}:${v.broken.seq}` : ''}${v.empty ? ': the trail is empty' : ''}${v.findings.length ? `; ${v.findings.map((f) => f.kind).join(', ')}` : ''}.`}
    </p>
  );
}

function Step({ step, root }: { step: TrailStep; root: string }) {
  const child = step.taskId !== root;
  if (step.kind === 'event') {
    return (
      <li className={child ? 'step event child' : 'step event'} data-step="event">
        <span className="when">{time(step.atMs)}</span> <span className="event-type">{step.event.type}</span>
        {child ? <span className="muted small"> in {step.taskId}</span> : null}
        <details>
          <summary>details</summary>
          <pre tabIndex={0}>{json(step.event.data)}</pre>
        </details>
      </li>
    );
  }
  const result = step.result?.data as { status?: string; bytes?: number; labels?: string[] } | undefined;
  return (
    <li className={child ? 'step call child' : 'step call'} data-step="call" data-outcome={step.outcome}>
      <span className="when">{time(step.atMs)}</span> <code>{visible(step.tool)}</code> <OutcomeBadge outcome={step.outcome} /> <code>{step.code ?? ''}</code>
      {child ? <span className="muted small"> in {step.taskId}</span> : null} <Link to={`/decisions/${encodeURIComponent(step.decisionId)}`}>decision</Link>
      {result ? (
        <span className="result" data-field="result">
          {' '}→ result {result.status}
          {typeof result.bytes === 'number' ? `, ${result.bytes} bytes` : ''}
          {result.labels?.length ? `, labels ${result.labels.join(', ')}` : ''}
        </span>
      ) : null}
      {step.related.length ? <span className="muted small"> · {step.related.map((e) => e.type).join(', ')}</span> : null}
      <span className="sr-only"> at {dateTime(step.atMs)}</span>
    </li>
  );
}
