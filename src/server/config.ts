import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import YAML from 'yaml';
import { z } from 'zod';
import { AGENT_NAME, RegisterAgentSchema } from '../identity/index.js';
import { ConfigError, ToolSpecSchema, formatZodError } from '../core/index.js';
import { SecretRefSchema, ValueOrSecretSchema } from '../secrets/index.js';
import { DEFAULT_RESPONSES, RESPONSES, SIGNALS, type DriftResponse, type Signal } from '../monitor/index.js';
import { ApisSchema, UpstreamsSchema, apiToolNames, upstreamToolSpecs } from '../gateway/index.js';

const Jwk = z.record(z.string(), z.unknown());

/** An outbound webhook: JSON, signed `X-Mandate-Signature: sha256=HMAC(timestamp.body)`, retried with backoff. */
const WebhookSchema = z
  .object({
    url: z.string().url(),
    secret: ValueOrSecretSchema,
    attempts: z.number().int().min(1).max(10).default(4),
    backoffMs: z.number().int().min(10).max(60_000).default(500),
    timeoutMs: z.number().int().min(100).max(60_000).default(5000),
  })
  .strict();

/** The one configuration schema; each default sits beside its key. */
export const ConfigSchema = z
  .object({
    /** The SPIFFE trust domain: agents are `spiffe://<trustDomain>/agent/<name>`. */
    trustDomain: z.string().regex(/^[a-z0-9.-]{1,255}$/, 'expected a DNS-like name such as `acme.internal`').default('mandate.local'),
    /** Seen by policies as `context.environment`. */
    environment: z.string().min(1).max(64).default('development'),
    server: z
      .object({
        host: z.string().default('127.0.0.1'),
        port: z.number().int().min(0).max(65535).default(8080),
        /** Requests larger than this are refused with `request.too_large`. */
        bodyLimitBytes: z.number().int().min(1024).max(16 * 1024 * 1024).default(64 * 1024),
        /** When unset, one is generated on first start, printed once, and only its hash is kept. */
        adminToken: z.string().min(16).optional(),
      })
      .strict()
      .default({ host: '127.0.0.1', port: 8080, bodyLimitBytes: 64 * 1024 }),
    store: z
      .object({
        /** `file:<path>` (SQLite, embedded), `:memory:`, or `postgres://…` (multi-replica). */
        url: z
          .string()
          .refine((u) => u === ':memory:' || u.startsWith('file:') || u.startsWith('postgres://') || u.startsWith('postgresql://'), 'expected a file: or postgres:// URL')
          .default('file:.mandate/mandate.db'),
        /** How often each replica re-reads revocations, in case a change notification was missed. */
        catchUpMs: z.number().int().min(100).max(60_000).default(5000),
        /** Unable to reach the store for longer than this, a replica denies every call (`store.unreachable`). */
        failClosedAfterMs: z.number().int().min(1000).max(600_000).default(15_000),
        /**
         * A store call on the decision path that has not answered in this time fails: the
         * call is denied (`store.unreachable`) and so is every call after it, at once,
         * until the store answers a probe again.
         */
        answerWithinMs: z.number().int().min(20).max(10_000).default(250),
        /** How often a store that stopped answering is probed. */
        probeMs: z.number().int().min(10).max(10_000).default(200),
        /** Any query (decision path or not) that has not answered in this time fails and its connection is replaced. */
        queryTimeoutMs: z.number().int().min(100).max(600_000).default(5000),
      })
      .strict()
      .default({ url: 'file:.mandate/mandate.db', catchUpMs: 5000, failClosedAfterMs: 15_000, answerWithinMs: 250, probeMs: 200, queryTimeoutMs: 5000 }),
    /**
     * Per-task state each replica keeps in memory, least recently used dropped first
     * and read back from the store when needed. A task's state also goes when it ends
     * or expires; size these above the number of live tasks.
     */
    cache: z
      .object({
        /** Task records, verified credentials, per-minute rate windows and (embedded store) live call counts. */
        tasks: z.number().int().min(100).max(10_000_000).default(100_000),
        /** Agent records. */
        agents: z.number().int().min(100).max(10_000_000).default(100_000),
        /** Monitor state (counters, labels read, tools called, suspension) per task. */
        monitor: z.number().int().min(100).max(10_000_000).default(100_000),
      })
      .strict()
      .default({ tasks: 100_000, agents: 100_000, monitor: 100_000 }),
    policy: z
      .object({
        /** A directory of `.cedar` files; relative paths are from the config file. */
        dir: z.string().min(1).default('policies'),
        /** Reload when a file in the directory changes (`source: dir` only). */
        watch: z.boolean().default(true),
        /**
         * `dir`: each replica serves its own directory. `store`: the policy set lives in
         * the store (seeded from the directory on first start, replaced with
         * `mandate policy push`), and every replica serves the same version.
         */
        source: z.enum(['dir', 'store']).default('dir'),
      })
      .strict()
      .default({ dir: 'policies', watch: true, source: 'dir' }),
    identity: z
      .object({
        svidTtlSeconds: z.number().int().min(30).max(3600).default(300),
        joinTokenTtlSeconds: z.number().int().min(30).max(7 * 86_400).default(600),
        /** External OIDC/JWT issuers whose tokens may attest agents. */
        oidcIssuers: z
          .array(
            z
              .object({
                issuer: z.string().url(),
                audience: z.string().min(1),
                jwksUri: z.string().url().optional(),
                jwks: z.object({ keys: z.array(Jwk).min(1) }).strict().optional(),
              })
              .strict(),
          )
          .default([]),
      })
      .strict()
      .default({ svidTtlSeconds: 300, joinTokenTtlSeconds: 600, oidcIssuers: [] }),
    credentials: z
      .object({
        /** The `aud` of task credentials: the enforcement points of this deployment. */
        audience: z.string().min(1).default('mandate'),
        /** Upper bound of any task's life; revocations of agents and principals are kept this long. */
        maxTaskTtlSeconds: z.number().int().min(60).max(86_400).default(86_400),
      })
      .strict()
      .default({ audience: 'mandate', maxTaskTtlSeconds: 86_400 }),
    audit: z
      .object({
        /** This writer's hash-chain segment; give every replica its own. */
        segment: z.string().regex(/^[A-Za-z0-9_.:-]{1,64}$/).default('main'),
        /**
         * Records the store cannot take (out of reach, disk full, read-only) are appended here,
         * fsynced, and replayed into the store in order once it answers. Default: beside
         * the SQLite file, or `.mandate/audit-spool-<segment>.jsonl`; in memory for `:memory:`.
         */
        spoolFile: z.string().min(1).optional(),
      })
      .strict()
      .default({ segment: 'main' }),
    approvals: z
      .object({
        /** Who may approve when the step-up policy names nobody (`@approvers`): `group:<name>`, `approver:<id>`, `principal`. */
        approvers: z.array(z.string().regex(/^(principal|group:[A-Za-z0-9_-]{1,64}|approver:[a-z0-9][a-z0-9._@-]{0,63})$/)).min(1).default(['group:approvers']),
        /** A request nobody decides within this expires, and the call is denied. */
        expirySeconds: z.number().int().min(10).max(7 * 86_400).default(600),
        /** Unless a policy says otherwise: the task's principal may not approve its own request. */
        separationOfDuties: z.boolean().default(true),
        /** Longest an enforcement point holds a call open waiting for a person. */
        maxWaitSeconds: z.number().int().min(0).max(600).default(60),
        /** Where new requests are posted (HMAC-SHA256 signed), for a chat or ticketing bridge. */
        webhook: WebhookSchema.optional(),
      })
      .strict()
      .default({ approvers: ['group:approvers'], expirySeconds: 600, separationOfDuties: true, maxWaitSeconds: 60 }),
    monitor: z
      .object({
        /** Denials within one minute that fire `repeated_denials`. */
        denialsPerMinute: z.number().int().min(1).max(1000).default(3),
        /** Where `alert` responses are posted (HMAC-SHA256 signed like the approvals webhook). */
        webhook: WebhookSchema.optional(),
        /** The response to each drift signal: alert, step_up (high-risk calls need a person), suspend, or revoke. */
        responses: z
          .object(Object.fromEntries(SIGNALS.map((s) => [s, z.enum(RESPONSES).default(DEFAULT_RESPONSES[s])])) as Record<Signal, z.ZodDefault<z.ZodEnum<{ [K in DriftResponse]: K }>>>)
          .strict()
          .default(DEFAULT_RESPONSES),
      })
      .strict()
      .default({ denialsPerMinute: 3, responses: DEFAULT_RESPONSES }),
    secrets: z
      .object({
        /** The AES-256-GCM key for brokered secrets, base64 (32 bytes); better set through MANDATE_SECRETS_KEY. */
        key: z.string().optional(),
        /** Used when no key is given: generated with mode 0600 when the first secret is stored. */
        keyFile: z.string().default('.mandate/secrets.key'),
      })
      .strict()
      .default({ keyFile: '.mandate/secrets.key' }),
    /** The tool catalog: a mandate may only declare tools listed here. */
    tools: z.array(ToolSpecSchema).default([]),
    /** MCP servers behind the gateway; their described tools join the catalog as `<upstream>.<tool>`. */
    upstreams: UpstreamsSchema,
    /**
     * REST APIs behind the HTTP gateway (`/proxy/<upstream>/…`): `routes` or an OpenAPI
     * document map requests to actions that join the catalog as `<upstream>.<action>`.
     */
    apis: ApisSchema,
    /** Agents registered at start when absent (examples, fixed fleets). */
    agents: z.array(RegisterAgentSchema).default([]),
  })
  .strict()
  .superRefine((c, ctx) => {
    const names = new Set<string>(upstreamToolSpecs(c.upstreams).map((t) => t.name));
    for (const api of Object.keys(c.apis)) {
      // One name, one upstream: `<name>.` is the tool group policies speak of.
      if (Object.hasOwn(c.upstreams, api)) ctx.addIssue({ code: 'custom', path: ['apis', api], message: `\`${api}\` is already the name of an MCP upstream` });
    }
    for (const name of apiToolNames(c.apis)) {
      if (names.has(name)) ctx.addIssue({ code: 'custom', path: ['apis', name.slice(0, name.indexOf('.'))], message: `tool \`${name}\` is also served by an MCP upstream` });
      names.add(name);
    }
    c.tools.forEach((t, i) => {
      if (names.has(t.name)) ctx.addIssue({ code: 'custom', path: ['tools', i, 'name'], message: `tool \`${t.name}\` is listed twice (or also served by an upstream or an API)` });
      names.add(t.name);
    });
    c.agents.forEach((a, i) => {
      if (!AGENT_NAME.test(a.name)) ctx.addIssue({ code: 'custom', path: ['agents', i, 'name'], message: 'invalid agent name' });
    });
  });

export type Config = Readonly<z.output<typeof ConfigSchema>>;

/** Every scalar key that a `MANDATE_*` variable can set; the variable name is the path in SNAKE_CASE. */
export const ENV_KEYS = [
  'trustDomain',
  'environment',
  'server.host',
  'server.port',
  'server.bodyLimitBytes',
  'server.adminToken',
  'store.url',
  'store.catchUpMs',
  'store.failClosedAfterMs',
  'store.answerWithinMs',
  'store.probeMs',
  'store.queryTimeoutMs',
  'cache.tasks',
  'cache.agents',
  'cache.monitor',
  'policy.dir',
  'policy.watch',
  'policy.source',
  'identity.svidTtlSeconds',
  'identity.joinTokenTtlSeconds',
  'credentials.audience',
  'credentials.maxTaskTtlSeconds',
  'audit.segment',
  'audit.spoolFile',
  'monitor.denialsPerMinute',
  'approvals.expirySeconds',
  'approvals.separationOfDuties',
  'approvals.maxWaitSeconds',
  'secrets.key',
  'secrets.keyFile',
] as const;

export function envName(path: string): string {
  return `MANDATE_${path
    .split('.')
    .map((p) => p.replace(/([a-z0-9])([A-Z])/g, '$1_$2'))
    .join('_')
    .toUpperCase()}`;
}

/**
 * Reads the config file (YAML or JSON), applies `MANDATE_*` overrides and
 * validates. A relative policy directory or OpenAPI document resolves from the config file's folder. Errors name
 * the path of every bad key.
 */
export function loadConfig(file: string | undefined, env: NodeJS.ProcessEnv = process.env): Config {
  let raw: Record<string, unknown> = {};
  const base = file ? dirname(resolve(file)) : process.cwd();
  if (file) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new ConfigError(`config: cannot read \`${file}\`: ${(err as Error).message}`);
    }
    try {
      raw = (YAML.parse(text) ?? {}) as Record<string, unknown>;
    } catch (err) {
      throw new ConfigError(`config: \`${file}\` is not valid YAML or JSON: ${(err as Error).message}`);
    }
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new ConfigError(`config: \`${file}\` must hold a mapping at the top`);
  }
  for (const path of ENV_KEYS) {
    const value = env[envName(path)];
    if (value === undefined) continue;
    const parts = path.split('.');
    let node = raw;
    for (const part of parts.slice(0, -1)) {
      if (node[part] === undefined || node[part] === null || typeof node[part] !== 'object') node[part] = {};
      node = node[part] as Record<string, unknown>;
    }
    node[parts[parts.length - 1]!] = envScalar(value);
  }
  const parsed = ConfigSchema.safeParse(raw);
  if (!parsed.success) throw new ConfigError(`config${file ? ` \`${file}\`` : ''}: ${formatZodError(parsed.error)}`);
  const config = parsed.data;
  config.policy.dir = resolve(base, config.policy.dir);
  for (const api of Object.values(config.apis)) if (api.openapi) api.openapi.file = resolve(base, api.openapi.file);
  // The store lives where the control plane runs (./.mandate/ by default), not beside the config file.
  if (config.store.url.startsWith('file:')) config.store.url = `file:${resolve(config.store.url.slice(5))}`;
  config.secrets.keyFile = resolve(config.secrets.keyFile);
  if (config.audit.spoolFile) config.audit.spoolFile = resolve(config.audit.spoolFile);
  // A stdio upstream runs in the config file's folder unless told otherwise, so relative paths in its args read as they are written.
  for (const upstream of Object.values(config.upstreams)) if (upstream.transport === 'stdio') upstream.cwd = resolve(base, upstream.cwd ?? '.');
  return deepFreeze(config);
}

/** `8080` is a number and `true` a boolean, as in the file; anything else stays the string it is. */
function envScalar(value: string): unknown {
  try {
    const parsed: unknown = YAML.parse(value);
    return typeof parsed === 'number' || typeof parsed === 'boolean' ? parsed : value;
  } catch {
    return value;
  }
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

const REDACTED = '[redacted]';

/**
 * A key whose value is a credential, in whatever section it sits: the key's last
 * word is the tell (`adminToken`, `secret`, `key`, `clientSecret`, `api_key`,
 * `sslpassword`), so `joinTokenTtlSeconds` and `keyFile` stay visible.
 */
const SECRET_WORDS = ['secret', 'token', 'password', 'passwd', 'passphrase', 'key', 'credential'];
/** Maps whose values are sent upstream as they are: header and environment values are credentials more often than not. */
const CREDENTIAL_MAPS = new Set(['headers', 'env']);

function namesASecret(key: string): boolean {
  const words = key.split(/[_.-]|(?<=[a-z0-9])(?=[A-Z])/).filter(Boolean);
  const last = (words[words.length - 1] ?? '').toLowerCase();
  return SECRET_WORDS.some((w) => last.endsWith(w)); // `apikey`, `sslpassword` too
}

/**
 * The effective configuration with secrets redacted, for `mandate config print`.
 * Structural, so a secret field added later cannot leak by being forgotten here:
 * the value of every key that names a secret, token, password or key, every header
 * and environment value, and the password and secret-named query parameters of any
 * URL are masked, unless the schema allows only a closed set of values there. A
 * `{ secret: "name" }` reference stays visible: it carries the name of a brokered
 * secret, never its value.
 */
export function redactConfig(config: Config): unknown {
  return redactNode(config, [ConfigSchema as unknown as SchemaNode], false);
}

function redactNode(value: unknown, schemas: SchemaNode[], sensitive: boolean): unknown {
  if (value === undefined || value === null) return value;
  if (SecretRefSchema.safeParse(value).success) return value;
  if (Array.isArray(value)) return value.map((v) => redactNode(v, schemas.flatMap((s) => childSchemas(s, 0)), sensitive));
  if (typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => {
        // A secret-named key marks its value; an object under one (a tool called `read_token`) is judged by its own keys.
        const marks = CREDENTIAL_MAPS.has(k) || (namesASecret(k) && (typeof v !== 'object' || v === null || Array.isArray(v)));
        return [k, redactNode(v, schemas.flatMap((s) => childSchemas(s, k)), sensitive || marks)];
      }),
    );
  }
  // A value from a closed vocabulary (`monitor.responses.forbidden_secret: revoke`) is no secret.
  if (sensitive) return schemas.length > 0 && schemas.every(isClosedVocabulary) ? value : REDACTED;
  return typeof value === 'string' ? redactUrl(value) : value;
}

/** Just enough of a zod schema's definition to follow the config's shape. */
interface SchemaNode {
  _zod: { def: { type: string; innerType?: SchemaNode; out?: SchemaNode; shape?: Record<string, SchemaNode>; valueType?: SchemaNode; element?: SchemaNode; options?: SchemaNode[] } };
}

const WRAPPERS = new Set(['optional', 'default', 'prefault', 'nullable', 'nonoptional', 'readonly', 'catch']);

function unwrap(schema: SchemaNode): SchemaNode[] {
  const def = schema._zod.def;
  if (WRAPPERS.has(def.type) && def.innerType) return unwrap(def.innerType);
  if (def.type === 'pipe' && def.out) return unwrap(def.out);
  if (def.type === 'union' && def.options) return def.options.flatMap(unwrap);
  return [schema];
}

function childSchemas(schema: SchemaNode, key: string | number): SchemaNode[] {
  return unwrap(schema).flatMap((s) => {
    const def = s._zod.def;
    if (def.type === 'object') return typeof key === 'string' && def.shape?.[key] ? [def.shape[key]] : [];
    if (def.type === 'record') return def.valueType ? [def.valueType] : [];
    if (def.type === 'array') return def.element ? [def.element] : [];
    return [];
  });
}

function isClosedVocabulary(schema: SchemaNode): boolean {
  return unwrap(schema).every((s) => ['enum', 'literal', 'boolean', 'number'].includes(s._zod.def.type));
}

/** `postgres://user:pw@host/db?sslpassword=…` keeps its shape with the credentials masked. */
function redactUrl(text: string): string {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) return text;
  return text
    .replace(/^([a-z][a-z0-9+.-]*:\/\/[^/?#@:]*:)[^/?#@]*@/i, `$1${REDACTED}@`)
    .replace(/([?&])([^=&#]+)=([^&#]*)/g, (param: string, sep: string, name: string) => (namesASecret(name) ? `${sep}${name}=${REDACTED}` : param));
}
