import type { TokenEndpoint } from '../../console/index.js';

/** Largest token endpoint answer read: an id token and an access token, with room to spare. */
const MAX_ANSWER_BYTES = 64 * 1024;

/**
 * The code exchange over HTTP (RFC 6749 §4.1.3): a form POST with a 5 s timeout; the
 * client secret, when there is one, as HTTP Basic with both parts form-encoded (§2.3.1).
 * Redirects are not followed: a token endpoint that redirects is not answering.
 */
export const httpTokenEndpoint: TokenEndpoint = async (url, form, basic) => {
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' };
  if (basic) headers.authorization = `Basic ${Buffer.from(`${encodeURIComponent(basic.clientId)}:${encodeURIComponent(basic.clientSecret)}`).toString('base64')}`;
  const res = await fetch(url, { method: 'POST', headers, body: new URLSearchParams(form).toString(), redirect: 'manual', signal: AbortSignal.timeout(5000) });
  const text = await res.text();
  if (text.length > MAX_ANSWER_BYTES) return { status: res.status, body: undefined };
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status: res.status, body };
};
