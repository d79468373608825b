import { useId, useState, type ReactNode } from 'react';
import { ApiError } from './api';
import { visible } from './format';
import type { Outcome } from './types';

/** An API error as the API words it: its code and message, with what failed to load when given. */
export function ErrorNote({ error, what }: { error: ApiError | undefined; what?: string }) {
  if (!error) return null;
  return (
    <p className="error" role="alert" data-role="error" data-code={error.code}>
      {what ? `${what}: ` : ''}
      {error.code ? <code>{error.code}</code> : null}
      {error.code ? ': ' : ''}
      {visible(error.message)}
    </p>
  );
}

export function Loading({ when }: { when: boolean }) {
  return when ? <p className="muted" aria-live="polite">Loading…</p> : null;
}

export function OutcomeBadge({ outcome }: { outcome: string | undefined }) {
  const o = outcome ?? 'unknown';
  const label = o === 'step_up' ? 'step-up' : o;
  return <span className={`badge outcome-${o}`} data-outcome={o}>{label}</span>;
}

export function StatusBadge({ status }: { status: string }) {
  return <span className={`badge status-${status}`}>{status}</span>;
}

/** A definition list from label/value rows; values are text (never markup from the API). */
export function Fields({ rows }: { rows: [label: string, value: ReactNode, field?: string][] }) {
  return (
    <dl className="fields">
      {rows.map(([label, value, field]) => (
        <div key={label} className="field">
          <dt>{label}</dt>
          <dd data-field={field}>{typeof value === 'string' || typeof value === 'number' ? visible(value) : value}</dd>
        </div>
      ))}
    </dl>
  );
}

export interface ReasonAction {
  label: string;
  /** Marks the button for tests and styles: approve, deny, revoke, suspend, resume. */
  action: string;
  run: (reason: string) => Promise<unknown>;
  allowed: boolean;
  /** Why the button is disabled when `allowed` is false. */
  needs?: string;
}

/**
 * Actions that need a reason (approve, deny, revoke, suspend, resume): one text field, one
 * button per action, the API's error shown beside them. A person without the role sees
 * the buttons disabled with the role named, so nobody wonders where they went.
 */
export function ReasonActions({ actions, label = 'Reason', onDone, placeholder }: { actions: ReasonAction[]; label?: string; onDone?: (action: string) => void; placeholder?: string }) {
  const id = useId();
  const [reason, setReason] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError>();
  const anyAllowed = actions.some((a) => a.allowed);
  const run = async (a: ReasonAction) => {
    setBusy(true);
    setError(undefined);
    try {
      await a.run(reason.trim());
      setReason('');
      onDone?.(a.action);
    } catch (err) {
      setError(err instanceof ApiError ? err : new ApiError(0, '', String(err)));
    } finally {
      setBusy(false);
    }
  };
  const needs = actions.find((a) => !a.allowed)?.needs;
  return (
    <div className="reason-actions">
      <label htmlFor={id}>{label}</label>
      <textarea id={id} data-role="reason" rows={2} maxLength={1000} value={reason} disabled={!anyAllowed} placeholder={placeholder} onChange={(e) => setReason(e.target.value)} />
      <div className="actions">
        {actions.map((a) => (
          <button key={a.action} type="button" data-action={a.action} className={`action-${a.action}`} disabled={busy || !a.allowed} onClick={() => void run(a)}>
            {a.label}
          </button>
        ))}
        {needs ? <span className="muted">{needs}</span> : null}
      </div>
      <ErrorNote error={error} />
    </div>
  );
}

export function PageHeader({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <div className="page-header">
      <h1 id="page-title" tabIndex={-1}>{title}</h1>
      {children ? <div className="page-tools">{children}</div> : null}
    </div>
  );
}

/** A labelled text field of a filter form; the form reads it by name on submit. */
export function FilterField({ label, name, value }: { label: string; name: string; value: string | undefined }) {
  return (
    <label>
      {label}
      <input name={name} defaultValue={value} />
    </label>
  );
}
