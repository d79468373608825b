import { checkArg } from './check-call.js';
import { MAX_LIST_ITEMS, type ArgConstraint, type Mandate, type RefusedItem, type Task, type ToolGrant } from './model.js';

/**
 * Delegation only ever narrows: a child task may hold no authority its parent
 * lacks. This module decides, without I/O, whether a child mandate is narrower
 * than or equal to its parent's on every axis, and names each item that widens.
 */

/** What a child is narrowed against: its parent task's mandate, whom it acts for and when it ends. */
export type DelegatingParent = Pick<Task, 'mandate' | 'principal' | 'expiresAtMs'>;

export interface Narrowed {
  /** Every item of the child that widens its parent, or whose narrowing cannot be shown; empty when it narrows. */
  refused: RefusedItem[];
  /** The child's expiry, clamped to the parent's: outliving the parent is trimmed, not refused. */
  expiresAtMs: number;
}

const LIMITS = ['maxCalls', 'maxCallsPerMinute', 'maxResultBytes'] as const;

/**
 * Narrows `child` against `parent`. Refused items carry `mandate.delegation_widens`
 * (the child declares more than the parent) or `mandate.delegation_unprovable` (a
 * constraint whose containment in the parent's cannot be decided here).
 */
export function narrowDelegation(parent: DelegatingParent, child: Mandate, childExpiresAtMs: number): Narrowed {
  const p = parent.mandate;
  const refused: RefusedItem[] = [];
  const widens = (item: string, reason: string) => refused.push({ item, code: 'mandate.delegation_widens', reason, policyIds: [] });

  for (const grant of child.tools) {
    const held = p.tools.find((t) => t.name === grant.name);
    if (!held) widens(`tools.${grant.name}`, `the parent task does not declare \`${grant.name}\``);
    else if (!parentDelegates(p, grant.name)) widens(`tools.${grant.name}`, `the parent task's plan does not include \`${grant.name}\``);
    else refused.push(...argRefusals(held, grant));
  }
  for (const dataClass of child.dataClasses) {
    if (!p.dataClasses.includes(dataClass)) widens(`dataClasses.${dataClass}`, `the parent task does not declare data class \`${dataClass}\``);
  }
  for (const label of child.egress) {
    if (!p.egress.includes(label)) widens(`egress.${label}`, `the parent task may not send out \`${label}\``);
  }
  // Declared limits only: the parent's calls left are store state, and a child's calls count against its own limits,
  // so a parent's `maxCalls` bounds each child, not all of them together.
  for (const limit of LIMITS) {
    const cap = p.limits[limit];
    if (cap === undefined) continue;
    const own = child.limits[limit];
    if (own === undefined) widens(`limits.${limit}`, `the parent task sets \`${limit}\` ${cap}; the child sets none`);
    else if (own > cap) widens(`limits.${limit}`, `\`${limit}\` ${own} is above the parent task's ${cap}`);
  }
  // Whom a task acts for is authority too (policies read it, revoking a principal ends its tasks): a child inherits it, never changes it.
  if (child.onBehalfOf !== undefined && child.onBehalfOf !== parent.principal) {
    widens('onBehalfOf', parent.principal === null ? `the parent task acts for nobody; the child names \`${child.onBehalfOf}\`` : `the parent task acts for \`${parent.principal}\`; the child names \`${child.onBehalfOf}\``);
  }
  return { refused, expiresAtMs: Math.min(childExpiresAtMs, parent.expiresAtMs) };
}

/**
 * Can a parent with this mandate hand `tool` to a child? It must declare it and,
 * when it states a plan, plan it: a tool left out of the plan is a deviation for
 * the parent, and a child would use it unseen by the parent's plan.
 */
export function parentDelegates(parent: Mandate, tool: string): boolean {
  return parent.tools.some((t) => t.name === tool) && (parent.plan === undefined || parent.plan.includes(tool));
}

/** Each argument path the parent constrains must be constrained in the child at least as strictly. */
function argRefusals(parent: ToolGrant, child: ToolGrant): RefusedItem[] {
  const out: RefusedItem[] = [];
  for (const [path, pc] of Object.entries(parent.args)) {
    const item = `tools.${child.name}.args.${path}`;
    const on = `argument \`${path}\` of \`${child.name}\``;
    const cc = Object.hasOwn(child.args, path) ? child.args[path] : undefined;
    if (cc === undefined) {
      out.push({ item, code: 'mandate.delegation_widens', reason: `the parent task constrains ${on}; the child does not`, policyIds: [] });
      continue;
    }
    const gaps = containment(pc, cc);
    const wide = gaps.filter((g) => g.kind === 'widens').map((g) => g.text);
    const unshown = gaps.filter((g) => g.kind === 'unprovable').map((g) => g.text);
    if (wide.length > 0) out.push({ item, code: 'mandate.delegation_widens', reason: `${on}: ${wide.join('; ')}`, policyIds: [] });
    if (unshown.length > 0) out.push({ item, code: 'mandate.delegation_unprovable', reason: `${on}: ${unshown.join('; ')}; a narrowing that cannot be shown is refused`, policyIds: [] });
  }
  return out;
}

interface Gap {
  kind: 'widens' | 'unprovable';
  text: string;
}

const widen = (text: string): Gap => ({ kind: 'widens', text });
const unprovable = (text: string): Gap => ({ kind: 'unprovable', text });

/**
 * Why the values `c` allows are not shown to be among those `p` allows (empty
 * when they are). Sound: an empty answer means every value `checkArg` lets
 * through `c` also gets through `p`.
 */
function containment(p: ArgConstraint, c: ArgConstraint): Gap[] {
  const gaps: Gap[] = [];
  if (c.optional && !p.optional) gaps.push(widen('the child lets it be left out; the parent requires it'));

  const values = valuesOf(c);
  if (values) {
    // The child allows only these values: the parent's own check on each decides exactly.
    for (const v of values) {
      const why = checkArg(p, v);
      if (why) gaps.push(widen(`the child allows ${show(v)}, which the parent refuses (${why})`));
    }
    return gaps;
  }

  // A child `pattern` may keep string values within a parent's constraint, but regex containment is not decided here.
  const loose = (text: string, onStrings: boolean): Gap =>
    onStrings && c.pattern !== undefined ? unprovable(`${text}; whether the child's \`pattern\` \`${c.pattern}\` keeps within it cannot be shown`) : widen(text);

  if (p.equals !== undefined) gaps.push(loose(`the parent requires \`equals\` ${show(p.equals)}; the child allows other values`, typeof p.equals === 'string'));
  if (p.oneOf !== undefined) gaps.push(loose(`the parent requires one of ${p.oneOf.map(show).join(', ')}; the child allows other values`, p.oneOf.some((v) => typeof v === 'string')));
  if (p.prefix !== undefined && !(c.prefix !== undefined && keepsPrefix(p.prefix, c.prefix))) {
    const text =
      c.prefix === undefined
        ? `the parent requires \`prefix\` ${code(p.prefix)}; the child has none`
        : c.prefix.startsWith(p.prefix)
          ? `the child's \`prefix\` ${code(c.prefix)} extends the parent's ${code(p.prefix)} with a \`.\` or \`..\` segment, which lets a value climb out of it`
          : `the child's \`prefix\` ${code(c.prefix)} does not start with the parent's ${code(p.prefix)}`;
    gaps.push(loose(text, true));
  }
  if (p.pattern !== undefined && c.pattern !== p.pattern) {
    gaps.push(
      c.pattern === undefined
        ? widen(`the parent requires \`pattern\` ${code(p.pattern)}; the child has none`)
        : unprovable(`the child's \`pattern\` ${code(c.pattern)} differs from the parent's ${code(p.pattern)}: that every value it matches also matches the parent's cannot be shown`),
    );
  }
  if (p.min !== undefined && !(c.min !== undefined && c.min >= p.min)) {
    gaps.push(widen(c.min === undefined ? `the parent requires \`min\` ${p.min}; the child has none` : `the child's \`min\` ${c.min} is below the parent's ${p.min}`));
  }
  if (p.max !== undefined && !(c.max !== undefined && c.max <= p.max)) {
    gaps.push(widen(c.max === undefined ? `the parent requires \`max\` ${p.max}; the child has none` : `the child's \`max\` ${c.max} is above the parent's ${p.max}`));
  }
  // A list's length is its item count, so a child that only allows short enough lists meets `maxLength` too.
  if (p.maxLength !== undefined && !(c.maxLength !== undefined && c.maxLength <= p.maxLength) && !(isList(c) && listMax(c) <= p.maxLength)) {
    gaps.push(loose(c.maxLength === undefined ? `the parent requires \`maxLength\` ${p.maxLength}; the child has none` : `the child's \`maxLength\` ${c.maxLength} is above the parent's ${p.maxLength}`, true));
  }
  // List bounds: a list constraint already refuses lists over MAX_LIST_ITEMS, and `minItems` defaults to 0.
  if (p.minItems !== undefined && !(isList(c) && (c.minItems ?? 0) >= p.minItems)) {
    gaps.push(widen(!isList(c) ? `the parent requires a list (\`minItems\` ${p.minItems}); the child does not` : c.minItems === undefined ? `the parent requires \`minItems\` ${p.minItems}; the child has none` : `the child's \`minItems\` ${c.minItems} is below the parent's ${p.minItems}`));
  }
  if (p.maxItems !== undefined && !(isList(c) && listMax(c) <= p.maxItems)) {
    gaps.push(widen(!isList(c) ? `the parent requires a list (\`maxItems\` ${p.maxItems}); the child does not` : c.maxItems === undefined ? `the parent requires \`maxItems\` ${p.maxItems}; the child has none` : `the child's \`maxItems\` ${c.maxItems} is above the parent's ${p.maxItems}`));
  }
  const items = isList(c) ? itemsOf(c) : undefined;
  if (p.subsetOf !== undefined) {
    const allowed = p.subsetOf;
    if (items) {
      if (items.nullable) gaps.push(widen('the child allows a null item, which the parent\'s `subsetOf` refuses'));
      for (const v of items.values) if (!allowed.some((a) => a === v)) gaps.push(widen(`the child allows item ${show(v)}, which is not in the parent's \`subsetOf\``));
    } else {
      const text = isList(c) ? `the parent limits the items to ${allowed.map(show).join(', ')}; the child does not` : `the parent requires a list (\`subsetOf\`); the child does not`;
      gaps.push(isList(c) && c.each?.pattern !== undefined ? unprovable(`${text}; whether the child's \`each.pattern\` \`${c.each.pattern}\` keeps within it cannot be shown`) : widen(text));
    }
  }
  if (p.each !== undefined) {
    const pe = p.each;
    if (items) {
      if (items.nullable && !pe.optional) gaps.push(widen('the child allows a null item; the parent\'s `each` requires a value'));
      for (const v of items.values) {
        const why = checkArg(pe, v);
        if (why) gaps.push(widen(`the child allows item ${show(v)}, which the parent's \`each\` refuses (${why})`));
      }
    } else if (c.each !== undefined) {
      for (const g of containment(pe, c.each)) gaps.push({ kind: g.kind, text: `in \`each\`, ${g.text}` });
    } else {
      gaps.push(widen(isList(c) ? 'the parent constrains every item (`each`); the child does not' : 'the parent requires a list (`each`); the child does not'));
    }
  }
  return gaps;
}

/**
 * The exact set of values (other than absent) a constraint allows, when it is
 * finite and easily listed: its `equals` or `oneOf`, `min` equal to `max`, a
 * `maxLength` that leaves only the `prefix` itself, or only the empty list.
 * Candidates go through the constraint's own check, so its other keys still apply.
 */
function valuesOf(c: ArgConstraint): unknown[] | undefined {
  let candidates: readonly unknown[];
  if (c.equals !== undefined) candidates = [c.equals];
  else if (c.oneOf !== undefined) candidates = c.oneOf;
  else if (c.min !== undefined && c.min === c.max) candidates = [c.min];
  else if (c.prefix !== undefined && c.maxLength !== undefined && c.maxLength <= c.prefix.length) candidates = [c.prefix];
  else if (isList(c) && c.maxItems === 0) candidates = [[]];
  else return undefined;
  return unique(candidates.filter((v) => checkArg(c, v) === null));
}

/** The exact items a list constraint allows, when finite: its `subsetOf` (through its `each`), or its `each`'s listed values. */
function itemsOf(c: ArgConstraint): { values: unknown[]; nullable: boolean } | undefined {
  if (c.subsetOf !== undefined) {
    const each = c.each;
    return { values: unique(c.subsetOf.filter((v) => each === undefined || checkArg(each, v) === null)), nullable: false };
  }
  const values = c.each && valuesOf(c.each);
  return values ? { values, nullable: c.each!.optional } : undefined;
}

/** Does a constraint require a list? Any list key does (see checkArg). */
function isList(c: ArgConstraint): boolean {
  return c.each !== undefined || c.subsetOf !== undefined || c.minItems !== undefined || c.maxItems !== undefined;
}

function listMax(c: ArgConstraint): number {
  return Math.min(c.maxItems ?? MAX_LIST_ITEMS, MAX_LIST_ITEMS);
}

/**
 * Does every value the child's prefix allows get through the parent's? The `..`
 * rule applies to what follows each prefix, so the extension's segments are
 * checked by the parent alone, and its last one also joins the first segment of
 * the rest: extending `/tmp/` by `.` lets `/tmp/../etc` through the child only.
 */
function keepsPrefix(parent: string, child: string): boolean {
  if (!child.startsWith(parent)) return false;
  const segments = child.slice(parent.length).split(/[\\/]/);
  return !segments.includes('..') && segments.at(-1) !== '.';
}

function unique(values: readonly unknown[]): unknown[] {
  return values.filter((v, i) => values.indexOf(v) === i);
}

function code(s: string): string {
  return `\`${s}\``;
}

function show(v: unknown): string {
  return `\`${JSON.stringify(v)}\``;
}
