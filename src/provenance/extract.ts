import { keyOfTarget, keysOfValue, normaliseEmail, normaliseHost, normaliseIban, normalisePhone, normaliseText, urlKey, urlKeys } from './normalise.js';

/** Bounds on the work one result may cause. */
export interface ExtractLimits {
  /** Characters scanned; the rest of a larger result is not (its values stay `unseen`). */
  maxChars: number;
  /** Distinct values kept from one result. */
  maxValues: number;
}

export const DEFAULT_EXTRACT_LIMITS: ExtractLimits = { maxChars: 4 * 1024 * 1024, maxValues: 4096 };

/**
 * Candidate finders, generous on purpose: every candidate is then validated by its
 * normaliser. Two sets: ASCII patterns for ASCII text (most results, and several
 * times faster), Unicode ones when the text has anything else (IDN addresses,
 * full-width look-alikes) so nothing is missed there.
 */
interface Finders {
  email: RegExp;
  url: RegExp;
  iban: RegExp;
  phone: RegExp;
  host: RegExp;
  /** Identifiers: account numbers, handles, channel names, order ids — a token with a digit or a sigil. */
  ident: RegExp;
}
const ASCII_FINDERS: Finders = {
  email: /(?:mailto:)?[A-Za-z0-9._%+'-]{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,63}\.?/g,
  url: /\b(?:https?|ftp|wss?):\/\/[^\s"'<>()[\]{}\\]{1,2048}/gi,
  iban: /\b[A-Z]{2}[0-9]{2}(?:[ ]?[A-Z0-9]{4}){2,7}(?:[ ]?[A-Z0-9]{1,4})?\b/g,
  phone: /\+?\b[0-9][0-9 ().\-/]{6,22}[0-9]\b/g,
  host: /\b[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.[A-Za-z]{2,63}\b/g,
  ident: /[#@][\w.:-]{2,63}|\b(?=[\w.:-]{0,63}[0-9])\w[\w.:-]{2,63}/g,
};
const UNICODE_FINDERS: Finders = {
  email: /(?:mailto:)?[\p{L}\p{N}._%+'-]{1,64}@[\p{L}\p{N}.-]{1,253}\.[\p{L}]{2,63}\.?/gu,
  url: /\b(?:https?|ftp|wss?):\/\/[^\s"'<>()[\]{}\\]{1,2048}/giu,
  iban: /\b[A-Z]{2}[0-9]{2}(?:[ ]?[A-Z0-9]{4}){2,7}(?:[ ]?[A-Z0-9]{1,4})?\b/gu,
  phone: /(?:\+|\b)[0-9][0-9 ().\-/]{6,22}[0-9]\b/gu,
  host: /\b(?:[\p{L}\p{N}](?:[\p{L}\p{N}-]{0,61}[\p{L}\p{N}])?\.)+[\p{L}]{2,63}\b/gu,
  ident: /[#@][\p{L}\p{N}_.:-]{2,63}|(?<![\p{L}\p{N}_])(?=[\p{L}\p{N}_.:-]{0,63}[0-9])[\p{L}\p{N}_][\p{L}\p{N}_.:-]{2,63}/gu,
};
const NON_ASCII = /[^\x00-\x7f]/;

/** Characters of an address's local part and of its domain, by char code (ASCII only). */
const LOCAL_CHAR = charTable("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._%+'-");
const DOMAIN_CHAR = charTable('abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-');

function charTable(chars: string): Uint8Array {
  const table = new Uint8Array(128);
  for (const c of chars) table[c.charCodeAt(0)] = 1;
  return table;
}

/**
 * The target values a piece of content names, as normalised keys: e-mail
 * addresses, IBANs, hosts (of URLs and bare domains), phone numbers, and
 * identifier-like tokens. Structured content (JSON) contributes every string
 * and number it holds, whole, as well as what is found inside them.
 */
export function extractKeys(content: unknown, limits: ExtractLimits = DEFAULT_EXTRACT_LIMITS): Set<string> {
  const out = new Set<string>();
  let budget = limits.maxChars;
  const add = (key: string | null) => {
    if (key !== null && out.size < limits.maxValues) out.add(key);
  };
  const full = () => out.size >= limits.maxValues;
  /** Each distinct candidate is normalised once, and scanning stops as soon as the cap is reached. */
  const each = (t: string, re: RegExp, normalise: (raw: string) => string | null) => {
    const tried = new Set<string>();
    for (const m of t.matchAll(re)) {
      if (full()) return;
      if (tried.has(m[0])) continue;
      tried.add(m[0]);
      add(normalise(m[0]));
    }
  };
  /**
   * E-mail addresses in ASCII text, found from each `@` outwards: a pattern that
   * starts at every character costs a scan of up to 64 characters at each one.
   */
  const eachAround = (t: string, at: string, normalise: (raw: string) => string | null) => {
    const tried = new Set<string>();
    for (let i = t.indexOf(at); i !== -1 && !full(); i = t.indexOf(at, i + 1)) {
      let start = i;
      while (start > 0 && i - start < 64 && LOCAL_CHAR[t.charCodeAt(start - 1)] === 1) start--;
      let end = i + 1;
      while (end < t.length && end - i <= 253 && DOMAIN_CHAR[t.charCodeAt(end)] === 1) end++;
      if (start === i || end === i + 1) continue;
      const raw = t.slice(start, end);
      if (tried.has(raw)) continue;
      tried.add(raw);
      add(normalise(raw));
    }
  };
  const scanText = (text: string) => {
    if (budget <= 0 || full()) return;
    const t = text.length > budget ? text.slice(0, budget) : text;
    budget -= t.length;
    const f = NON_ASCII.test(t) ? UNICODE_FINDERS : ASCII_FINDERS;
    // Cheap checks first: most text has no `@`, no `://`.
    if (t.includes('@')) {
      if (f === ASCII_FINDERS) eachAround(t, '@', normaliseEmail);
      else each(t, f.email, normaliseEmail);
    }
    if (t.includes('://')) {
      // A link is known by its host and, as it was written, whole (without the punctuation that ends a sentence).
      each(t, f.url, (raw) => {
        const bare = raw.replace(/[.,;:!?]+$/, '');
        const keys = urlKeys(raw);
        add(keys.host);
        return bare === raw ? keys.whole : urlKey(bare);
      });
    }
    each(t, f.iban, normaliseIban);
    each(t, f.phone, normalisePhone);
    if (t.includes('.')) each(t, f.host, normaliseHost);
    each(t, f.ident, (raw) => normaliseText(raw.replace(/[.:-]+$/, '')));
  };
  walk(content, {
    // A whole short string inside structure is a value in its own right (a name, a channel, an account).
    text: (value, inStructure) => {
      if (inStructure && value.length <= 128) for (const key of keysOfValue(value)) add(key);
      scanText(value);
    },
    // Object keys are text too (an address may be a key); scanned, never whole values.
    key: (k) => (scanText(k), false),
    number: (n) => add(normaliseText(String(n))),
    done: () => budget <= 0 || full(),
  });
  return out;
}

function tryJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/**
 * The values under the given fields of a structured result (`from`, `sender`,
 * `user`), wherever they sit in it, JSON inside text included: who wrote the
 * content, as opposed to what the content says. Field names compare case-blind.
 */
export function extractCounterparties(content: unknown, fields: readonly string[], limits: ExtractLimits = DEFAULT_EXTRACT_LIMITS): Set<string> {
  const out = new Set<string>();
  if (fields.length === 0) return out;
  const wanted = new Set(fields.map((f) => f.toLowerCase()));
  let visited = 0;
  walk(content, {
    key: (k, v) => {
      if (!wanted.has(k.toLowerCase()) || (typeof v !== 'string' && typeof v !== 'number')) return false;
      // "Bob Smith <bob@example.com>": the address inside, and the whole as written.
      for (const key of extractKeys(String(v), { maxChars: 1024, maxValues: 8 })) out.add(key);
      const whole = keyOfTarget(String(v));
      if (whole !== null) out.add(whole);
      return true;
    },
    done: () => out.size >= limits.maxValues || visited++ >= 100_000,
    maxJsonChars: limits.maxChars,
  });
  return out;
}

/**
 * A structured result in two parts: the values under the named fields, wherever
 * they sit (JSON inside text included; field names compare case-blind), and the
 * result without them. Used for fields other people write in an otherwise trusted
 * result (an event's description): each part is then extracted with its own trust.
 */
export function splitFields(content: unknown, fields: readonly string[]): { rest: unknown; taken: unknown[] } {
  const taken: unknown[] = [];
  if (fields.length === 0) return { rest: content, taken };
  const wanted = new Set(fields.map((f) => f.toLowerCase()));
  const copy = (value: unknown, depth: number): unknown => {
    if (depth >= MAX_DEPTH) return undefined;
    if (typeof value === 'string') {
      const parsed = /^\s*[[{]/.test(value) ? tryJson(value) : undefined;
      return parsed === undefined ? value : copy(parsed, depth + 1);
    }
    if (Array.isArray(value)) return value.map((v) => copy(v, depth + 1));
    if (value === null || typeof value !== 'object') return value;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      if (wanted.has(k.toLowerCase())) taken.push(v);
      else out[k] = copy(v, depth + 1);
    }
    return out;
  };
  return { rest: copy(content, 0), taken };
}

/** How deep a result is walked: a deeply nested one cannot exhaust the stack or the time. */
const MAX_DEPTH = 32;

interface Visitor {
  /** A string that is not JSON text; `inStructure` when it sits inside an object or a list. */
  text?(value: string, inStructure: boolean): void;
  number?(value: number): void;
  /** An object entry, before its value is walked; true when the visitor took it (its value is then not walked). */
  key?(key: string, value: unknown): boolean;
  /** Checked before each node: true stops the walk. */
  done(): boolean;
  /** Longest string tried as JSON text. */
  maxJsonChars?: number;
}

/**
 * Walks a result iteratively, depth-bounded: strings, numbers and object entries
 * in document order. Tools often return JSON as text: such a string is walked as
 * its structure, once, instead of also as text.
 */
function walk(content: unknown, v: Visitor): void {
  const stack: { value: unknown; depth: number }[] = [{ value: content, depth: 0 }];
  while (stack.length > 0 && !v.done()) {
    const { value, depth } = stack.pop()!;
    if (typeof value === 'string') {
      const parsed = depth < MAX_DEPTH && value.length <= (v.maxJsonChars ?? Infinity) && /^\s*[[{]/.test(value) ? tryJson(value) : undefined;
      if (parsed !== undefined) stack.push({ value: parsed, depth: depth + 1 });
      else v.text?.(value, depth > 0);
    } else if (typeof value === 'number' && Number.isFinite(value)) {
      v.number?.(value);
    } else if (value !== null && typeof value === 'object' && depth < MAX_DEPTH) {
      // Pushed in reverse, so they come off the stack in document order.
      const children = Array.isArray(value) ? value : Object.entries(value as Record<string, unknown>).flatMap(([k, child]) => (v.key?.(k, child) ? [] : [child]));
      for (let i = children.length - 1; i >= 0; i--) stack.push({ value: children[i], depth: depth + 1 });
    }
  }
}
