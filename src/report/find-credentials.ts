/** Where the configuration names credentials: brokered by reference, or written in clear. */
export interface CredentialsInConfig {
  /** `{ secret: "<name>" }` references, by the key path that holds each. */
  references: { name: string; path: string }[];
  /** Key paths whose value is a credential written in the file itself. */
  literals: string[];
}

/** Header or variable names that carry a credential (`Authorization`, `GITHUB_TOKEN`, `x-api-key`, `DB_PASSWORD`). */
const CREDENTIAL_NAME = /(authorization|cookie|token|secret|passw(or)?d|passphrase|api[-_]?key|access[-_]?key|private[-_]?key|credentials?)$/i;

/**
 * Walks the whole configuration for credentials: every brokered-secret reference,
 * and every credential written in clear — a webhook `secret` given as text, an
 * upstream's header or environment variable whose name says it carries one. A
 * credential in the file is readable by whoever reads the file, is not rotated with
 * `mandate secret set`, and never shows in the trail when it is used.
 */
export function findCredentials(config: unknown): CredentialsInConfig {
  const found: CredentialsInConfig = { references: [], literals: [] };
  walk(config, [], found);
  found.references.sort((a, b) => a.path.localeCompare(b.path));
  found.literals.sort();
  return found;
}

function walk(value: unknown, path: string[], found: CredentialsInConfig): void {
  if (value === null || typeof value !== 'object') return;
  if (Array.isArray(value)) {
    value.forEach((v, i) => walk(v, [...path, String(i)], found));
    return;
  }
  const entries = Object.entries(value);
  const ref = asReference(value);
  if (ref !== undefined) {
    found.references.push({ name: ref, path: path.join('.') });
    return;
  }
  const parent = path[path.length - 1];
  for (const [key, v] of entries) {
    const at = [...path, key];
    if (typeof v === 'string' && v !== '' && isCredentialSlot(parent, key)) found.literals.push(at.join('.'));
    else walk(v, at, found);
  }
}

/** A key whose string value is a credential: a webhook's `secret`, or a credential-named header or variable. */
function isCredentialSlot(parent: string | undefined, key: string): boolean {
  if (key === 'secret') return true;
  return (parent === 'headers' || parent === 'env') && CREDENTIAL_NAME.test(key);
}

/** `{ secret: "name" }` or `{ secret: "name", prefix: "Bearer " }`: a reference, not a value. */
function asReference(value: object): string | undefined {
  const keys = Object.keys(value);
  const secret = (value as { secret?: unknown }).secret;
  if (typeof secret !== 'string' || !keys.every((k) => k === 'secret' || k === 'prefix')) return undefined;
  return secret;
}
