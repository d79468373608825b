import { useState, type FormEvent } from 'react';
import { ApiError, api, query } from '../api';
import { ErrorNote, Loading, PageHeader } from '../components';
import { ago, dateTime, timeLeft } from '../format';
import { useNow, useResource } from '../hooks';
import { Link } from '../router';
import { useCan } from '../session';
import type { Agent, AgentListItem } from '../types';

export function AgentsPage() {
  const [cursors, setCursors] = useState<string[]>([]);
  const cursor = cursors[cursors.length - 1];
  const r = useResource(() => api.get<{ agents: AgentListItem[]; nextCursor: string | null }>(`/v1/agents${query({ cursor })}`), `agents:${cursor ?? ''}`, 15_000);
  const isAdmin = useCan('admin');
  const now = useNow(5000);
  const agents = r.data?.agents ?? [];
  return (
    <section aria-labelledby="page-title">
      <PageHeader title="Agents" />
      <ErrorNote error={r.error} />
      <Loading when={r.loading && !r.data} />
      {r.data ? (
        <div className="table-wrap">
          <table data-role="agents">
            <caption className="sr-only">Registered agents</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">SPIFFE ID</th>
                <th scope="col">Groups</th>
                <th scope="col">Attestation</th>
                <th scope="col">Last seen</th>
                <th scope="col">Active tasks</th>
                <th scope="col">Registered</th>
                <th scope="col">Join token</th>
              </tr>
            </thead>
            <tbody>
              {agents.map((a) => (
                <tr key={a.id} data-agent={a.name}>
                  <th scope="row">
                    {a.name}
                    {a.disabledAtMs !== null ? <span className="badge status-revoked">disabled</span> : null}
                  </th>
                  <td><code>{a.spiffeId}</code></td>
                  <td>{a.groups.join(', ') || '—'}</td>
                  <td>{attestation(a)}</td>
                  <td data-field="last-seen">{ago(a.lastSeenMs, now)}</td>
                  <td data-field="active-tasks">
                    <Link to={`/tasks?agent=${encodeURIComponent(a.name)}&status=active`} aria-label={`${a.activeTasks} active tasks of ${a.name}`}>{a.activeTasks}</Link>
                  </td>
                  <td>{dateTime(a.createdAtMs)}</td>
                  <td>{a.disabledAtMs === null ? <JoinTokenButton agent={a.name} allowed={isAdmin} /> : '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {agents.length === 0 ? <p className="muted">No agent is registered.</p> : null}
          <div className="pager">
            <button type="button" disabled={cursors.length === 0} onClick={() => setCursors((c) => c.slice(0, -1))}>Newer</button>
            <button type="button" disabled={!r.data.nextCursor} onClick={() => r.data?.nextCursor && setCursors((c) => [...c, r.data!.nextCursor!])}>Older</button>
          </div>
        </div>
      ) : null}
      <RegisterAgent allowed={isAdmin} onRegistered={r.reload} />
    </section>
  );
}

function attestation(a: Agent): string {
  const ways = [...(a.attestation.joinToken ? ['join token'] : []), ...a.attestation.oidc.map((o) => `OIDC ${o.issuer}`)];
  return ways.join(', ') || 'none';
}

/** A one-time join token, shown once: the server keeps only its hash. */
function JoinTokenButton({ agent, allowed }: { agent: string; allowed: boolean }) {
  const [token, setToken] = useState<{ token: string; expiresAtMs: number }>();
  const [error, setError] = useState<ApiError>();
  const now = useNow();
  const create = async () => {
    setError(undefined);
    try {
      setToken(await api.post<{ token: string; expiresAtMs: number }>(`/v1/agents/${encodeURIComponent(agent)}/join-tokens`, {}));
    } catch (err) {
      setError(err instanceof ApiError ? err : new ApiError(0, '', String(err)));
    }
  };
  if (token) {
    return (
      <div className="once" data-role="join-token">
        <label>
          Join token for {agent}, shown once
          <input readOnly value={token.token} data-field="join-token" onFocus={(e) => e.currentTarget.select()} />
        </label>
        <span className="muted small">{timeLeft(token.expiresAtMs, now).text}</span>
        <button type="button" onClick={() => setToken(undefined)}>Hide</button>
      </div>
    );
  }
  return (
    <>
      <button type="button" data-action="join-token" disabled={!allowed} title={allowed ? undefined : 'needs the admin role'} onClick={() => void create()} aria-label={`Create a join token for ${agent}`}>
        Create
      </button>
      <ErrorNote error={error} />
    </>
  );
}

function RegisterAgent({ allowed, onRegistered }: { allowed: boolean; onRegistered: () => void }) {
  const [name, setName] = useState('');
  const [groups, setGroups] = useState('');
  const [error, setError] = useState<ApiError>();
  const [done, setDone] = useState<string>();
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(undefined);
    setDone(undefined);
    try {
      const agent = await api.post<Agent>('/v1/agents', { name: name.trim(), groups: groups.split(',').map((g) => g.trim()).filter(Boolean) });
      setDone(`Registered ${agent.name} as ${agent.spiffeId}`);
      setName('');
      setGroups('');
      onRegistered();
    } catch (err) {
      setError(err instanceof ApiError ? err : new ApiError(0, '', String(err)));
    }
  };
  return (
    <section aria-labelledby="register-title" className="panel">
      <h2 id="register-title">Register an agent</h2>
      {allowed ? null : <p className="muted">Registering agents needs the admin role.</p>}
      <form className="inline-form" onSubmit={(e) => void submit(e)}>
        <label>
          Name
          <input name="name" required value={name} disabled={!allowed} onChange={(e) => setName(e.target.value)} />
        </label>
        <label>
          Groups (comma-separated)
          <input name="groups" value={groups} disabled={!allowed} onChange={(e) => setGroups(e.target.value)} />
        </label>
        <button type="submit" disabled={!allowed} data-action="register">Register</button>
      </form>
      {done ? <p role="status" data-role="registered">{done}</p> : null}
      <ErrorNote error={error} />
    </section>
  );
}
