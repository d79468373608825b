import { ERROR_CODES, type ErrorCode } from '../core/index.js';

/** A thin admin/agent HTTP client for the CLI: errors print their code and message. */
export class CliApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: ErrorCode,
    message: string,
  ) {
    super(`${code}: ${message}`);
  }
}

export async function api<T>(url: string, path: string, init: { method?: string; token?: string; body?: unknown } = {}): Promise<T> {
  let res: Response;
  try {
    res = await fetch(`${url.replace(/\/$/, '')}${path}`, {
      method: init.method ?? 'GET',
      headers: { ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}), ...(init.token ? { authorization: `Bearer ${init.token}` } : {}) },
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
    });
  } catch (err) {
    throw new CliApiError(0, 'request.unreachable', `cannot reach the control plane at ${url}: ${(err as Error).message}`);
  }
  const text = await res.text();
  const body = text ? (JSON.parse(text) as unknown) : undefined;
  if (!res.ok) {
    const e = (body as { error?: { code: string; message: string } })?.error;
    // A code this CLI does not know (a newer server) is reported as it came, and exits as an error.
    const code = e && e.code in ERROR_CODES ? (e.code as ErrorCode) : 'internal.error';
    throw new CliApiError(res.status, code, e ? `${e.code === code ? '' : `${e.code}: `}${e.message}` : `HTTP ${res.status}`);
  }
  return body as T;
}
