// The operator console for pending step-up requests: one self-contained page (inline CSS and
// script, no external resources, no build step) over the /v1 approvals API. Everything an
// agent controls (arguments, purpose, names) reaches the DOM through textContent only, and
// the CSP allows nothing but this response's own script and style, so a hostile argument
// cannot run script in an approver's browser.

/** A CSP nonce as the route handler generates it: base64 of at least 16 random bytes. */
const NONCE = /^[A-Za-z0-9+/]{22,}={0,2}$/;

function checkNonce(nonce: string): string {
  if (!NONCE.test(nonce)) throw new TypeError('approvals page: the nonce must be base64 of at least 16 random bytes');
  return nonce;
}

/** The response headers of the page: a CSP that admits only this response's inline script and style, no framing. */
export function approvalsPageHeaders(nonce: string): Record<string, string> {
  const n = checkNonce(nonce);
  return {
    'content-type': 'text/html; charset=utf-8',
    'content-security-policy': [
      "default-src 'none'",
      `script-src 'nonce-${n}'`,
      `style-src 'nonce-${n}'`,
      "connect-src 'self'",
      "base-uri 'none'",
      "form-action 'none'",
      "frame-ancestors 'none'",
    ].join('; '),
    'x-frame-options': 'DENY',
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    // The page is the same for everyone, but a cached copy would carry a stale nonce.
    'cache-control': 'no-store',
  };
}

/** The HTML of the pending-approvals console; `nonce` must be the one in the response's CSP. */
export function approvalsPage(nonce: string): string {
  const n = checkNonce(nonce);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>Mandate · pending approvals</title>
<style nonce="${n}">${STYLE}</style>
</head>
<body>
<header class="top">
  <h1>Pending approvals</h1>
  <p class="sub">Mandate console · each request is bound to one task, one tool and these exact arguments</p>
</header>
<main>
  <form id="token-form" autocomplete="off">
    <label for="token">Approver token</label>
    <input id="token" name="token" type="password" autocomplete="off" spellcheck="false" placeholder="mapr_…">
    <button id="token-submit" type="submit">Show requests</button>
    <button id="token-forget" type="button">Forget token</button>
  </form>
  <p class="note">The token is kept in this tab only (session storage) and sent as a bearer token to this server.</p>
  <div class="bar">
    <button id="refresh" type="button" disabled>Refresh</button>
    <span id="count" data-count=""></span>
    <span id="updated"></span>
  </div>
  <p id="list-error" class="error" role="alert" hidden></p>
  <p id="last-decision" role="status" hidden></p>
  <p id="empty" hidden>No pending approvals.</p>
  <section id="approvals" aria-label="pending approvals"></section>
</main>
<script nonce="${n}">${SCRIPT}</script>
</body>
</html>
`;
}

const STYLE = `
:root { color-scheme: light; --fg: #1b1f24; --muted: #5b6570; --line: #d5dae0; --bg: #f6f7f9; --card: #fff; --ok: #1a7f37; --bad: #b42318; --accent: #0b5cad; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: var(--bg); }
.top { padding: 16px 24px; background: #fff; border-bottom: 1px solid var(--line); }
h1 { margin: 0; font-size: 20px; }
.sub, .note { margin: 4px 0 0; color: var(--muted); font-size: 13px; }
main { max-width: 980px; margin: 0 auto; padding: 16px 24px 48px; }
#token-form { display: flex; gap: 8px; align-items: center; flex-wrap: wrap; }
#token-form label { font-weight: 600; }
#token { flex: 1 1 280px; padding: 6px 8px; border: 1px solid var(--line); border-radius: 4px; font: inherit; }
button { font: inherit; padding: 6px 14px; border: 1px solid var(--line); border-radius: 4px; background: #fff; cursor: pointer; }
button:disabled { opacity: .5; cursor: default; }
.bar { display: flex; gap: 12px; align-items: center; margin: 16px 0 8px; color: var(--muted); font-size: 13px; }
.error { color: var(--bad); background: #fdecea; border: 1px solid #f5c2c0; border-radius: 4px; padding: 6px 10px; margin: 8px 0; white-space: pre-wrap; overflow-wrap: anywhere; }
.error code { font-weight: 600; }
#last-decision { background: #eef6ff; border: 1px solid #c7dcf5; border-radius: 4px; padding: 6px 10px; overflow-wrap: anywhere; }
#empty { color: var(--muted); }
.approval { background: var(--card); border: 1px solid var(--line); border-radius: 6px; padding: 14px 16px; margin: 12px 0; }
.approval > header { display: flex; justify-content: space-between; gap: 12px; align-items: baseline; }
.approval h2 { margin: 0; font-size: 17px; overflow-wrap: anywhere; }
.approval h2 code { font-size: 17px; }
.expires { font-size: 13px; color: var(--muted); white-space: nowrap; }
.expires.soon { color: var(--bad); font-weight: 600; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 2px 14px; margin: 10px 0; }
dt { color: var(--muted); }
dd { margin: 0; overflow-wrap: anywhere; }
h3 { font-size: 13px; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); margin: 12px 0 4px; }
pre { margin: 0; padding: 10px; background: #f3f4f6; border: 1px solid var(--line); border-radius: 4px; overflow: auto; max-height: 320px; font: 13px/1.4 ui-monospace, SFMono-Regular, Menlo, monospace; white-space: pre-wrap; overflow-wrap: anywhere; }
code { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 13px; }
.hash { margin: 4px 0 0; font-size: 12px; color: var(--muted); overflow-wrap: anywhere; }
.verdict { margin-top: 12px; }
.verdict label { display: block; font-weight: 600; margin-bottom: 4px; }
.verdict textarea { width: 100%; padding: 6px 8px; border: 1px solid var(--line); border-radius: 4px; font: inherit; resize: vertical; }
.actions { display: flex; gap: 8px; margin-top: 8px; }
button[data-action="approve"] { border-color: var(--ok); color: var(--ok); }
button[data-action="deny"] { border-color: var(--bad); color: var(--bad); }
`;

// Plain ES2020 in the browser: no framework, no innerHTML, every value set with textContent.
const SCRIPT = `
(() => {
  'use strict';
  const TOKEN_KEY = 'mandate.approverToken';
  const REFRESH_MS = 15000;
  const byId = (id) => document.getElementById(id);
  const form = byId('token-form');
  const input = byId('token');
  const forget = byId('token-forget');
  const refresh = byId('refresh');
  const count = byId('count');
  const updated = byId('updated');
  const listError = byId('list-error');
  const lastDecision = byId('last-decision');
  const empty = byId('empty');
  const list = byId('approvals');
  /** id -> { node, approval, reason, buttons, error, expires } */
  const cards = new Map();
  let skewMs = 0; // the server's clock minus ours, from the Date header, so "time left" is the server's
  let loadSeq = 0;

  const token = () => sessionStorage.getItem(TOKEN_KEY);

  // Control and bidirectional-override characters can make text read differently from what it is
  // (a recipient that displays reversed); show them as escapes so the approver sees the exact value.
  // Tab and line feed stay: the pretty-printed arguments are laid out with them.
  const INVISIBLE = /[\\u0000-\\u0008\\u000b-\\u001f\\u007f-\\u009f\\u00ad\\u061c\\u180e\\u200b-\\u200f\\u2028-\\u202e\\u2060-\\u2069\\ufeff]/g;
  const visible = (s) => String(s).replace(INVISIBLE, (c) => '\\\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'));

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === 'text') node.textContent = visible(v);
      else if (k === 'class') node.className = v;
      else node.setAttribute(k, v);
    }
    for (const c of children) node.append(c);
    return node;
  }

  function showError(target, error) {
    target.replaceChildren();
    if (error.code) target.append(el('code', { 'data-role': 'code', text: error.code }), ': ');
    target.append(visible(error.message));
    target.dataset.code = error.code || '';
    target.hidden = false;
  }
  function hideError(target) {
    target.hidden = true;
    target.replaceChildren();
    target.dataset.code = '';
  }

  /** One call to the API; errors come back as the API's { code, message }. */
  async function api(method, path, body) {
    const headers = { authorization: 'Bearer ' + (token() || '') };
    if (body !== undefined) headers['content-type'] = 'application/json';
    let res;
    try {
      res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: 'no-store', credentials: 'omit' });
    } catch (err) {
      return { ok: false, error: { code: '', message: 'the control plane did not answer (' + (err && err.message ? err.message : 'network error') + ')' } };
    }
    const date = Date.parse(res.headers.get('date') || '');
    if (!Number.isNaN(date)) skewMs = date - Date.now();
    let data = null;
    try { data = await res.json(); } catch { data = null; }
    if (res.ok) return { ok: true, data };
    const e = data && data.error;
    if (e && typeof e.code === 'string') return { ok: false, status: res.status, error: { code: e.code, message: String(e.message || '') } };
    return { ok: false, status: res.status, error: { code: '', message: 'HTTP ' + res.status } };
  }

  function timeLeft(expiresAtMs) {
    const ms = expiresAtMs - (Date.now() + skewMs);
    if (ms <= 0) return { text: 'expired', soon: true, expired: true };
    const s = Math.floor(ms / 1000);
    const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
    const text = (h ? h + 'h ' : '') + (h || m ? m + 'm ' : '') + sec + 's left';
    return { text, soon: ms < 60000, expired: false };
  }

  function tick() {
    for (const c of cards.values()) {
      const t = timeLeft(c.approval.expiresAtMs);
      c.expires.textContent = t.text;
      c.expires.classList.toggle('soon', t.soon);
      c.expires.dataset.expired = String(t.expired);
      if (t.expired) for (const b of c.buttons) b.disabled = true;
    }
  }

  function card(a) {
    const reason = el('textarea', { 'data-role': 'reason', rows: '2', maxlength: '1000', placeholder: 'why you approve or deny this exact call' });
    const approve = el('button', { type: 'button', 'data-action': 'approve', text: 'Approve' });
    const deny = el('button', { type: 'button', 'data-action': 'deny', text: 'Deny' });
    const error = el('p', { class: 'error', role: 'alert', 'data-role': 'error', hidden: '' });
    const expires = el('span', { class: 'expires', 'data-field': 'expires' });
    const uses = a.usesLeft === 1 ? '1 call' : a.usesLeft + ' calls';
    const row = (label, field, value) => [el('dt', { text: label }), el('dd', { 'data-field': field, text: value })];
    const node = el('article', { class: 'approval', 'data-approval-id': a.id, 'data-tool': a.tool },
      el('header', {}, el('h2', {}, el('code', { 'data-field': 'tool', text: a.tool })), expires),
      el('dl', {},
        ...row('Request', 'id', a.id),
        ...row('Agent', 'agent', a.agentName),
        ...row('On behalf of', 'principal', a.principal == null ? '—' : a.principal),
        ...row('Purpose', 'purpose', a.purpose),
        ...row('Policies', 'policies', (a.policies || []).join(', ') || '—'),
        ...row('Approvers', 'approvers', (a.approvers || []).join(', ') || '—'),
        ...row('Allows', 'uses', uses + (a.windowSeconds ? ' within ' + a.windowSeconds + 's of approval' : '')),
        ...row('Task', 'task', a.taskId),
        ...row('Requested', 'created', new Date(a.createdAtMs).toLocaleString())),
      el('h3', { text: 'Arguments' }),
      el('pre', { 'data-field': 'args', text: JSON.stringify(a.args, null, 2) }),
      el('p', { class: 'hash' }, 'sha256 ', el('code', { 'data-field': 'args-hash', text: a.argsHash })),
      el('div', { class: 'verdict' },
        el('label', {}, 'Reason', reason),
        el('div', { class: 'actions' }, approve, deny),
        error));
    const c = { node, approval: a, reason, buttons: [approve, deny], error, expires };
    approve.addEventListener('click', () => decide(c, 'approve'));
    deny.addEventListener('click', () => decide(c, 'deny'));
    return c;
  }

  function clearList() {
    cards.clear();
    list.replaceChildren();
    empty.hidden = true;
    count.textContent = '';
    count.dataset.count = '';
    updated.textContent = '';
  }

  /** Shows the pending requests, keeping the cards already shown (and any reason being typed). */
  function render(approvals) {
    const pending = approvals.filter((a) => a.status === 'pending');
    const ids = new Set(pending.map((a) => a.id));
    for (const [id, c] of cards) if (!ids.has(id)) { c.node.remove(); cards.delete(id); }
    let prev = null;
    for (const a of pending) {
      let c = cards.get(a.id);
      if (!c) { c = card(a); cards.set(a.id, c); }
      const at = prev ? prev.nextSibling : list.firstChild;
      if (at !== c.node) list.insertBefore(c.node, at);
      prev = c.node;
    }
    empty.hidden = pending.length > 0;
    count.textContent = pending.length + ' pending';
    count.dataset.count = String(pending.length);
    updated.textContent = 'updated ' + new Date().toLocaleTimeString();
    tick();
  }

  async function load() {
    if (!token()) { refresh.disabled = true; return; }
    refresh.disabled = false;
    const seq = ++loadSeq;
    const r = await api('GET', '/v1/approvals?status=pending&limit=200');
    if (seq !== loadSeq) return; // a newer load is under way
    if (!r.ok) {
      showError(listError, r.error);
      if (r.status === 401) { sessionStorage.removeItem(TOKEN_KEY); refresh.disabled = true; clearList(); }
      return;
    }
    hideError(listError);
    render(r.data.approvals || []);
  }

  async function decide(c, verdict) {
    const a = c.approval;
    for (const b of c.buttons) b.disabled = true;
    hideError(c.error);
    const r = await api('POST', '/v1/approvals/' + encodeURIComponent(a.id) + '/' + verdict, { reason: c.reason.value });
    if (!r.ok) {
      showError(c.error, r.error);
      for (const b of c.buttons) b.disabled = false;
      tick();
      return;
    }
    const d = r.data;
    lastDecision.textContent = visible(d.id + ' (' + d.tool + ') ' + d.status + ' by ' + d.decidedBy + ': ' + d.reason);
    lastDecision.dataset.decidedId = d.id;
    lastDecision.dataset.status = d.status;
    lastDecision.hidden = false;
    c.node.remove();
    cards.delete(a.id);
    await load();
  }

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const value = input.value.trim();
    input.value = '';
    hideError(listError);
    clearList();
    if (!value) { sessionStorage.removeItem(TOKEN_KEY); showError(listError, { code: '', message: 'enter an approver token' }); return; }
    sessionStorage.setItem(TOKEN_KEY, value);
    load();
  });
  forget.addEventListener('click', () => {
    sessionStorage.removeItem(TOKEN_KEY);
    input.value = '';
    hideError(listError);
    lastDecision.hidden = true;
    clearList();
    refresh.disabled = true;
  });
  refresh.addEventListener('click', () => load());
  setInterval(tick, 1000);
  setInterval(() => { if (document.visibilityState === 'visible' && token()) load(); }, REFRESH_MS);
  document.documentElement.dataset.ready = 'true';
  load();
})();
`;
