// Every call to the control plane goes through here: same-origin cookies (the console session),
// the CSRF token on unsafe methods, and the API's `{ code, message }` errors as ApiError.

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

let csrfToken = '';
/** Set once the session is read; unsafe methods send it back in `x-csrf-token`. */
export function useCsrfToken(token: string): void {
  csrfToken = token;
}

/** The API's error body is `{ error: { code, message } }`; a bare `{ code, message }` is read too. */
function errorOf(status: number, body: unknown): ApiError {
  const b = (body ?? {}) as { error?: { code?: unknown; message?: unknown }; code?: unknown; message?: unknown };
  const e = b.error && typeof b.error === 'object' ? b.error : b;
  const code = typeof e.code === 'string' ? e.code : '';
  const message = typeof e.message === 'string' && e.message ? e.message : `the server answered HTTP ${status}`;
  return new ApiError(status, code, message);
}

async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && method !== 'HEAD' && csrfToken) headers['x-csrf-token'] = csrfToken;
  let res: Response;
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: 'same-origin', cache: 'no-store' });
  } catch (err) {
    throw new ApiError(0, '', `the control plane did not answer (${err instanceof Error ? err.message : 'network error'})`);
  }
  const text = await res.text();
  let parsed: unknown = undefined;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  if (!res.ok) throw errorOf(res.status, parsed);
  return parsed as T;
}

export const api = {
  get: <T>(path: string) => call<T>('GET', path),
  post: <T>(path: string, body: unknown = {}) => call<T>('POST', path, body),
};

/** A query string from the defined, non-empty values only. */
export function query(params: Record<string, string | number | undefined | null>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}
