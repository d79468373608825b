import { useState } from 'react';
import { api, query } from '../api';
import { ErrorNote, Fields, Loading, PageHeader, ReasonActions, StatusBadge } from '../components';
import { dateTime, json, timeLeft, visible } from '../format';
import { useNow, useResource } from '../hooks';
import { Link } from '../router';
import { useCan } from '../session';
import type { Approval, AuditPage, DecisionData } from '../types';

const REFRESH_MS = 5000;
/** Pending requests shown at first and added by "Show more": each card also reads where its targets came from. */
const PAGE = 50;
/** The most one request of `GET /v1/approvals` returns, less the one that says more are waiting. */
const MAX_SHOWN = 999;

export function ApprovalsPage() {
  const [shown, setShown] = useState(PAGE);
  // One more than shown: whether more are pending, without a page that turns out empty.
  const pending = useResource(() => api.get<{ approvals: Approval[] }>(`/v1/approvals?status=pending&order=oldest&limit=${shown + 1}`), `pending:${shown}`, REFRESH_MS);
  const history = useResource(() => api.get<{ approvals: Approval[] }>('/v1/approvals?limit=50'), 'history', 15_000);
  const reload = () => {
    pending.reload();
    history.reload();
  };
  const all = pending.data?.approvals.filter((a) => a.status === 'pending') ?? [];
  const list = all.slice(0, shown);
  // More are pending than shown: who has waited longest comes first, as that request expires first.
  const waiting = all.length > shown;
  const more = waiting && shown < MAX_SHOWN;
  const decided = history.data?.approvals.filter((a) => a.status !== 'pending') ?? [];
  return (
    <section aria-labelledby="page-title">
      <PageHeader title="Approvals">
        <span className="muted small" data-role="pending-count" data-count={pending.data ? list.length : ''} data-more={String(waiting)}>{pending.data ? `${list.length}${waiting ? '+' : ''} pending` : ''}</span>
        <button type="button" onClick={reload}>Refresh</button>
      </PageHeader>
      <p className="muted">Each request is bound to one task, one tool and these exact arguments: approving allows that call, nothing else.</p>
      <ErrorNote error={pending.error} />
      <Loading when={pending.loading && !pending.data} />
      {pending.data && list.length === 0 ? <p data-role="empty">No pending approvals.</p> : null}
      <div aria-label="Pending approvals" role="region">
        {list.map((a) => (
          <ApprovalCard key={a.id} approval={a} onDecided={reload} />
        ))}
      </div>
      {more ? (
        <p>
          <button type="button" data-action="more-pending" onClick={() => setShown((n) => Math.min(n + PAGE, MAX_SHOWN))}>Show {PAGE} more</button>{' '}
          <span className="muted small">oldest first: they expire first</span>
        </p>
      ) : null}
      <section className="panel" aria-labelledby="history-title">
        <h2 id="history-title">Decided</h2>
        <ErrorNote error={history.error} />
        {decided.length ? (
          <div className="table-wrap">
            <table data-role="approval-history">
              <caption className="sr-only">Approval requests already decided, newest first</caption>
              <thead>
                <tr>
                  <th scope="col">Request</th>
                  <th scope="col">Tool</th>
                  <th scope="col">Agent</th>
                  <th scope="col">Status</th>
                  <th scope="col">By</th>
                  <th scope="col">Reason</th>
                  <th scope="col">When</th>
                </tr>
              </thead>
              <tbody>
                {decided.map((a) => (
                  <tr key={a.id} data-approval-id={a.id}>
                    <th scope="row"><code>{a.id}</code></th>
                    <td><code>{a.tool}</code></td>
                    <td>{a.agentName}</td>
                    <td><StatusBadge status={a.status} /></td>
                    <td>{a.decidedBy ?? '—'}</td>
                    <td>{visible(a.reason ?? '')}</td>
                    <td>{dateTime(a.decidedAtMs ?? a.createdAtMs)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        ) : (
          <p className="muted">None yet.</p>
        )}
      </section>
    </section>
  );
}

/** Where each target value of the held call came from: on the decision that asked for this approval. */
async function targetsOf(a: Approval): Promise<DecisionData['targets']> {
  const page = await api.get<AuditPage>(`/v1/audit${query({ type: 'decision', task: a.taskId, outcome: 'step_up', tool: a.tool, limit: 50 })}`);
  const asked = page.events.find((e) => e.data.approvalId === a.id);
  return (asked?.data as DecisionData | undefined)?.targets ?? [];
}

function ApprovalCard({ approval: a, onDecided }: { approval: Approval; onDecided: () => void }) {
  const canApprove = useCan('approver');
  const now = useNow();
  const left = timeLeft(a.expiresAtMs, now);
  const targets = useResource(() => targetsOf(a), `targets:${a.id}`);
  const uses = a.usesLeft === 1 ? '1 call' : `${a.usesLeft} calls`;
  const verdict = (v: 'approve' | 'deny') => async (reason: string) => api.post<Approval>(`/v1/approvals/${encodeURIComponent(a.id)}/${v}`, { reason });
  const allowed = canApprove && !left.expired;
  const needs = !canApprove ? 'needs the approver role' : left.expired ? 'expired' : undefined;
  return (
    <article className="approval panel" data-approval-id={a.id} data-tool={a.tool} aria-labelledby={`${a.id}-title`}>
      <header className="panel-header">
        <h2 id={`${a.id}-title`}><code data-field="tool">{visible(a.tool)}</code> for {a.agentName}</h2>
        <span className={left.soon ? 'expires soon' : 'expires'} data-field="expires" data-expired={String(left.expired)}>{left.text}</span>
      </header>
      <Fields
        rows={[
          ['Request', a.id, 'id'],
          ['Agent', a.agentName, 'agent'],
          ['On behalf of', a.principal ?? '—', 'principal'],
          ['Purpose', a.purpose, 'purpose'],
          ['Why a person is asked', (a.policies ?? []).join(', ') || '—', 'policies'],
          ['Approvers', (a.approvers ?? []).join(', ') || '—', 'approvers'],
          ['Allows', `${uses}${a.windowSeconds ? ` within ${a.windowSeconds}s of approval` : ''}${a.separationOfDuties ? ', not by the person the task acts for' : ''}`, 'uses'],
          ['Task', <Link to={`/tasks/${encodeURIComponent(a.taskId)}`}><code>{a.taskId}</code></Link>, 'task'],
          ['Requested', dateTime(a.createdAtMs), 'created'],
        ]}
      />
      <h3>Arguments</h3>
      <pre tabIndex={0} data-field="args">{json(a.args)}</pre>
      <p className="hash">sha256 <code data-field="args-hash">{a.argsHash}</code></p>
      {targets.data?.length ? (
        <>
          <h3>Where each target value came from</h3>
          <ul data-field="provenance">
            {targets.data.map((t) => (
              <li key={t.arg}><code>{t.arg}</code>: <span className={`provenance provenance-${t.provenance}`}>{t.provenance}</span>{t.provenance === 'untrusted' || t.provenance === 'unseen' ? ' — check this value: the user did not give it' : ''}</li>
            ))}
          </ul>
        </>
      ) : null}
      <ReasonActions
        placeholder="why you approve or deny this exact call"
        actions={[
          { label: 'Approve', action: 'approve', allowed, needs, run: verdict('approve') },
          { label: 'Deny', action: 'deny', allowed, needs, run: verdict('deny') },
        ]}
        onDone={onDecided}
      />
    </article>
  );
}
