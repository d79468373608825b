import type { ParamSpec, ToolParams } from '../core/index.js';
import type { ArgConstraint } from './model.js';

type Scalar = string | number | boolean;

/**
 * Why a constraint on an argument (or dotted path) cannot apply to a tool with
 * these parameters, or null when it can. A parameter without a `type`, or an
 * object without `properties`, is taken as it comes: only what the catalog
 * states is checked.
 */
export function constraintMismatch(params: ToolParams, name: string, c: ArgConstraint): string | null {
  const segments = name.split('.');
  let spec: ParamSpec | undefined;
  for (const [i, segment] of segments.entries()) {
    const here = segments.slice(0, i + 1).join('.');
    if (i === 0) spec = Object.hasOwn(params, segment) ? params[segment] : undefined;
    else {
      const parent = segments.slice(0, i).join('.');
      if (spec?.type === undefined || (spec.type === 'object' && spec.properties === undefined)) return null;
      if (spec.type !== 'object') return `\`${parent}\` is ${article(spec.type)}, which has no field \`${segment}\``;
      spec = Object.hasOwn(spec.properties!, segment) ? spec.properties![segment] : undefined;
    }
    if (spec === undefined) return `the tool has no argument \`${here}\``;
  }
  return spec ? typeMismatch(spec, c, '') : null;
}

function typeMismatch(spec: ParamSpec, c: ArgConstraint, where: string): string | null {
  const type = spec.type;
  if (type === undefined) return null;
  const on = (key: string) => `\`${where}${key}\` cannot apply to ${article(type)}`;
  const scalar = type !== 'array' && type !== 'object';
  for (const key of ['equals', 'oneOf'] as const) {
    if (c[key] === undefined) continue;
    if (!scalar) return `${on(key)}${type === 'array' ? ' (use `each` or `subsetOf` for a list)' : ''}`;
    const values: Scalar[] = key === 'equals' ? [c.equals!] : c.oneOf!;
    const stray = values.find((v) => !fits(type, v));
    if (stray !== undefined) return `\`${where}${key}\` value \`${String(stray)}\` is not ${article(type)}`;
  }
  for (const key of ['prefix', 'pattern'] as const) if (c[key] !== undefined && type !== 'string') return on(key);
  for (const key of ['min', 'max'] as const) if (c[key] !== undefined && type !== 'number' && type !== 'integer') return on(key);
  for (const key of ['each', 'subsetOf', 'minItems', 'maxItems'] as const) if (c[key] !== undefined && type !== 'array') return on(key);
  const itemType = spec.items?.type;
  if (c.subsetOf !== undefined && itemType !== undefined) {
    const stray = c.subsetOf.find((v) => !fits(itemType, v));
    if (stray !== undefined) return `\`${where}subsetOf\` value \`${String(stray)}\` is not ${article(itemType)}`;
  }
  if (c.each !== undefined && spec.items !== undefined) return typeMismatch(spec.items, c.each, `${where}each.`);
  return null;
}

function fits(type: string, v: Scalar): boolean {
  if (type === 'integer') return Number.isInteger(v);
  return typeof v === type;
}

function article(type: string): string {
  return `${/^[aeiou]/.test(type) ? 'an' : 'a'} ${type}`;
}
