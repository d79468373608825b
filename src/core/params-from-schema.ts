import { MAX_PARAM_DEPTH, PARAM_TYPES, type ParamSpec, type ParamType, type ToolParams } from './params.js';

/** Most schema nodes one conversion reads; a larger schema states no parameters (nothing is refused for it). */
export const MAX_SCHEMA_NODES = 4096;
/** Longest parameter name kept: a mandate cannot name a longer one (argument paths are at most 128 characters). */
const MAX_NAME_LENGTH = 128;
/** Most names kept in one `required` list (as for configured parameters). */
const MAX_REQUIRED = 256;
/** Most members of an `anyOf` or `oneOf` looked at; more make the type unknown. */
const MAX_UNION_MEMBERS = 64;

/**
 * Keywords that can admit an argument `properties` does not list (or whose
 * meaning depends on another part of the document): an object schema with one
 * of them leaves its names open.
 */
const OPENING_KEYWORDS = ['patternProperties', 'anyOf', 'oneOf', 'allOf', 'if', 'then', 'else', 'dependencies', 'dependentSchemas', '$ref', '$dynamicRef', '$recursiveRef'];

type Node = Record<string, unknown>;

class TooLarge extends Error {}

/**
 * The parameters an MCP tool's `inputSchema` (a JSON Schema object) states, in
 * the catalog's terms, or undefined when it does not state their names — then
 * no constraint can be refused for the tool, as for a catalog entry without
 * `params`. Pure, bounded and total: any input gives an answer, never an error.
 *
 * - Names: an object's arguments are those its `properties` lists. An absent
 *   `additionalProperties` (or `false`) keeps them to that list: a server built
 *   with the MCP SDK drops undeclared arguments before the tool sees them, so a
 *   constraint on one would constrain nothing the tool reads. `additionalProperties`
 *   `true` or a schema, `patternProperties`, composition (`allOf`, `anyOf`,
 *   `oneOf`, `if`) or a `$ref` on the object, or no `properties` at all, leave
 *   the names open: undefined at the top, an object without `properties` below.
 * - Types: `type` when it names one of the catalog's types. `null` is dropped
 *   from a union (no constraint value is null, so a nullable string takes the
 *   constraints a string takes); `integer` with `number` is a number; any other
 *   union of types — in `type`, `anyOf` or `oneOf` — has no type (any value).
 *   A `$ref`, or a type the catalog does not know, has no type.
 * - Bounds: below MAX_PARAM_DEPTH levels a parameter keeps its type but not its
 *   items or fields; a schema of more than MAX_SCHEMA_NODES nodes states no
 *   parameters. Other keywords (`enum`, `format`, `minimum`, `description`, …)
 *   are ignored.
 */
export function paramsFromInputSchema(inputSchema: unknown): ToolParams | undefined {
  try {
    if (!isNode(inputSchema)) return undefined;
    const type = own(inputSchema, 'type');
    if (type !== undefined && type !== 'object') return undefined;
    const budget = { left: MAX_SCHEMA_NODES };
    return fieldsOf(inputSchema, 0, budget)?.properties;
  } catch {
    // Past the budget, or anything else unexpected (a throwing getter on a hand-built object): no parameters stated.
    return undefined;
  }
}

/** The fields of an object schema whose names are closed, at `level` (the level of the fields themselves); undefined when they are open. */
function fieldsOf(node: Node, level: number, budget: { left: number }): { properties: ToolParams; required?: string[] } | undefined {
  const properties = own(node, 'properties');
  if (!isNode(properties)) return undefined;
  const additional = own(node, 'additionalProperties');
  if (additional !== undefined && additional !== false) return undefined;
  const unevaluated = own(node, 'unevaluatedProperties');
  if (unevaluated !== undefined && unevaluated !== false) return undefined;
  if (OPENING_KEYWORDS.some((k) => own(node, k) !== undefined)) return undefined;
  const entries: [string, ParamSpec][] = [];
  // Not Object.entries: a hostile list of a million names stops at the budget, not after copying them all.
  for (const name in properties) {
    if (!Object.hasOwn(properties, name) || name.length === 0 || name.length > MAX_NAME_LENGTH) continue; // no mandate can name it
    entries.push([name, specOf(properties[name], level, budget)]);
  }
  // fromEntries defines own properties: a field called `__proto__` stays a field.
  const out: { properties: ToolParams; required?: string[] } = { properties: Object.fromEntries(entries) };
  const required = own(node, 'required');
  if (Array.isArray(required)) {
    const names = [...new Set(required.slice(0, MAX_SCHEMA_NODES).filter((r): r is string => typeof r === 'string' && Object.hasOwn(out.properties, r)))].slice(0, MAX_REQUIRED);
    if (names.length > 0) out.required = names;
  }
  return out;
}

/** One parameter at `level` (0 for a tool's own arguments). */
function specOf(node: unknown, level: number, budget: { left: number }): ParamSpec {
  if (--budget.left < 0) throw new TooLarge();
  if (!isNode(node) || own(node, '$ref') !== undefined) return {};
  const type = typeOf(node, level, budget);
  if (type === undefined) return {};
  if (typeof type !== 'string') return type; // a union with one member besides null: that member
  const spec: ParamSpec = { type };
  if (level + 1 >= MAX_PARAM_DEPTH) return spec;
  if (type === 'array') {
    const items = own(node, 'items');
    // A list of schemas (a tuple), or `prefixItems`, gives positions their own types: the items have none in common.
    if (isNode(items) && own(node, 'prefixItems') === undefined) {
      const itemSpec = specOf(items, level + 1, budget);
      if (itemSpec.type !== undefined) spec.items = itemSpec;
    }
  } else if (type === 'object') {
    const fields = fieldsOf(node, level + 1, budget);
    if (fields) {
      spec.properties = fields.properties;
      if (fields.required) spec.required = fields.required;
    }
  }
  return spec;
}

/** The node's type; a ParamSpec when it is a union whose one member besides null decides it. */
function typeOf(node: Node, level: number, budget: { left: number }): ParamType | ParamSpec | undefined {
  const type = own(node, 'type');
  if (typeof type === 'string') return paramType(type);
  if (Array.isArray(type)) return type.length > MAX_UNION_MEMBERS ? undefined : oneType(type.map((t) => (typeof t === 'string' ? t : '?')));
  if (type !== undefined) return undefined;
  for (const key of ['anyOf', 'oneOf'] as const) {
    const members = own(node, key);
    if (members === undefined) continue;
    if (!Array.isArray(members) || members.length > MAX_UNION_MEMBERS) return undefined;
    const rest = members.filter((m) => !isNull(m));
    if (rest.length === 1) {
      const only = specOf(rest[0], level, budget);
      return only.type === undefined ? undefined : only;
    }
    return oneType(rest.map((m) => (isNode(m) && typeof own(m, 'type') === 'string' ? (own(m, 'type') as string) : '?')));
  }
  return undefined;
}

/** The one type several stand for, null aside; undefined when they are more than one (or unknown). */
function oneType(types: string[]): ParamType | undefined {
  const set = new Set(types.filter((t) => t !== 'null'));
  if (set.has('integer') && set.has('number')) set.delete('integer');
  if (set.size !== 1) return undefined;
  return paramType([...set][0]!);
}

function paramType(t: string): ParamType | undefined {
  return (PARAM_TYPES as readonly string[]).includes(t) ? (t as ParamType) : undefined;
}

function isNull(m: unknown): boolean {
  if (!isNode(m)) return false;
  const type = own(m, 'type');
  if (type === 'null' || (Array.isArray(type) && type.length > 0 && type.every((t) => t === 'null'))) return true;
  const values = own(m, 'enum');
  return type === undefined && (own(m, 'const') === null || (Array.isArray(values) && values.length === 1 && values[0] === null));
}

function isNode(v: unknown): v is Node {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** A keyword's value, read from the node itself only: never from its prototype. */
function own(node: Node, key: string): unknown {
  return Object.hasOwn(node, key) ? node[key] : undefined;
}
