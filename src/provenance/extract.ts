import { hostOfUrl, keyOfTarget, normaliseEmail, normaliseHost, normaliseIban, normalisePhone, normaliseText } from './normalise.js';

/** Bounds on the work one result may cause. */
export interface ExtractLimits {
  /** Characters scanned; the rest of a larger result is not (its values stay `unseen`). */
  maxChars: number;
  /** Distinct values kept from one result. */
  maxValues: number;
}

export const DEFAULT_EXTRACT_LIMITS: ExtractLimits = { maxChars: 4 * 1024 * 1024, maxValues: 4096 };

// Candidate finders: generous on purpose, every candidate is then validated by its normaliser.
const EMAIL = /(?:mailto:)?[\p{L}\p{N}._%+'-]{1,64}@[\p{L}\p{N}.-]{1,253}\.[\p{L}]{2,63}\.?/gu;
const URL_RE = /\b(?:https?|ftp|wss?):\/\/[^\s"'<>()\[\]{}\\]{1,2048}/giu;
const IBAN = /\b[A-Z]{2}[0-9]{2}(?:[ ]?[A-Z0-9]{4}){2,7}(?:[ ]?[A-Z0-9]{1,4})?\b/gu;
const PHONE = /(?:\+|\b)[0-9][0-9 ().\-/]{6,22}[0-9]\b/gu;
const HOST = /\b(?:[\p{L}\p{N}](?:[\p{L}\p{N}-]{0,61}[\p{L}\p{N}])?\.)+[\p{L}]{2,63}\b/gu;
/** Identifiers: account numbers, handles, channel names, order ids — a token with a digit or a sigil. */
const IDENT = /[#@]?[\p{L}\p{N}][\p{L}\p{N}_.:-]{2,63}/gu;

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
  const scanText = (text: string) => {
    if (budget <= 0 || out.size >= limits.maxValues) return;
    const t = text.length > budget ? text.slice(0, budget) : text;
    budget -= t.length;
    for (const m of t.matchAll(EMAIL)) add(normaliseEmail(m[0]));
    for (const m of t.matchAll(URL_RE)) add(hostOfUrl(m[0]));
    for (const m of t.matchAll(IBAN)) add(normaliseIban(m[0]));
    for (const m of t.matchAll(PHONE)) add(normalisePhone(m[0]));
    for (const m of t.matchAll(HOST)) add(normaliseHost(m[0]));
    for (const m of t.matchAll(IDENT)) if (/[0-9#@_]/.test(m[0])) add(normaliseText(m[0].replace(/[.:-]+$/, '')));
  };
  // Iterative walk with a depth bound: a deeply nested result cannot exhaust the stack.
  const stack: { value: unknown; depth: number }[] = [{ value: content, depth: 0 }];
  while (stack.length > 0 && budget > 0 && out.size < limits.maxValues) {
    const { value, depth } = stack.pop()!;
    if (typeof value === 'string') {
      // Tools often return JSON as text: read its structure too.
      const parsed = depth < 32 && /^\s*[[{]/.test(value) ? tryJson(value) : undefined;
      if (parsed !== undefined) stack.push({ value: parsed, depth: depth + 1 });
      // A whole short string is a value in its own right (a name, a channel, an account).
      if (value.length <= 128 && depth > 0) add(keyOfTarget(value));
      scanText(value);
    } else if (typeof value === 'number' && Number.isFinite(value)) {
      add(normaliseText(String(value)));
    } else if (value !== null && typeof value === 'object' && depth < 32) {
      const items = Array.isArray(value) ? value : Object.values(value as Record<string, unknown>);
      for (let i = items.length - 1; i >= 0; i--) stack.push({ value: items[i], depth: depth + 1 });
    }
  }
  return out;
}

function tryJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
