// Control and bidirectional-override characters can make text read differently from what it is
// (a recipient that displays reversed): show them as escapes so a person sees the exact value.
const INVISIBLE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/g;

export function visible(value: unknown): string {
  return String(value).replace(INVISIBLE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

export function json(value: unknown): string {
  return visible(JSON.stringify(value, null, 2));
}

export function dateTime(ms: number | null | undefined): string {
  return typeof ms === 'number' ? new Date(ms).toLocaleString() : '—';
}

export function time(ms: number): string {
  return new Date(ms).toLocaleTimeString();
}

/** "4m 10s left", "expired" */
export function timeLeft(expiresAtMs: number, nowMs: number): { text: string; soon: boolean; expired: boolean } {
  const ms = expiresAtMs - nowMs;
  if (ms <= 0) return { text: 'expired', soon: true, expired: true };
  const s = Math.floor(ms / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const text = `${h ? `${h}h ` : ''}${h || m ? `${m}m ` : ''}${s % 60}s left`;
  return { text, soon: ms < 60_000, expired: false };
}

/** "12s ago", "3m ago" */
export function ago(ms: number | null | undefined, nowMs: number): string {
  if (typeof ms !== 'number') return 'never';
  const s = Math.max(0, Math.round((nowMs - ms) / 1000));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h ago`;
  return `${Math.floor(s / 86_400)}d ago`;
}
