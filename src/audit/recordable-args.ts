import { canonicalJson } from '../core/index.js';

const MASK = '[redacted]';

/** Larger arguments are left to `argsHash`: a record stays a record, not a copy of a payload. */
export const MAX_RECORDED_ARGS_BYTES = 16_384;

/** Field names that hold secrets, at any depth (`password`, `apiKey`, `client_secret`, `Authorization`, `accessToken`…). */
const SECRET_NAME = /pass(word|phrase)?|secret|token|api[-_]?key|auth(orization)?$|credential|private[-_]?key|cookie|session/i;

/** Values that are credentials whatever their field is called: JWTs, PEM private keys, bearer and basic headers. */
const SECRET_VALUE = [/^eyJ[\w-]*\.eyJ[\w-]*\.[\w-]*$/, /-----BEGIN [A-Z ]*PRIVATE KEY-----/, /^(bearer|basic)\s+\S{8,}/i];

/**
 * A call's arguments as `audit.arguments: values` keeps them: every field whose
 * name says it is a secret, and every value that is a credential, replaced by
 * `[redacted]`, at any depth. Arguments whose canonical JSON is larger than
 * MAX_RECORDED_ARGS_BYTES are kept as `"[omitted: <n> bytes]"`.
 */
export function recordableArgs(args: Record<string, unknown>): Record<string, unknown> | string {
  const masked = mask(args) as Record<string, unknown>;
  const bytes = Buffer.byteLength(canonicalJson(masked));
  return bytes > MAX_RECORDED_ARGS_BYTES ? `[omitted: ${bytes} bytes]` : masked;
}

function mask(v: unknown): unknown {
  if (typeof v === 'string') return SECRET_VALUE.some((re) => re.test(v)) ? MASK : v;
  if (Array.isArray(v)) return v.map(mask);
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, inner] of Object.entries(v)) out[k] = SECRET_NAME.test(k) ? MASK : mask(inner);
    return out;
  }
  return v;
}
