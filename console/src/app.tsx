import { useEffect, useRef, useState } from 'react';
import { ApiError, api, useCsrfToken } from './api';
import { ErrorNote } from './components';
import { Link, useLocation, type Location } from './router';
import { SessionContext, signInUrl } from './session';
import type { Session } from './types';
import { AgentsPage } from './pages/agents';
import { ApprovalsPage } from './pages/approvals';
import { CompliancePage } from './pages/compliance';
import { DecisionPage, DecisionsPage } from './pages/decisions';
import { OverviewPage } from './pages/overview';
import { PoliciesPage } from './pages/policies';
import { TaskPage, TasksPage } from './pages/tasks';
import { TrailPage } from './pages/trail';

const NAV: { to: string; label: string }[] = [
  { to: '/', label: 'Overview' },
  { to: '/agents', label: 'Agents' },
  { to: '/tasks', label: 'Tasks' },
  { to: '/decisions', label: 'Decisions' },
  { to: '/approvals', label: 'Approvals' },
  { to: '/policies', label: 'Policies' },
  { to: '/compliance', label: 'Compliance' },
];

type SessionState = { kind: 'loading' } | { kind: 'signed-in'; session: Session } | { kind: 'signed-out'; error?: ApiError };

export function App() {
  const [state, setState] = useState<SessionState>({ kind: 'loading' });
  const loc = useLocation();

  const readSession = async () => {
    try {
      const session = await api.get<Session>('/console/api/session');
      useCsrfToken(session.csrfToken);
      setState({ kind: 'signed-in', session });
    } catch (err) {
      const e = err instanceof ApiError ? err : new ApiError(0, '', String(err));
      // 401 is the ordinary signed-out answer; anything else is worth showing.
      setState({ kind: 'signed-out', ...(e.status === 401 ? {} : { error: e }) });
    }
  };
  useEffect(() => {
    void readSession();
  }, []);

  // The session ends on the server's clock; come back to the sign-in when it does.
  const expiresAtMs = state.kind === 'signed-in' ? state.session.expiresAtMs : undefined;
  useEffect(() => {
    if (expiresAtMs === undefined) return;
    const timer = setTimeout(() => void readSession(), Math.max(1000, Math.min(expiresAtMs - Date.now() + 1000, 2 ** 31 - 1)));
    return () => clearTimeout(timer);
  }, [expiresAtMs]);

  const signOut = async () => {
    try {
      await api.post('/console/logout');
    } finally {
      useCsrfToken('');
      setState({ kind: 'signed-out' });
    }
  };

  const returnPath = `${window.location.pathname}${window.location.search}`;
  return (
    <div className="shell" data-session={state.kind}>
      <a className="skip" href="#main">Skip to content</a>
      <header className="top" role="banner">
        <span className="brand">Mandate console</span>
        {state.kind === 'signed-in' ? (
          <nav aria-label="Console pages">
            <ul>
              {NAV.map((n) => (
                <li key={n.to}>
                  <Link to={n.to} aria-current={isCurrent(loc, n.to) ? 'page' : undefined}>
                    {n.label}
                  </Link>
                </li>
              ))}
            </ul>
          </nav>
        ) : null}
        {state.kind === 'signed-in' ? (
          <div className="who">
            <span data-role="who" title={`${state.session.subject} · ${state.session.issuer}`}>
              {state.session.name || state.session.email || state.session.subject}
            </span>
            <span className="muted" data-role="roles">{state.session.roles.join(', ') || 'no role'}</span>
            <button type="button" onClick={() => void signOut()}>Sign out</button>
          </div>
        ) : null}
      </header>
      <main id="main" tabIndex={-1}>
        {state.kind === 'loading' ? <p className="muted">Loading…</p> : null}
        {state.kind === 'signed-out' ? <SignedOut error={state.error} returnPath={returnPath} /> : null}
        {state.kind === 'signed-in' ? (
          <SessionContext.Provider value={state.session}>
            <Page loc={loc} />
          </SessionContext.Provider>
        ) : null}
      </main>
    </div>
  );
}

function isCurrent(loc: Location, to: string): boolean {
  return to === '/' ? loc.path === '/' : loc.path === to || loc.path.startsWith(`${to}/`);
}

function SignedOut({ error, returnPath }: { error?: ApiError; returnPath: string }) {
  return (
    <section className="signed-out" aria-labelledby="signed-out-title">
      <h1 id="signed-out-title">Sign in</h1>
      <p>The console shows agents, tasks, decisions and approvals to people signed in through your identity provider.</p>
      <ErrorNote error={error} />
      {/* A plain link: the sign-in leaves the console for the identity provider and comes back here. */}
      <a className="button primary" href={signInUrl(returnPath)} data-role="sign-in">
        Sign in
      </a>
    </section>
  );
}

function Page({ loc }: { loc: Location }) {
  const focus = useRef<string>('');
  // A page change moves focus to the new page's heading, as a full page load would for a screen reader.
  useEffect(() => {
    if (focus.current && focus.current !== loc.path) document.querySelector<HTMLElement>('main h1')?.focus();
    focus.current = loc.path;
  }, [loc.path]);

  const parts = loc.path.split('/').filter(Boolean).map(decodeURIComponent);
  const [section, id, sub] = parts;
  let title = 'Overview';
  let page;
  switch (section) {
    case undefined:
      page = <OverviewPage />;
      break;
    case 'agents':
      title = 'Agents';
      page = <AgentsPage />;
      break;
    case 'tasks':
      title = id ? `Task ${id}` : 'Tasks';
      page = id ? (sub === 'trail' ? <TrailPage taskId={id} /> : <TaskPage id={id} />) : <TasksPage params={loc.params} />;
      if (sub === 'trail') title = `Trail of ${id}`;
      break;
    case 'decisions':
      title = id ? `Decision ${id}` : 'Decisions';
      page = id ? <DecisionPage id={id} /> : <DecisionsPage params={loc.params} />;
      break;
    case 'approvals':
      title = 'Approvals';
      page = <ApprovalsPage />;
      break;
    case 'policies':
      title = 'Policies';
      page = <PoliciesPage />;
      break;
    case 'compliance':
      title = 'Compliance';
      page = <CompliancePage />;
      break;
    default:
      title = 'Not found';
      page = (
        <section>
          <h1 tabIndex={-1}>Not found</h1>
          <p>
            There is no console page at <code>{loc.path}</code>. <Link to="/">Go to the overview</Link>.
          </p>
        </section>
      );
  }
  useEffect(() => {
    document.title = `${title} · Mandate console`;
  }, [title]);
  return <div key={loc.path}>{page}</div>;
}
