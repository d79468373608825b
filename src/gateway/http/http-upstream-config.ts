import { readFileSync, statSync } from 'node:fs';
import { extname, resolve } from 'node:path';
import YAML from 'yaml';
import { z } from 'zod';
import { SecretRefSchema } from '../../secrets/index.js';
import { ConfigError, RISKS, TOOL_KINDS, formatZodError, type ToolSpec, ToolSpecSchema } from '../../core/index.js';
import { TransactionTokenSchema } from '../common/index.js';
import { compileRoutePattern, HTTP_METHODS, type ApiAction, type HttpMethod, type ParamType } from './match-route.js';

/** Names of REST upstreams; the same shape as MCP upstream names, so `<upstream>.<tool>` is a catalog name. */
export const API_NAME = /^[a-z][a-z0-9_-]{0,31}$/;
/** An action's name inside its upstream: a route's `tool` or an OpenAPI `operationId`. */
export const ACTION_NAME = /^[A-Za-z0-9_.-]{1,128}$/;

/** Largest OpenAPI document read at start-up: it is untrusted input, parsed once. */
const MAX_OPENAPI_BYTES = 10 * 1024 * 1024;

/** Headers the gateway manages itself: configuring them would break framing or routing. */
const RESERVED_HEADERS = new Set(['host', 'content-length', 'transfer-encoding', 'connection', 'keep-alive', 'upgrade', 'te', 'trailer', 'proxy-connection', 'proxy-authorization', 'expect']);
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}$/;

function urlIs(value: string, test: (url: URL) => boolean): boolean {
  try {
    return test(new URL(value));
  } catch {
    return true; // `.url()` reports it
  }
}

const Method = z.preprocess((v) => (typeof v === 'string' ? v.toUpperCase() : v), z.enum(HTTP_METHODS));

/** What policy knows about one action: the same metadata as any catalog tool. */
const ActionMetadata = {
  kind: z.enum(TOOL_KINDS),
  effects: ToolSpecSchema.shape.effects,
  risk: z.enum(RISKS).default('low'),
  labels: z.array(z.string().min(1).max(64)).max(32).default([]),
  tags: ToolSpecSchema.shape.tags,
  labelRules: ToolSpecSchema.shape.labelRules,
  targets: ToolSpecSchema.shape.targets,
  counterparty: ToolSpecSchema.shape.counterparty,
};

type ActionMeta = z.output<z.ZodObject<typeof ActionMetadata>>;

/** An action's catalog entry: its name, its description and the metadata it was given (fields left unset stay unset). */
function actionSpec(name: string, meta: ActionMeta, description: string): ToolSpec {
  const spec: Record<string, unknown> = { name, description };
  for (const key of Object.keys(ActionMetadata) as (keyof ActionMeta)[]) if (meta[key] !== undefined) spec[key] = meta[key];
  return spec as ToolSpec;
}

const RouteSchema = z
  .object({
    method: Method,
    /** `/invoices/{id}`: literal segments and `{name}` parameters, matched segment by segment. */
    path: z.string().min(1).max(1024),
    /** The action's name: the call is decided as `<upstream>.<tool>`. */
    tool: z.string().regex(ACTION_NAME, 'tool names are letters, digits, `_`, `.` or `-`'),
    ...ActionMetadata,
    description: z.string().max(1000).default(''),
  })
  .strict()
  .superRefine((r, ctx) => {
    const compiled = compileRoutePattern(r.path);
    if (typeof compiled === 'string') ctx.addIssue({ code: 'custom', path: ['path'], message: compiled });
  });

const OpenApiMappingSchema = z
  .object({
    /** An OpenAPI 3.x document, JSON or YAML; relative to the config file. */
    file: z.string().min(1),
    /** operationId → metadata. Operations of the document not listed here are not exposed. */
    operations: z.record(z.string(), z.object({ ...ActionMetadata, description: z.string().max(1000).optional() }).strict()).superRefine((ops, ctx) => {
      for (const id of Object.keys(ops)) {
        if (!ACTION_NAME.test(id)) ctx.addIssue({ code: 'custom', path: [id], message: 'an operationId used as an action is letters, digits, `_`, `.` or `-`' });
      }
    }),
  })
  .strict();

export const ApiSchema = z
  .object({
    /** Where requests are forwarded: `baseUrl` + the path after `/proxy/<upstream>`. */
    baseUrl: z
      .string()
      .url()
      .refine((u) => urlIs(u, (url) => url.protocol === 'http:' || url.protocol === 'https:'), 'expected an http:// or https:// URL')
      .refine((u) => urlIs(u, (url) => url.username === '' && url.password === ''), 'credentials do not belong in the URL; use `headers`')
      .refine((u) => urlIs(u, (url) => url.search === '' && url.hash === ''), 'a base URL has no query or fragment'),
    /** The longest the upstream may stay silent: before its response headers, and between two chunks of its body. */
    timeoutMs: z.number().int().min(100).max(600_000).default(30_000),
    /** Added to every forwarded request (after the agent's `Authorization` is removed). */
    /** A value may name a brokered secret: `{ secret: "billing-key", prefix: "Bearer " }`, injected per request, never shown to the agent. */
    headers: z
      .record(z.string(), z.union([z.string().max(8192).refine((v) => !/[\r\n\0]/.test(v), 'header values are one line'), SecretRefSchema]))
      .superRefine((headers, ctx) => {
        // Checked here rather than on the key schema, so the error names the header.
        for (const name of Object.keys(headers)) {
          if (!HEADER_NAME.test(name)) ctx.addIssue({ code: 'custom', path: [name], message: 'not a valid header name' });
          else if (RESERVED_HEADERS.has(name.toLowerCase())) ctx.addIssue({ code: 'custom', path: [name], message: 'this header is managed by the gateway' });
        }
      })
      .default({}),
    routes: z.array(RouteSchema).min(1).max(1000).optional(),
    openapi: OpenApiMappingSchema.optional(),
    /** When set, each allowed request carries a transaction token in `header` (docs/transaction-tokens.md). */
    transactionToken: TransactionTokenSchema.optional(),
  })
  .strict()
  .superRefine((api, ctx) => {
    const txnHeader = api.transactionToken?.header.toLowerCase();
    for (const name of Object.keys(api.headers)) {
      if (name.toLowerCase() === txnHeader) ctx.addIssue({ code: 'custom', path: ['headers', name], message: 'this header carries the transaction token (`transactionToken.header`)' });
    }
    if ((api.routes === undefined) === (api.openapi === undefined)) {
      ctx.addIssue({ code: 'custom', path: [], message: 'give exactly one of `routes` or `openapi`' });
      return;
    }
    const tools = new Set<string>();
    const shapes = new Set<string>();
    api.routes?.forEach((r, i) => {
      if (tools.has(r.tool)) ctx.addIssue({ code: 'custom', path: ['routes', i, 'tool'], message: `tool \`${r.tool}\` is mapped twice` });
      tools.add(r.tool);
      const compiled = compileRoutePattern(r.path);
      if (typeof compiled === 'string') return;
      const shape = `${r.method} ${compiled.shape}`;
      if (shapes.has(shape)) ctx.addIssue({ code: 'custom', path: ['routes', i, 'path'], message: `\`${r.method} ${r.path}\` is mapped twice` });
      shapes.add(shape);
    });
  });

export type ApiConfig = z.output<typeof ApiSchema>;

/** REST APIs behind the HTTP gateway (`/proxy/<upstream>/…`), by upstream name. */
export const ApisSchema = z
  .record(z.string().max(64), ApiSchema)
  .superRefine((apis, ctx) => {
    for (const name of Object.keys(apis)) {
      if (!API_NAME.test(name)) ctx.addIssue({ code: 'custom', path: [name], message: 'upstream names are lowercase letters, digits, `_` or `-` (at most 32)' });
    }
  })
  .default({});
export type ApisConfig = z.output<typeof ApisSchema>;

/** The catalog names an `apis` config declares, known without reading any OpenAPI document (for config checks). */
export function apiToolNames(apis: ApisConfig): string[] {
  return Object.entries(apis).flatMap(([upstream, api]) => (api.routes ? api.routes.map((r) => `${upstream}.${r.tool}`) : Object.keys(api.openapi?.operations ?? {}).map((op) => `${upstream}.${op}`)));
}

/** Every upstream's actions, most specific route first. */
export type ApiActions = ReadonlyMap<string, readonly ApiAction[]>;

/**
 * Compiles every upstream's routes, reading and validating OpenAPI documents
 * (relative paths from `configDir`). Throws ConfigError naming the upstream,
 * the file and the problem.
 */
export function loadApiActions(apis: ApisConfig, configDir: string = process.cwd()): ApiActions {
  const out = new Map<string, ApiAction[]>();
  for (const [upstream, api] of Object.entries(apis)) {
    const actions = api.routes ? actionsFromRoutes(upstream, api.routes) : actionsFromOpenApi(upstream, api.openapi!, configDir);
    out.set(upstream, sortBySpecificity(actions));
  }
  return out;
}

/** The catalog entries the APIs contribute: `<upstream>.<tool-or-operationId>` with its metadata. Errors: ConfigError. */
export function apiToolSpecs(apis: ApisConfig, configDir: string = process.cwd()): ToolSpec[] {
  return toolSpecsOf(loadApiActions(apis, configDir));
}

export function toolSpecsOf(actions: ApiActions): ToolSpec[] {
  return [...actions.values()].flatMap((list) => list.map((a) => a.spec));
}

function actionsFromRoutes(upstream: string, routes: NonNullable<ApiConfig['routes']>): ApiAction[] {
  return routes.map((r) => {
    const compiled = compileRoutePattern(r.path);
    if (typeof compiled === 'string') throw new ConfigError(`apis.${upstream}: \`${r.path}\`: ${compiled}`);
    return {
      upstream,
      method: r.method,
      path: r.path,
      segments: compiled.segments,
      pathTypes: {},
      queryTypes: {},
      spec: actionSpec(`${upstream}.${r.tool}`, r, r.description),
    };
  });
}

// The OpenAPI document is untrusted input: validated for what the gateway reads, the rest passes.
const SchemaObject = z.looseObject({ type: z.union([z.string(), z.array(z.string())]).optional() });
const RefSchema = z.looseObject({ $ref: z.string() });
const ParameterObjectSchema = z.looseObject({ name: z.string().min(1).max(256), in: z.enum(['path', 'query', 'header', 'cookie']), schema: SchemaObject.optional() });
const ParameterSchema = z.union([RefSchema, ParameterObjectSchema]);
const OperationSchema = z.looseObject({
  operationId: z.string().min(1).max(256).optional(),
  summary: z.string().optional(),
  description: z.string().optional(),
  parameters: z.array(ParameterSchema).optional(),
});
const LOWER_METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;
const PathItemSchema = z.looseObject({
  parameters: z.array(ParameterSchema).optional(),
  ...Object.fromEntries(LOWER_METHODS.map((m) => [m, OperationSchema.optional()])),
});
export const OpenApiDocumentSchema = z.looseObject({
  openapi: z.string().regex(/^3\.\d+(\.\d+)?/, 'expected an OpenAPI 3.x document (`openapi: 3.x`)'),
  paths: z
    .preprocess(
      // Specification extensions (`x-…`) may sit beside the paths.
      (v) => (v !== null && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).filter(([k]) => !k.startsWith('x-'))) : v),
      z.record(z.string().startsWith('/', 'paths start with `/`'), PathItemSchema),
    )
    .default({}),
  components: z.looseObject({ parameters: z.record(z.string(), ParameterSchema).optional() }).optional(),
});
export type OpenApiDocument = z.output<typeof OpenApiDocumentSchema>;
type Parameter = z.output<typeof ParameterSchema>;
type Operation = z.output<typeof OperationSchema>;

/** Reads and validates an OpenAPI 3.x document (JSON or YAML). Errors: ConfigError naming the file and the problem. */
export function loadOpenApiDocument(file: string, where = 'openapi'): OpenApiDocument {
  let text: string;
  try {
    if (statSync(file).size > MAX_OPENAPI_BYTES) throw new Error(`larger than ${MAX_OPENAPI_BYTES} bytes`);
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`${where}: cannot read \`${file}\`: ${(err as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = extname(file).toLowerCase() === '.json' ? JSON.parse(text) : YAML.parse(text, { maxAliasCount: 100 });
  } catch (err) {
    throw new ConfigError(`${where}: \`${file}\` is not valid ${extname(file).toLowerCase() === '.json' ? 'JSON' : 'YAML or JSON'}: ${(err as Error).message}`);
  }
  const parsed = OpenApiDocumentSchema.safeParse(raw);
  if (!parsed.success) throw new ConfigError(`${where}: \`${file}\` is not a usable OpenAPI document: ${formatZodError(parsed.error)}`);
  return parsed.data;
}

function actionsFromOpenApi(upstream: string, mapping: NonNullable<ApiConfig['openapi']>, configDir: string): ApiAction[] {
  const file = resolve(configDir, mapping.file);
  const where = `apis.${upstream}.openapi.file`;
  const doc = loadOpenApiDocument(file, where);
  const found = new Map<string, ApiAction>();
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const lower of LOWER_METHODS) {
      const op = (item as Record<string, Operation | undefined>)[lower];
      const id = op?.operationId;
      if (!op || id === undefined || !Object.hasOwn(mapping.operations, id)) continue; // unmapped: not exposed
      if (found.has(id)) throw new ConfigError(`${where}: \`${file}\`: operationId \`${id}\` is used twice`);
      const compiled = compileRoutePattern(path);
      if (typeof compiled === 'string') throw new ConfigError(`${where}: \`${file}\`: path \`${path}\`: ${compiled}`);
      const meta = mapping.operations[id]!;
      const params = mergeParameters(doc, item.parameters ?? [], op.parameters ?? []);
      found.set(id, {
        upstream,
        method: lower.toUpperCase() as HttpMethod,
        path,
        segments: compiled.segments,
        pathTypes: typesOf(params, 'path'),
        queryTypes: typesOf(params, 'query'),
        spec: actionSpec(`${upstream}.${id}`, meta, (meta.description ?? op.summary ?? op.description ?? '').slice(0, 1000)),
      });
    }
  }
  const missing = Object.keys(mapping.operations).filter((id) => !found.has(id));
  // A typo would otherwise expose nothing and fail only when an agent calls it.
  if (missing.length > 0) throw new ConfigError(`${where}: \`${file}\` has no operation ${missing.map((m) => `\`${m}\``).join(', ')} (apis.${upstream}.openapi.operations)`);
  const shapes = new Map<string, string>();
  for (const [id, a] of found) {
    const shape = `${a.method} ${(compileRoutePattern(a.path) as { shape: string }).shape}`;
    const other = shapes.get(shape);
    if (other) throw new ConfigError(`${where}: \`${file}\`: operations \`${other}\` and \`${id}\` map the same route \`${a.method} ${a.path}\``);
    shapes.set(shape, id);
  }
  return [...found.values()];
}

/** Path-item parameters, overridden by the operation's (same name and location), with local `$ref`s resolved. */
function mergeParameters(doc: OpenApiDocument, itemParams: Parameter[], opParams: Parameter[]): { name: string; in: string; type: string | undefined }[] {
  const byKey = new Map<string, { name: string; in: string; type: string | undefined }>();
  for (const p of [...itemParams, ...opParams]) {
    const ref = RefSchema.safeParse(p);
    const target = ref.success ? doc.components?.parameters?.[ref.data.$ref.replace(/^#\/components\/parameters\//, '')] : p;
    const param = ParameterObjectSchema.safeParse(target);
    if (!param.success) continue; // an unresolvable $ref only loses type information
    const t = param.data.schema?.type;
    const type = Array.isArray(t) ? t.find((x) => x !== 'null') : t;
    byKey.set(`${param.data.in}:${param.data.name}`, { name: param.data.name, in: param.data.in, type });
  }
  return [...byKey.values()];
}

function typesOf(params: { name: string; in: string; type: string | undefined }[], where: 'path' | 'query'): Record<string, ParamType> {
  const out: Record<string, ParamType> = {};
  for (const p of params) {
    if (p.in === where && (p.type === 'integer' || p.type === 'number' || p.type === 'boolean')) out[p.name] = p.type;
  }
  return out;
}

/** Literal segments before `{param}` ones, position by position: `/invoices/search` wins over `/invoices/{id}`. */
function sortBySpecificity(actions: ApiAction[]): ApiAction[] {
  const rank = (a: ApiAction) => a.segments.map((s) => (s.kind === 'literal' ? 0 : s.kind === 'pattern' ? 1 : 2));
  return [...actions].sort((a, b) => {
    const ra = rank(a);
    const rb = rank(b);
    for (let i = 0; i < Math.min(ra.length, rb.length); i++) if (ra[i] !== rb[i]) return ra[i]! - rb[i]!;
    return ra.length - rb.length;
  });
}
