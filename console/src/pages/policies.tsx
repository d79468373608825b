import { useState, type FormEvent } from 'react';
import { ApiError, api } from '../api';
import { ErrorNote, Fields, Loading, OutcomeBadge, PageHeader } from '../components';
import { visible } from '../format';
import { useResource } from '../hooks';
import type { PolicySet, WhatIfAnswer } from '../types';

export function PoliciesPage() {
  const r = useResource(() => api.get<PolicySet>('/v1/policies'), 'policies');
  const p = r.data;
  const files = p?.files ?? [];
  // A set is installed only once it validates against the schema; none loaded denies every call.
  const validated = p ? p.version > 0 && files.length > 0 : false;
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
          </section>
          <section className="panel wide" aria-labelledby="files-title">
            <h2 id="files-title">Files</h2>
            <ul>
              {files.map((f) => (
                <li key={f} className="policy-file" data-file={f}><code>{f}</code></li>
              ))}
            </ul>
            <p className="muted small">A decision shows the text of the policies that decided it.</p>
          </section>
        </div>
      ) : null}
      <WhatIf />
    </section>
  );
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
      <ErrorNote error={error} />
      {answer ? (
        <div className="whatif-answer" role="status" data-role="what-if-answer" data-outcome={answer.outcome}>
          <p>
            <OutcomeBadge outcome={answer.outcome} /> <span className="muted">decided by the {answer.layer} layer</span>
          </p>
          <p data-field="what-if-reason"><code>{answer.reason.code}</code> {visible(answer.reason.message)}</p>
          {answer.stepUp.length ? <p>A person would be asked: {answer.stepUp.map(visible).join(', ')}</p> : null}
          {answer.policies.length ? (
            <>
              <h3>Determining policies</h3>
              {answer.policies.map((p) => (
                <div key={p.id} data-policy={p.id}>
                  <p><code>{p.id}</code> {p.file ? <span className="muted small">{p.file}{p.line ? `:${p.line}` : ''}</span> : null}</p>
                  {p.text ? <pre tabIndex={0}>{p.text}</pre> : null}
                </div>
              ))}
              {answer.sourceUnavailable ? <p className="muted small">Some policies are shown by id only: their version is no longer served.</p> : null}
            </>
          ) : null}
        </div>
      ) : null}
    </section>
  );
}
