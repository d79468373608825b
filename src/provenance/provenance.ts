import { resolveArg } from '../core/index.js';
import { createHash } from 'node:crypto';
import { keysOfValue } from './normalise.js';

/**
 * Where a target value came from, best first:
 * - `declared`: it satisfies a constraint the mandate states for that argument (the principal's own words);
 * - `trusted`: it appeared in a result of this task that is not labelled untrusted;
 * - `counterparty`: it names who wrote untrusted content (an e-mail's sender, a
 *   message's author) — a fine person to answer, not one to pay on their word;
 * - `untrusted`: it appeared only in content labelled untrusted (an e-mail, a web page);
 * - `unseen`: the task never saw it (the model produced it).
 */
export const PROVENANCES = ['declared', 'trusted', 'counterparty', 'untrusted', 'unseen'] as const;
export type Provenance = (typeof PROVENANCES)[number];

/** Where content came from, as far as the values in it go. */
export type SourceTrust = 'trusted' | 'counterparty' | 'untrusted';

/** A value seen in several places keeps the best of them. */
const TRUST_RANK: Record<SourceTrust, number> = { untrusted: 1, counterparty: 2, trusted: 3 };

/** Whether `trust` improves on what is known of a value (nothing known, or worse). */
export function betterTrust(trust: SourceTrust, before: SourceTrust | undefined): boolean {
  return before === undefined || TRUST_RANK[trust] > TRUST_RANK[before];
}

/** The values a task has seen: salted hashes of their keys, never the values. */
export type SeenValues = ReadonlyMap<string, SourceTrust>;

/** One target of a call, as the decision and the trail see it (no value, only where it came from). */
export interface TargetProvenance {
  /** The argument (dotted path) and, for a list, the element index. */
  arg: string;
  provenance: Provenance;
}

/**
 * The hash a value is kept under: salted with the task, so equal values in two
 * tasks do not correlate, and the store never holds the value itself.
 */
export function seenHash(salt: string, key: string): string {
  return createHash('sha256').update(salt).update('\0').update(key).digest('base64url').slice(0, 22);
}

/** Merges newly seen keys into what a task has seen; a better trust replaces a worse one, never the reverse. Returns the entries that changed. */
export function recordSeen(seen: Map<string, SourceTrust>, salt: string, keys: Iterable<string>, trust: SourceTrust, cap: number): [string, SourceTrust][] {
  const changed: [string, SourceTrust][] = [];
  for (const key of keys) {
    const hash = seenHash(salt, key);
    const before = seen.get(hash);
    if (!betterTrust(trust, before)) continue;
    // Past the cap nothing new is kept: later values stay `unseen`, which asks more, never less.
    if (before === undefined && seen.size >= cap) continue;
    seen.set(hash, trust);
    changed.push([hash, trust]);
  }
  return changed;
}

/**
 * The provenance of every target value of a call. `declared(arg)` says whether
 * the mandate pins that argument (the call has already passed its constraints).
 * A value that does not normalise (an object, an empty string) is `unseen`.
 */
export function targetsOf(targetArgs: readonly string[], args: Record<string, unknown>, declared: (arg: string) => boolean, seen: SeenValues, salt: string): TargetProvenance[] {
  const out: TargetProvenance[] = [];
  for (const arg of targetArgs) {
    // Read as the mandate's constraints read it; a path that cannot be reached names no value.
    const found = resolveArg(args, arg);
    const value = 'error' in found ? undefined : found.value;
    if (value === undefined || value === null) continue;
    const values = Array.isArray(value) ? value : [value];
    const pinned = declared(arg);
    values.slice(0, 1000).forEach((v, i) => {
      const name = Array.isArray(value) ? `${arg}[${i}]` : arg;
      if (pinned) return out.push({ arg: name, provenance: 'declared' });
      out.push({ arg: name, provenance: typeof v === 'string' || typeof v === 'number' ? seenProvenance(String(v), seen, salt) : 'unseen' });
    });
    // More elements than are looked at: the rest count as unseen.
    if (values.length > 1000) out.push({ arg: `${arg}[1000…]`, provenance: 'unseen' });
  }
  return out;
}

/**
 * What the task saw of one value. A URL goes where its host is: when the host is
 * trusted (the user's own site) so is the URL, whatever its query. Otherwise a URL
 * that carries a path or a query is what the task saw of it whole — a link followed
 * as it was written is `untrusted`, one the agent put together, with data of its
 * own in it, is `unseen`.
 */
function seenProvenance(raw: string, seen: SeenValues, salt: string): Provenance {
  const [key, whole] = keysOfValue(raw);
  if (key === undefined) return 'unseen';
  const trust = seen.get(seenHash(salt, key));
  if (whole === undefined || trust === 'trusted') return trust ?? 'unseen';
  return seen.get(seenHash(salt, whole)) ?? 'unseen';
}

/** Counts by provenance, as policy sees them (`context.call`). */
export function targetCounts(targets: readonly TargetProvenance[]): Record<Provenance, number> {
  const counts: Record<Provenance, number> = { declared: 0, trusted: 0, counterparty: 0, untrusted: 0, unseen: 0 };
  for (const t of targets) counts[t.provenance]++;
  return counts;
}
