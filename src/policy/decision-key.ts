import type { PolicyJson } from '@cedar-policy/cedar-wasm/nodejs';
import { Lru, TOOL_KINDS } from '../core/index.js';
import type { CedarEntity, CedarRequest } from './model.js';

/**
 * The decision key of a policy set: a function from a request to a short string
 * holding exactly the facts of the request the policies can read, so that two
 * requests with the same key get the same answer from Cedar and the answer can
 * be kept. Derived from the policies' JSON form, conservatively:
 *
 * - a comparison of a request value with a literal (`context.call.unseenTargets > 0`,
 *   `resource.risk == "critical"`, `labels.contains("untrusted")`, `like "/etc/*"`,
 *   `has`, `hasTag`, `isEmpty`) contributes only its result, so a task's growing
 *   history or a new file path does not make a new key when no policy tells them apart;
 * - any other use of a request value contributes the whole value;
 * - `principal` and `resource` used as entities contribute their uid and ancestors;
 * - the action is always part of the key.
 *
 * A construct the analysis does not understand (a template slot, an attribute of an
 * entity named by a literal) turns keying off for the whole set: `keyerFor` returns
 * null. A request whose read values hold an entity reference or an extension value
 * gets no key (undefined) and is decided by Cedar.
 */
export type Keyer = (req: CedarRequest) => string | undefined;

type Root = 'principal' | 'resource' | 'context';
type Primitive = string | number | boolean;
export type LikePart = { literal: string } | 'wildcard';

/** A value of the request: a root, an optional tag of that entity, and attributes below it. */
interface Path {
  root: Root;
  tag?: string;
  attrs: string[];
}

type Feature =
  | { kind: 'value'; path: Path }
  | { kind: 'present'; path: Path }
  | { kind: 'contains'; path: Path; item: Primitive }
  | { kind: 'empty'; path: Path }
  | { kind: 'compare'; path: Path; op: '<' | '<=' | '>' | '>='; value: number }
  | { kind: 'equals'; path: Path; value: Primitive }
  | { kind: 'like'; path: Path; pattern: LikePart[] }
  | { kind: 'entity'; root: 'principal' | 'resource' };

class Unsupported extends Error {}
/** Thrown while keying a request whose values cannot be keyed; that request goes to Cedar. */
class NoKey extends Error {}

const ABSENT = Symbol('absent');
const SEP = '\u0001';
const FLIP = { '<': '>', '<=': '>=', '>': '<', '>=': '<=' } as const;
/** Expression forms whose children are visited as they are. */
const PASS_THROUGH = new Set(['&&', '||', '+', '-', '*', 'in', '!', 'neg']);

/** The keyer for a policy set, or null when some policy uses a construct the analysis does not understand. */
export function keyerFor(policies: readonly PolicyJson[]): Keyer | null {
  const index = new Map<string, number>();
  const features: Feature[] = [];
  let sliced: PolicySlice[];
  try {
    sliced = policies.map((p, i) => {
      const mine = new Set<number>();
      analysePolicy(p, (f) => {
        const id = JSON.stringify(f);
        let n = index.get(id);
        if (n === undefined) {
          n = features.length;
          features.push(f);
          index.set(id, n);
        }
        mine.add(n);
      });
      return { index: i, ...scopeOf(p), features: [...mine] };
    });
  } catch (err) {
    if (err instanceof Unsupported) return null;
    throw err;
  }
  const compiled = features.map(compileFeature);
  const bySlice = new Lru<string, { matched: string; features: ((view: RequestView) => string)[] }>(MAX_SLICES);
  /** The policies whose scope can match this action and resource, and what they read. */
  const sliceOf = (action: string, resource: string) => {
    const at = `${action}\u0000${resource}`;
    let slice = bySlice.get(at);
    if (slice === undefined) {
      const matching = sliced.filter((p) => p.actions(action) && (p.resource === undefined || p.resource === resource));
      const wanted = [...new Set(matching.flatMap((p) => p.features))].sort((a, b) => a - b);
      slice = { matched: matching.map((p) => p.index).join(','), features: wanted.map((n) => compiled[n]!) };
      bySlice.set(at, slice);
    }
    return slice;
  };
  return (req) => {
    try {
      const view = new RequestView(req);
      const slice = sliceOf(req.action.id, `${req.resource.type}::${req.resource.id}`);
      // Which policies applied is part of the key: two slices may read equal-looking facts.
      let key = `${req.action.type}::${req.action.id}${SEP}${slice.matched}`;
      for (const f of slice.features) key += SEP + f(view);
      return key;
    } catch (err) {
      if (err instanceof NoKey) return undefined;
      throw err;
    }
  };
}

/** Slices kept per keyer (action and resource pairs); past it the least recently used are worked out again. */
const MAX_SLICES = 10_000;

/** The actions Cedar's schema puts in no group (every one but `call_tool`): a scope naming only these matches exactly them. */
const LEAF_ACTIONS = new Set<string>([...TOOL_KINDS, 'delegate']);

interface PolicySlice {
  index: number;
  actions: (id: string) => boolean;
  /** `Type::id` when the resource scope is `==` one entity; undefined when it may match any. */
  resource: string | undefined;
  features: number[];
}

/**
 * Which requests a policy's scope can match, conservatively: an action scope that
 * names only ungrouped actions matches exactly those, anything else every action;
 * a resource scope `==` one entity matches that entity only.
 */
function scopeOf(p: PolicyJson): Pick<PolicySlice, 'actions' | 'resource'> {
  const action = p.action as { op: string; entity?: { type: string; id: string }; entities?: { type: string; id: string }[] };
  const named = action.op === '==' || action.op === 'in' ? (action.entities ?? (action.entity ? [action.entity] : undefined)) : undefined;
  const exact = named !== undefined && named.every((e) => e.type === 'Action' && LEAF_ACTIONS.has(e.id)) ? new Set(named.map((e) => e.id)) : undefined;
  const resource = p.resource as { op: string; entity?: { type: string; id: string } };
  return {
    actions: exact ? (id) => exact.has(id) : () => true,
    resource: resource.op === '==' && resource.entity ? `${resource.entity.type}::${resource.entity.id}` : undefined,
  };
}

function analysePolicy(p: PolicyJson, add: (f: Feature) => void): void {
  // Slots belong to templates: a linked policy's scope is not in this JSON.
  for (const [root, scope] of [['principal', p.principal], ['resource', p.resource]] as const) {
    const op = (scope as { op: string }).op;
    if (op === 'All') continue;
    if ('slot' in (scope as object)) throw new Unsupported(`${root} slot`);
    add({ kind: 'entity', root });
  }
  for (const c of p.conditions) visit(c.body as Expr, add);
}

type Expr = Record<string, unknown>;

function visit(e: Expr, add: (f: Feature) => void): void {
  const [op, arg] = onlyEntry(e);
  switch (op) {
    case 'Value':
      return;
    case 'Var':
      if (arg === 'principal' || arg === 'resource') add({ kind: 'entity', root: arg });
      else if (arg === 'context') add({ kind: 'value', path: { root: 'context', attrs: [] } });
      else if (arg !== 'action') throw new Unsupported(`variable ${String(arg)}`);
      return;
    case '.':
    case 'getTag': {
      const path = pathOf(e);
      if (path) return add({ kind: 'value', path });
      // An attribute of a record literal is a literal; of anything else (an entity literal) it needs the entity store.
      const { left } = arg as { left: Expr };
      if (op === '.' && isLiteral(left) && !namesEntity(left)) return;
      throw new Unsupported(`${op} on an expression`);
    }
    case 'has': {
      const { left, attr } = arg as { left: Expr; attr: string };
      const base = pathOf(left) ?? rootPath(left);
      if (base) return add({ kind: 'present', path: { ...base, attrs: [...base.attrs, attr] } });
      if (isLiteral(left) && !namesEntity(left)) return;
      throw new Unsupported('has on an expression');
    }
    case 'hasTag': {
      const { left, right } = arg as { left: Expr; right: Expr };
      const entity = entityVar(left);
      const tag = literalOf(right);
      if (entity && typeof tag === 'string') return add({ kind: 'present', path: { root: entity, tag, attrs: [] } });
      visit(left, add);
      return visit(right, add);
    }
    case 'contains':
    case 'containsAny':
    case 'containsAll': {
      const { left, right } = arg as { left: Expr; right: Expr };
      const path = pathOf(left);
      const items = op === 'contains' ? [literalOf(right)] : setOfLiterals(right);
      if (path && items && items.every(isPrimitive)) {
        for (const item of items as Primitive[]) add({ kind: 'contains', path, item });
        return;
      }
      visit(left, add);
      return visit(right, add);
    }
    case 'isEmpty': {
      const path = pathOf((arg as { arg: Expr }).arg);
      if (path) return add({ kind: 'empty', path });
      return visit((arg as { arg: Expr }).arg, add);
    }
    case '<':
    case '<=':
    case '>':
    case '>=': {
      const { left, right } = arg as { left: Expr; right: Expr };
      const [path, value, flipped] = pathAndLiteral(left, right);
      if (path && typeof value === 'number' && Number.isInteger(value)) return add({ kind: 'compare', path, op: flipped ? FLIP[op] : op, value });
      visit(left, add);
      return visit(right, add);
    }
    case '==':
    case '!=': {
      const { left, right } = arg as { left: Expr; right: Expr };
      const [path, value] = pathAndLiteral(left, right);
      if (path && isPrimitive(value)) return add({ kind: 'equals', path, value });
      visit(left, add);
      return visit(right, add);
    }
    case 'like': {
      const { left, pattern } = arg as { left: Expr; pattern: unknown[] };
      const path = pathOf(left);
      if (path) return add({ kind: 'like', path, pattern: pattern.map(likePart) });
      return visit(left, add);
    }
    case 'is': {
      const { left, in: within } = arg as { left: Expr; in?: Expr };
      visit(left, add);
      if (within !== undefined) visit(within, add);
      return;
    }
    case 'if-then-else': {
      const { if: cond, then, else: otherwise } = arg as Record<string, Expr>;
      for (const x of [cond, then, otherwise]) visit(x!, add);
      return;
    }
    case 'Set':
      for (const x of arg as Expr[]) visit(x, add);
      return;
    case 'Record':
      for (const x of Object.values(arg as Record<string, Expr>)) visit(x, add);
      return;
    default:
      if (PASS_THROUGH.has(op)) {
        const a = arg as { left?: Expr; right?: Expr; arg?: Expr };
        for (const x of [a.left, a.right, a.arg]) if (x !== undefined) visit(x, add);
        return;
      }
      // An extension function call (`decimal("1.2")`, `ip(...)`, `.lessThan(...)`): its arguments.
      if (Array.isArray(arg)) {
        for (const x of arg as Expr[]) visit(x, add);
        return;
      }
      throw new Unsupported(`expression ${op}`);
  }
}

function onlyEntry(e: Expr): [string, unknown] {
  const keys = Object.keys(e);
  if (keys.length !== 1) throw new Unsupported('malformed expression');
  return [keys[0]!, e[keys[0]!]];
}

function entityVar(e: Expr): 'principal' | 'resource' | undefined {
  const v = (e as { Var?: unknown }).Var;
  return v === 'principal' || v === 'resource' ? v : undefined;
}

function rootPath(e: Expr): Path | undefined {
  const v = (e as { Var?: unknown }).Var;
  return v === 'principal' || v === 'resource' || v === 'context' ? { root: v, attrs: [] } : undefined;
}

/** `context.task.labels`, `resource.risk`, `resource.getTag("path")`: a request value reached from a variable by literal steps. */
function pathOf(e: Expr): Path | undefined {
  if ('.' in e) {
    const { left, attr } = e['.'] as { left: Expr; attr: string };
    const base = pathOf(left) ?? rootPath(left);
    return base ? { ...base, attrs: [...base.attrs, attr] } : undefined;
  }
  if ('getTag' in e) {
    const { left, right } = e['getTag'] as { left: Expr; right: Expr };
    const entity = entityVar(left);
    const tag = literalOf(right);
    return entity && typeof tag === 'string' ? { root: entity, tag, attrs: [] } : undefined;
  }
  return undefined;
}

function pathAndLiteral(left: Expr, right: Expr): [Path | undefined, unknown, boolean] {
  const l = pathOf(left);
  if (l && isLiteral(right)) return [l, literalOf(right), false];
  const r = pathOf(right);
  if (r && isLiteral(left)) return [r, literalOf(left), true];
  return [undefined, undefined, false];
}

function isLiteral(e: Expr): boolean {
  if ('Value' in e) return true;
  if ('Set' in e) return (e['Set'] as Expr[]).every(isLiteral);
  if ('Record' in e) return Object.values(e['Record'] as Record<string, Expr>).every(isLiteral);
  return false;
}

/** Whether a literal holds an entity reference (whose attributes live in the entity store). */
function namesEntity(e: Expr): boolean {
  return JSON.stringify(e).includes('"__entity"');
}

function literalOf(e: Expr): unknown {
  return 'Value' in e ? e['Value'] : undefined;
}

function setOfLiterals(e: Expr): unknown[] | undefined {
  if (!('Set' in e)) return undefined;
  const items = e['Set'] as Expr[];
  return items.every((x) => 'Value' in x) ? items.map((x) => x['Value']) : undefined;
}

function isPrimitive(v: unknown): v is Primitive {
  return typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isInteger(v));
}

function likePart(p: unknown): LikePart {
  if (p === 'Wildcard') return 'wildcard';
  if (p !== null && typeof p === 'object' && typeof (p as { Literal?: unknown }).Literal === 'string') return { literal: (p as { Literal: string }).Literal };
  throw new Unsupported('like pattern');
}

/** The request's entities by uid, looked up once per request. */
class RequestView {
  #entities: Map<string, CedarEntity> | undefined;
  constructor(readonly req: CedarRequest) {}

  entity(root: 'principal' | 'resource'): CedarEntity | undefined {
    const uid = this.req[root];
    return this.byUid(uid.type, uid.id);
  }

  byUid(type: string, id: string): CedarEntity | undefined {
    this.#entities ??= new Map(this.req.entities.map((e) => [`${e.uid.type}::${e.uid.id}`, e]));
    return this.#entities.get(`${type}::${id}`);
  }
}

function resolve(view: RequestView, path: Path): unknown {
  let value: unknown;
  if (path.root === 'context') value = view.req.context;
  else {
    const entity = view.entity(path.root);
    if (entity === undefined) return ABSENT;
    if (path.tag !== undefined) {
      const tags = entity.tags;
      if (tags === undefined || !Object.hasOwn(tags, path.tag)) return ABSENT;
      value = tags[path.tag];
    } else value = entity.attrs;
  }
  for (const attr of path.attrs) {
    // Only a record has attributes: anything else is an error in Cedar, and its text names the value.
    if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new NoKey();
    // An attribute of a referenced entity lives in the entity store, not here.
    if (Object.hasOwn(value, '__entity') || Object.hasOwn(value, '__extn')) throw new NoKey();
    if (!Object.hasOwn(value, attr)) return ABSENT;
    value = (value as Record<string, unknown>)[attr];
  }
  return value;
}

/** A value as key text: sets (arrays) sorted, records key-sorted; entity references and extension values are not keyed. */
function canonical(value: unknown): string {
  if (value === ABSENT) return '-';
  if (Array.isArray(value)) return `[${value.map(canonical).sort().join(',')}]`;
  if (value !== null && typeof value === 'object') {
    if (Object.hasOwn(value, '__entity') || Object.hasOwn(value, '__extn')) throw new NoKey();
    const keys = Object.keys(value).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'undefined';
}

const bit = (b: boolean) => (b ? '1' : '0');

function compileFeature(f: Feature): (view: RequestView) => string {
  switch (f.kind) {
    case 'entity':
      return (view) => {
        const uid = view.req[f.root];
        return `${uid.type}::${JSON.stringify(uid.id)}<${ancestors(view, uid.type, uid.id).join(',')}`;
      };
    case 'value':
      return (view) => canonical(resolve(view, f.path));
    case 'present':
      return (view) => bit(resolve(view, f.path) !== ABSENT);
    case 'contains':
      return (view) => {
        const v = resolve(view, f.path);
        return Array.isArray(v) && v.every((x) => typeof x !== 'object') ? bit(v.includes(f.item)) : canonical(v);
      };
    case 'empty':
      return (view) => {
        const v = resolve(view, f.path);
        return Array.isArray(v) ? bit(v.length === 0) : canonical(v);
      };
    case 'compare':
      return (view) => {
        const v = resolve(view, f.path);
        if (typeof v !== 'number' || !Number.isInteger(v)) return canonical(v);
        return bit(f.op === '<' ? v < f.value : f.op === '<=' ? v <= f.value : f.op === '>' ? v > f.value : v >= f.value);
      };
    case 'equals':
      return (view) => {
        const v = resolve(view, f.path);
        return isPrimitive(v) ? bit(v === f.value) : canonical(v);
      };
    case 'like': {
      const matches = likeMatcher(f.pattern);
      return (view) => {
        const v = resolve(view, f.path);
        return typeof v === 'string' ? bit(matches(v)) : canonical(v);
      };
    }
  }
}

/** Every ancestor of an entity in the request, sorted (Cedar's `in` is transitive). */
function ancestors(view: RequestView, type: string, id: string): string[] {
  const seen = new Set<string>();
  const stack = [...(view.byUid(type, id)?.parents ?? [])];
  while (stack.length > 0) {
    const p = stack.pop()!;
    const k = `${p.type}::${JSON.stringify(p.id)}`;
    if (seen.has(k)) continue;
    seen.add(k);
    stack.push(...(view.byUid(p.type, p.id)?.parents ?? []));
  }
  return [...seen].sort();
}

/** Cedar's `like`: `*` matches any run of characters (code points), every other character itself. Linear, whatever the pattern. */
export function likeMatcher(pattern: readonly LikePart[]): (s: string) => boolean {
  const p: (string | null)[] = pattern.flatMap((part) => (part === 'wildcard' ? [null] : [...part.literal]));
  return (text) => {
    const s = [...text];
    let i = 0;
    let j = 0;
    let star = -1;
    let mark = 0;
    while (i < s.length) {
      if (j < p.length && p[j] !== null && p[j] === s[i]) {
        i++;
        j++;
      } else if (j < p.length && p[j] === null) {
        star = j++;
        mark = i;
      } else if (star !== -1) {
        // Let the last wildcard take one more character and try again from there.
        j = star + 1;
        i = ++mark;
      } else return false;
    }
    while (j < p.length && p[j] === null) j++;
    return j === p.length;
  };
}
