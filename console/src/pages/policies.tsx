import { useState, type FormEvent } from 'react';
import { ApiError, api } from '../api';
import { ErrorNote, Fields, Loading, OutcomeBadge, PageHeader } from '../components';
import { visible } from '../format';
import { useResource } from '../hooks';
import type { PolicySet } from '../types';

export function PoliciesPage() {
  const r = useResource(() => api.get<PolicySet>('/v1/policies'), 'policies');
  const p = r.data;
  const files = (p?.files ?? []).map((f) => (typeof f === 'string' ? { name: f, text: undefined } : f));
  const validated = p ? (p.validation ? p.validation.ok : p.version > 0 && files.length > 0) : false;
  return (
    <section aria-labelledby="page-title">
      <PageHeader title="Policies" />
      <ErrorNote error={r.error} />
      <Loading when={r.loading && !p} />
      {p ? (
        <div className="columns">
          <section className="panel" aria-labelledby="set-title">
            <h2 id="set-title">The ceiling being served</h2>
            <Fields
              rows={[
                ['Version', p.version, 'version'],
                ['Source', p.source === 'store' ? 'the store (every replica serves this version)' : 'a directory on this replica', 'source'],
                ['Hash', <code>{p.hash}</code>, 'hash'],
                ['Files', files.length, 'file-count'],
                ['Validation', validated ? 'validated against the schema before it was installed' : 'no policy loaded: every call is denied', 'validation'],
              ]}
            />
            {p.validation?.errors?.length ? <ul className="error">{p.validation.errors.map((e) => <li key={e}>{visible(e)}</li>)}</ul> : null}
          </section>
          <section className="panel wide" aria-labelledby="files-title">
            <h2 id="files-title">Files</h2>
            {files.map((f) => (
              <details key={f.name} className="policy-file" data-file={f.name}>
                <summary><code>{f.name}</code></summary>
                {f.text === undefined ? <p className="muted small">The text of the policies is not served by this server.</p> : <pre tabIndex={0}>{f.text}</pre>}
              </details>
            ))}
          </section>
        </div>
      ) : null}
      <WhatIf />
    </section>
  );
}

interface WhatIfAnswer {
  outcome?: string;
  reason?: { code: string; message: string };
  reasons?: { code: string; message: string }[];
  layer?: string;
  policies?: (string | { id: string; file?: string; text?: string; line?: number })[];
}

/** Asks how a call would be decided, with no effect: nothing counted, nothing recorded. */
function WhatIf() {
  const [task, setTask] = useState('');
  const [tool, setTool] = useState('');
  const [args, setArgs] = useState('{}');
  const [answer, setAnswer] = useState<WhatIfAnswer>();
  const [error, setError] = useState<ApiError>();
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(undefined);
    setAnswer(undefined);
    let parsed: unknown;
    try {
      parsed = JSON.parse(args || '{}');
    } catch {
      setError(new ApiError(0, 'request.invalid', 'arguments: not valid JSON'));
      return;
    }
    try {
      setAnswer(await api.post<WhatIfAnswer>('/v1/what-if', { ...(task.trim() ? { task: task.trim() } : {}), tool: tool.trim(), args: parsed }));
    } catch (err) {
      setError(err instanceof ApiError ? err : new ApiError(0, '', String(err)));
    }
  };
  const reasons = answer ? (answer.reasons ?? (answer.reason ? [answer.reason] : [])) : [];
  return (
    <section className="panel" aria-labelledby="whatif-title">
      <h2 id="whatif-title">What if</h2>
      <p className="muted">How would this call be decided now? Nothing is counted or recorded.</p>
      <form className="whatif" onSubmit={(e) => void submit(e)}>
        <label>
          Task (optional)
          <input name="task" value={task} onChange={(e) => setTask(e.target.value)} placeholder="tsk_…" />
        </label>
        <label>
          Tool
          <input name="tool" required value={tool} onChange={(e) => setTool(e.target.value)} placeholder="files.read" />
        </label>
        <label className="wide">
          Arguments (JSON)
          <textarea name="args" rows={4} value={args} onChange={(e) => setArgs(e.target.value)} spellCheck={false} />
        </label>
        <button type="submit" data-action="what-if">Ask</button>
      </form>
      <ErrorNote error={error} what="what-if" />
      {answer ? (
        <div className="whatif-answer" role="status" data-role="what-if-answer" data-outcome={answer.outcome}>
          <p>
            <OutcomeBadge outcome={answer.outcome} /> {answer.layer ? <span className="muted">decided by the {answer.layer} layer</span> : null}
          </p>
          <ul>{reasons.map((r) => <li key={r.code + r.message}><code>{r.code}</code> {visible(r.message)}</li>)}</ul>
          {answer.policies?.length ? (
            <>
              <h3>Determining policies</h3>
              {answer.policies.map((p) =>
                typeof p === 'string' ? (
                  <p key={p}><code>{p}</code></p>
                ) : (
                  <div key={p.id}>
                    <p><code>{p.id}</code> <span className="muted small">{p.file}{p.line ? `:${p.line}` : ''}</span></p>
                    {p.text ? <pre tabIndex={0}>{p.text}</pre> : null}
                  </div>
                ),
              )}
            </>
          ) : null}
        </div>
      ) : null}
    </section>
  );
}
