import { CodedError, type ToolSpec, canonicalJson } from '../../core/index.js';

export const HTTP_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;
export type HttpMethod = (typeof HTTP_METHODS)[number];

/** Scalar types an OpenAPI document may declare for a path or query parameter. */
export type ParamType = 'integer' | 'number' | 'boolean';

export type Segment =
  | { kind: 'literal'; value: string }
  | { kind: 'param'; name: string }
  /** A segment mixing text and parameters, e.g. `{name}.json`. */
  | { kind: 'pattern'; regex: RegExp; names: string[] };

/** One REST operation exposed as an action: `spec.name` is `<upstream>.<tool>` in the catalog. */
export interface ApiAction {
  upstream: string;
  method: HttpMethod;
  /** The template as configured, e.g. `/invoices/{id}`. */
  path: string;
  segments: readonly Segment[];
  /** Declared types (OpenAPI only): canonical values such as `42` or `true` reach the decision as numbers and booleans. */
  pathTypes: Readonly<Record<string, ParamType>>;
  queryTypes: Readonly<Record<string, ParamType>>;
  spec: ToolSpec;
}

const PARAM_NAME = /^[A-Za-z_][A-Za-z0-9_.-]{0,127}$/;

/**
 * Compiles a path template (`/invoices/{id}`, `/files/{name}.json`). Returns the
 * segments and a shape that is equal for templates matching the same requests,
 * or a message saying what is wrong with the template.
 */
export function compileRoutePattern(path: string): { segments: Segment[]; shape: string } | string {
  if (!path.startsWith('/')) return 'a path starts with `/`';
  if (/[?#\s]/.test(path)) return 'a path has no query, fragment or whitespace';
  if (path === '/') return { segments: [], shape: '/' };
  if (path.endsWith('/')) return 'a path does not end with `/`';
  const segments: Segment[] = [];
  const shapes: string[] = [];
  const names = new Set<string>();
  for (const raw of path.slice(1).split('/')) {
    if (raw === '') return 'a path has no empty segments';
    const parts = raw.split(/(\{[^{}]*\})/).filter((p) => p !== '');
    const params: string[] = [];
    let source = '';
    let literalText = '';
    let shape = '';
    let previousWasParam = false;
    for (const part of parts) {
      if (part.startsWith('{')) {
        const name = part.slice(1, -1);
        if (!PARAM_NAME.test(name)) return `\`${part}\` is not a valid parameter name`;
        if (names.has(name)) return `parameter \`${name}\` appears twice`;
        if (previousWasParam) return `\`${raw}\`: two parameters need text between them`;
        names.add(name);
        params.push(name);
        source += '(.+?)';
        shape += '{}';
        previousWasParam = true;
      } else {
        if (/[{}]/.test(part)) return `\`${raw}\` has an unbalanced brace`;
        let literal: string;
        try {
          literal = decodeURIComponent(part);
        } catch {
          return `\`${raw}\` is not valid percent-encoding`;
        }
        if (literal === '.' || literal === '..' || literal.includes('/')) return `\`${raw}\` is not a plain segment`;
        source += escapeRegExp(literal);
        literalText += literal;
        shape += encodeURIComponent(literal);
        previousWasParam = false;
      }
    }
    if (params.length === 0) segments.push({ kind: 'literal', value: literalText });
    else if (parts.length === 1) segments.push({ kind: 'param', name: params[0]! });
    else segments.push({ kind: 'pattern', regex: new RegExp(`^${source}$`, 'su'), names: params });
    shapes.push(shape);
  }
  return { segments, shape: `/${shapes.join('/')}` };
}

/** A request path split into decoded segments, the path to forward, and the query. */
export interface ProxiedPath {
  segments: string[];
  /** Re-encoded from the decoded segments: the upstream sees exactly the segments that were matched. */
  forwardPath: string;
  query: URLSearchParams;
}

/**
 * Parses what follows `/proxy/<upstream>`. Refuses what an upstream could
 * resolve to a different resource than the one decided: `.`/`..` segments
 * (also `..;` for servers that drop matrix parameters), encoded or back
 * slashes, double-encoded dots and slashes, control characters.
 * Errors: request.invalid.
 */
export function parseProxyPath(rest: string): ProxiedPath {
  if (rest.includes('#')) throw new CodedError('request.invalid', 'a request path has no fragment');
  const q = rest.indexOf('?');
  const pathPart = q === -1 ? rest : rest.slice(0, q);
  const query = new URLSearchParams(q === -1 ? '' : rest.slice(q + 1));
  if (pathPart === '' || pathPart === '/') return { segments: [], forwardPath: '/', query };
  if (!pathPart.startsWith('/')) throw new CodedError('request.invalid', 'the proxied path must start with `/`');
  const segments = pathPart
    .slice(1)
    .split('/')
    .map((raw) => {
      if (raw.includes('\\')) throw traversal();
      let decoded: string;
      try {
        decoded = decodeURIComponent(raw);
      } catch {
        throw new CodedError('request.invalid', 'the request path is not valid percent-encoding');
      }
      const bare = decoded.split(';')[0]!;
      if (bare === '.' || bare === '..' || /[/\\]/.test(decoded) || /%(?:2e|2f|5c|00)/i.test(decoded)) throw traversal();
      // eslint-disable-next-line no-control-regex
      if (/[\u0000-\u001f\u007f]/.test(decoded)) throw new CodedError('request.invalid', 'the request path holds control characters');
      return decoded;
    });
  return { segments, forwardPath: `/${segments.map(encodePathSegment).join('/')}`, query };
}

function traversal(): CodedError {
  return new CodedError('request.invalid', 'the request path may not hold `.` or `..` segments, encoded slashes or backslashes');
}

/** Percent-encodes one segment, leaving the characters RFC 3986 allows in a path segment as they are. */
export function encodePathSegment(segment: string): string {
  return encodeURIComponent(segment).replace(/%(3A|40|24|26|2B|2C|3B|3D)/g, (m) => decodeURIComponent(m));
}

/** The first action (most specific first) for this method and path, with its path parameters. */
export function matchRoute(actions: readonly ApiAction[], method: string, segments: readonly string[]): { action: ApiAction; pathParams: Record<string, string> } | undefined {
  for (const action of actions) {
    if (action.method !== method || action.segments.length !== segments.length) continue;
    const params = matchSegments(action.segments, segments);
    if (params) return { action, pathParams: params };
  }
  return undefined;
}

function matchSegments(pattern: readonly Segment[], segments: readonly string[]): Record<string, string> | undefined {
  const entries: [string, string][] = [];
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i]!;
    const s = segments[i]!;
    switch (p.kind) {
      case 'literal':
        if (p.value !== s) return undefined;
        break;
      case 'param':
        if (s === '') return undefined;
        entries.push([p.name, s]);
        break;
      case 'pattern': {
        const m = p.regex.exec(s);
        if (!m) return undefined;
        p.names.forEach((name, j) => entries.push([name, m[j + 1]!]));
        break;
      }
    }
  }
  return Object.fromEntries(entries);
}

/**
 * The call's arguments as the decision sees them: top-level fields of a JSON
 * (or form) body, query parameters and path parameters. A name given in two
 * places must carry the same value there (`request.invalid` otherwise): the
 * decision sees one value, and an upstream that reads the other copy would act
 * on something never decided. A repeated query parameter becomes an array, so a
 * scalar constraint on it fails closed.
 */
export function callArguments(
  action: Pick<ApiAction, 'pathTypes' | 'queryTypes'>,
  pathParams: Record<string, string>,
  query: URLSearchParams,
  body: Record<string, unknown> | undefined,
): Record<string, unknown> {
  const sources: [string, Record<string, unknown>][] = [
    ['body', body ?? {}],
    ['query', paramsToArgs(query, action.queryTypes)],
    ['path', Object.fromEntries(Object.entries(pathParams).map(([name, value]) => [name, coerce(value, action.pathTypes[name])]))],
  ];
  const merged = new Map<string, { value: unknown; from: string }>();
  for (const [from, values] of sources) {
    for (const [name, value] of Object.entries(values)) {
      const seen = merged.get(name);
      // The decision sees one value per name; an upstream might read another copy. Two different copies are refused.
      if (seen && canonicalJson(seen.value) !== canonicalJson(value)) {
        throw new CodedError('request.invalid', `argument \`${name}\` is given in the ${seen.from} and the ${from} with different values`);
      }
      merged.set(name, { value, from });
    }
  }
  // Object.fromEntries defines own properties: a `__proto__` field stays a field.
  return Object.fromEntries([...merged].map(([name, { value }]) => [name, value]));
}

/** URL-encoded pairs as arguments: one value stays a scalar, a repeated name becomes an array. */
export function paramsToArgs(params: URLSearchParams, types: Readonly<Record<string, ParamType>> = {}): Record<string, unknown> {
  const entries: [string, unknown][] = [];
  for (const name of new Set(params.keys())) {
    const values = params.getAll(name).map((v) => coerce(v, types[name]));
    entries.push([name, values.length === 1 ? values[0] : values]);
  }
  return Object.fromEntries(entries);
}

/** Only canonical spellings convert (`42`, not `042` or `4.2e1`), so the decided value is the one the upstream reads. */
export function coerce(value: string, type: ParamType | undefined): string | number | boolean {
  switch (type) {
    case 'integer':
      return /^-?(0|[1-9]\d{0,15})$/.test(value) && Number.isSafeInteger(Number(value)) ? Number(value) : value;
    case 'number':
      return /^-?(0|[1-9]\d{0,15})(\.\d{1,15})?$/.test(value) ? Number(value) : value;
    case 'boolean':
      return value === 'true' ? true : value === 'false' ? false : value;
    case undefined:
      return value;
  }
}

/** The query as forwarded: re-serialized from what was decided, spaces as `%20`. */
export function serializeQuery(query: URLSearchParams): string {
  return query.toString().replace(/\+/g, '%20');
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Splits a raw request URL `/proxy/<upstream><rest>` without decoding: an
 * upstream name spelled with percent-escapes names no upstream.
 */
export function splitProxyUrl(rawUrl: string): { upstream: string; rest: string } {
  const m = /^\/proxy\/([^/?#]*)(.*)$/s.exec(rawUrl);
  return m ? { upstream: m[1]!, rest: m[2]! } : { upstream: '', rest: rawUrl };
}
