/**
 * Values that name a target — where a message, a payment or a request goes —
 * normalised so that two spellings of the same target compare equal, and two
 * different targets never do. Each normalised value is a key `<kind>:<value>`.
 *
 * What is folded: letter case where the kind is case-insensitive (e-mail, host,
 * IBAN), Unicode compatibility forms (NFKC: full-width letters, ligatures),
 * `mailto:`, spaces inside an IBAN or phone number, percent-encoding, a trailing
 * dot on a host, default ports. What is not: look-alike letters from another
 * script (Cyrillic `а` is not Latin `a`) — they name a different target, and an
 * attacker who uses one gets a value the task has not seen.
 */

export const VALUE_KINDS = ['email', 'iban', 'host', 'phone', 'text'] as const;
export type ValueKind = (typeof VALUE_KINDS)[number];

/** Longest value considered: anything longer is not a target anyone types. */
export const MAX_VALUE_LENGTH = 512;

const EMAIL = /^[^\s@<>()[\]\\,;:"]{1,64}@[^\s@<>()[\]\\,;:"]{1,253}$/u;
const IBAN = /^[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}$/;
const HOST = /^(?=.{1,253}$)(?:[\p{L}\p{N}](?:[\p{L}\p{N}-]{0,61}[\p{L}\p{N}])?\.)+[\p{L}]{2,63}$/u;

const ASCII = /^[\x00-\x7f]*$/;

/** NFKC, which is the identity on ASCII: skipped there, as most values are. */
function fold(value: string): string {
  return (ASCII.test(value) ? value : value.normalize('NFKC')).trim();
}

export function normaliseEmail(raw: string): string | null {
  let v = fold(raw).replace(/^mailto:/i, '');
  const q = v.indexOf('?');
  if (q !== -1) v = v.slice(0, q);
  v = safeDecode(v).toLowerCase().replace(/\.+$/, '');
  if (!EMAIL.test(v)) return null;
  const at = v.lastIndexOf('@');
  const host = normaliseHost(v.slice(at + 1));
  return host ? `email:${v.slice(0, at)}@${host.slice('host:'.length)}` : null;
}

/** A valid IBAN (ISO 13616 check digits), spaces and case folded. */
export function normaliseIban(raw: string): string | null {
  const v = fold(raw).replace(/[\s-]/g, '').toUpperCase();
  if (!IBAN.test(v) || !ibanChecksumOk(v)) return null;
  return `iban:${v}`;
}

export function normaliseHost(raw: string): string | null {
  const v = fold(raw).toLowerCase().replace(/\.+$/, '');
  return HOST.test(v) ? `host:${v}` : null;
}

const SCHEME = /^[a-z][a-z0-9+.-]*:\/\//i;

/** The host a URL (or a bare `host/path`) points at: a URL's target is where it goes, whatever its path and query carry. */
export function hostOfUrl(raw: string): string | null {
  const url = parseUrl(fold(raw));
  return url && hostOf(url);
}

/**
 * A URL as a whole, for a URL that carries something past its host (a path or a
 * query): `url:<scheme>//<host><path><query>`, host folded as a host is, the rest
 * percent-decoded, the fragment dropped. Null for a URL that is only its host,
 * and for anything that is not a URL. Whether an agent followed a link as it was
 * written, or put one together with data of its own in it, is told by this key.
 */
export function urlKey(raw: string): string | null {
  return urlKeys(raw).whole;
}

/** A URL's host key and its whole key (`hostOfUrl`, `urlKey`) from one parse. */
export function urlKeys(raw: string): { host: string | null; whole: string | null } {
  const v = fold(raw);
  const url = parseUrl(v);
  const host = url && hostOf(url);
  if (url === null || host === null || !SCHEME.test(v) || (url.pathname === '/' && url.search === '')) return { host, whole: null };
  return { host, whole: `url:${url.protocol}//${host.slice('host:'.length)}${url.port ? `:${url.port}` : ''}${safeDecode(url.pathname + url.search)}` };
}

/** A URL, or a bare `host/path` read as https. */
function parseUrl(v: string): URL | null {
  try {
    return new URL(SCHEME.test(v) ? v : `https://${v}`);
  } catch {
    return null;
  }
}

function hostOf(url: URL): string | null {
  if (url.protocol !== 'http:' && url.protocol !== 'https:' && url.protocol !== 'ftp:' && url.protocol !== 'ws:' && url.protocol !== 'wss:') return null;
  // URL gives IDNs back as punycode; the host is compared as Unicode text elsewhere, so decode what the parser can.
  return normaliseHost(safeDecode(url.hostname));
}

/** Digits with a leading `+` when there is one; at least 7 digits. */
export function normalisePhone(raw: string): string | null {
  const v = fold(raw).replace(/^tel:/i, '');
  if (!/^\+?[0-9 ().\-/]{7,24}$/.test(v)) return null;
  const digits = v.replace(/[^0-9]/g, '');
  if (digits.length < 7 || digits.length > 15) return null;
  return `phone:${v.startsWith('+') ? '+' : ''}${digits}`;
}

/** Any other value: case and inner whitespace folded. */
export function normaliseText(raw: string): string | null {
  const v = fold(raw).toLowerCase().replace(/\s+/g, ' ');
  return v.length === 0 || v.length > MAX_VALUE_LENGTH ? null : `text:${v}`;
}

/**
 * The key of one target value: the most specific kind it parses as. A URL
 * becomes its host; a value that is none of the kinds is compared as text.
 */
export function keyOfTarget(raw: string): string | null {
  if (raw.length > MAX_VALUE_LENGTH * 4) return null;
  const v = fold(raw);
  if (/^mailto:/i.test(v) || (v.includes('@') && !v.includes('/'))) {
    const email = normaliseEmail(v);
    if (email) return email;
  }
  if (SCHEME.test(v)) return hostOfUrl(v);
  if (/^tel:/i.test(v)) return normalisePhone(v);
  return normaliseIban(v) ?? normaliseHost(v) ?? normalisePhone(v) ?? normaliseText(v);
}

/** Every key a value is known by: its target key and, for a URL with a path or a query, the whole URL's. */
export function keysOfValue(raw: string): string[] {
  // Where keyOfTarget takes a value for a URL (its host), one parse gives both keys.
  const v = raw.length <= MAX_VALUE_LENGTH * 4 ? fold(raw) : '';
  if (SCHEME.test(v) && !/^mailto:/i.test(v)) {
    const { host, whole } = urlKeys(raw);
    return [host, whole].filter((k): k is string => k !== null);
  }
  const key = keyOfTarget(raw);
  return key === null ? [] : [key];
}

function safeDecode(v: string): string {
  try {
    return decodeURIComponent(v);
  } catch {
    return v;
  }
}

function ibanChecksumOk(iban: string): boolean {
  const moved = iban.slice(4) + iban.slice(0, 4);
  let rest = 0;
  for (const ch of moved) {
    const code = ch.charCodeAt(0);
    const digits = code >= 65 ? String(code - 55) : ch;
    for (const d of digits) rest = (rest * 10 + (d.charCodeAt(0) - 48)) % 97;
  }
  return rest === 1;
}
