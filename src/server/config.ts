import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import YAML from 'yaml';
import { z } from 'zod';
import { AGENT_NAME, RegisterAgentSchema } from '../identity/index.js';
import { ConfigError, ToolSpecSchema, formatZodError } from '../core/index.js';
import { SecretRefSchema, ValueOrSecretSchema } from '../secrets/index.js';
import { DEFAULT_RESPONSES, RESPONSES, SIGNALS, type DriftResponse, type Signal } from '../monitor/index.js';
import { ApisSchema, UpstreamsSchema, apiToolNames, exposureProblems, upstreamToolSpecs } from '../gateway/index.js';
import { LOG_LEVELS } from './telemetry/index.js';

const Jwk = z.record(z.string(), z.unknown());

const WebhookSchema = z
  .object({
    url: z.string().url().describe('Where deliveries are posted.'),
    secret: ValueOrSecretSchema.describe('The HMAC key: text, or `{ secret: "<name>" }` for a brokered secret.'),
    attempts: z.number().int().min(1).max(10).default(4).describe('Deliveries tried before giving up.'),
    backoffMs: z.number().int().min(10).max(60_000).default(500).describe('The wait before the first retry, doubled after each.'),
    timeoutMs: z.number().int().min(100).max(60_000).default(5000).describe('How long one delivery may take.'),
  })
  .strict();

/**
 * The one configuration schema; each default and description sits beside its key, and
 * docs/configuration.md is generated from it. Sections take `.prefault({})`: an absent
 * section gets every key's own default, so no default is written twice.
 */
export const ConfigSchema = z
  .object({
    trustDomain: z
      .string()
      .regex(/^[a-z0-9.-]{1,255}$/, 'expected a DNS-like name such as `acme.internal`')
      .default('mandate.local')
      .describe('The SPIFFE trust domain: agents are `spiffe://<trustDomain>/agent/<name>`.'),
    environment: z.string().min(1).max(64).default('development').describe('Seen by policies as `context.environment`.'),
    server: z
      .object({
        host: z.string().default('127.0.0.1').describe('The address the API listens on.'),
        port: z.number().int().min(0).max(65535).default(8080).describe('The port the API listens on; `0` picks a free one.'),
        bodyLimitBytes: z
          .number()
          .int()
          .min(1024)
          .max(16 * 1024 * 1024)
          .default(64 * 1024)
          .describe('Requests larger than this are refused with `413 request.too_large`.'),
        resultBodyLimitBytes: z
          .number()
          .int()
          .min(1024)
          .max(64 * 1024 * 1024)
          .default(4 * 1024 * 1024)
          .describe('The limit for `POST /v1/tasks/{id}/results`, which may carry a result\'s content so the values it names count as seen.'),
        adminToken: z.string().min(16).optional().describe('When unset, one is generated on first start, printed once, and only its hash is kept.'),
        allowedOrigins: z
          .array(z.string().regex(/^https?:\/\/[^/\s]+$/, 'an origin is `http(s)://host[:port]`, with no path'))
          .default([])
          .describe(
            'Browser origins that may call the MCP gateway (a request with any other `Origin` header is refused, `gateway.origin_forbidden`: DNS rebinding protection). Pages served from a loopback host (`localhost`, `127.0.0.1`, `[::1]`) are always allowed; requests without `Origin` (agents, not browsers) are not affected.',
          ),
        workers: z
          .number()
          .int()
          .min(1)
          .max(64)
          .optional()
          .describe(
            'Processes `mandate serve` runs, sharing the port, each writing its own audit segment (`<segment>.<n>` from the second on). Default: the machine\'s cores for a file or PostgreSQL store; a `:memory:` store allows only 1.',
          ),
      })
      .strict()
      .prefault({})
      .describe('The `/v1` API.'),
    log: z
      .object({
        level: z
          .enum(LOG_LEVELS)
          .default('info')
          .describe('The lowest level written: `info` has one `request completed` line per HTTP request (with its `reqId`, the route pattern, status and duration); `warn` keeps problems and the generated admin token; `silent` writes nothing.'),
      })
      .strict()
      .prefault({})
      .describe('Structured logs: one JSON object a line on standard output (pino), each HTTP request\'s lines carrying its `reqId`, also returned as `x-request-id`.'),
    metrics: z
      .object({
        enabled: z.boolean().default(true).describe('Serve Prometheus metrics at `GET /metrics` and count them; `false` removes the route and the counting.'),
        token: z
          .string()
          .min(16)
          .optional()
          .describe('A bearer token for scrapers, so Prometheus needs no admin token (`authorization.credentials` in a scrape config). The admin token is always accepted; without either, `/metrics` answers 401: decision counts are not for everyone.'),
      })
      .strict()
      .prefault({})
      .describe('Prometheus metrics ([architecture.md](architecture.md#observability)). Traces are configured by the standard `OTEL_*` variables, not here.'),
    store: z
      .object({
        url: z
          .string()
          .refine((u) => u === ':memory:' || u.startsWith('file:') || u.startsWith('postgres://') || u.startsWith('postgresql://'), 'expected a file: or postgres:// URL')
          .default('file:.mandate/mandate.db')
          .describe('`file:<path>` (SQLite, WAL, embedded), `:memory:`, or `postgres://…[?schema=name]` (multi-replica).'),
        catchUpMs: z.number().int().min(100).max(60_000).default(5000).describe('How often each replica re-reads revocations, in case a change notification was missed.'),
        failClosedAfterMs: z.number().int().min(1000).max(600_000).default(15_000).describe('Unable to reach the store for longer than this, a replica denies every call (`store.unreachable`).'),
        answerWithinMs: z
          .number()
          .int()
          .min(20)
          .max(10_000)
          .default(250)
          .describe(
            'A store call on the decision path that has not answered in this time fails: the call is denied (`store.unreachable`) and so is every call after it, at once, until the store answers a probe again. A lost connection, a full disk, a read-only or locked file mark the store down the same way.',
          ),
        probeMs: z.number().int().min(10).max(10_000).default(200).describe('How often a store that stopped answering is probed.'),
        queryTimeoutMs: z.number().int().min(100).max(600_000).default(5000).describe('Any query (decision path or not) that has not answered in this time fails and its connection is replaced.'),
      })
      .strict()
      .prefault({})
      .describe('Where state lives: SQLite for one replica, PostgreSQL for several.'),
    cache: z
      .object({
        tasks: z.number().int().min(100).max(10_000_000).default(100_000).describe('Task records, verified credentials, per-minute rate windows and (embedded store) live call counts.'),
        agents: z.number().int().min(100).max(10_000_000).default(100_000).describe('Agent records.'),
        monitor: z.number().int().min(100).max(10_000_000).default(100_000).describe('Monitor state (counters, labels read, tools called, suspension) per task.'),
        decisions: z
          .number()
          .int()
          .min(0)
          .max(10_000_000)
          .default(100_000)
          .describe(
            'Cedar answers kept per policy version, keyed by exactly the facts of a request the policies read ([policy.md](policy.md#the-decision-cache)); 0 asks Cedar on every call. A policy set using a construct the analysis does not understand is never cached.',
          ),
      })
      .strict()
      .prefault({})
      .describe(
        'Per-task state each replica keeps in memory, least recently used dropped first and read back from the store when needed. A task\'s state also goes when it ends or expires; size these above the number of live tasks ([memory per live task](architecture.md#memory-per-live-task)).',
      ),
    policy: z
      .object({
        dir: z.string().min(1).default('policies').describe('A directory of `.cedar` files; relative paths are from the config file.'),
        watch: z.boolean().default(true).describe('Reload when a file in the directory changes (`source: dir` only); a broken edit keeps the last good set.'),
        source: z
          .enum(['dir', 'store'])
          .default('dir')
          .describe(
            '`dir`: each replica serves its own directory. `store`: the policy set lives in the store (seeded from the directory on first start, replaced with `mandate policy push <dir>`), and every replica serves the same version.',
          ),
      })
      .strict()
      .prefault({})
      .describe('The Cedar ceiling ([policy.md](policy.md)).'),
    identity: z
      .object({
        svidTtlSeconds: z.number().int().min(30).max(3600).default(300).describe('JWT-SVID lifetime.'),
        joinTokenTtlSeconds: z.number().int().min(30).max(7 * 86_400).default(600).describe('Default join-token lifetime.'),
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
          .default([])
          .describe('External OIDC/JWT issuers whose tokens may attest agents: `issuer`, `audience`, and `jwksUri` or inline `jwks` (else discovered).'),
      })
      .strict()
      .prefault({})
      .describe('Workload identity: SVIDs, join tokens, trusted issuers.'),
    principals: z
      .object({
        issuers: z
          .array(
            z
              .object({
                issuer: z.string().url(),
                audience: z.string().min(1).describe('The `aud` the id tokens carry: the client id Mandate is registered under.'),
                jwksUri: z.string().url().optional(),
                jwks: z.object({ keys: z.array(Jwk).min(1) }).strict().optional(),
                claim: z.string().min(1).default('sub').describe('The claim that names the person, the task\'s principal (`sub`, `email`, `preferred_username`).'),
              })
              .strict(),
          )
          .default([])
          .describe('Identity providers of the people agents act for: an id token of theirs, exchanged at `POST /v1/token`, grants a task on that person\'s behalf. `jwksUri` or inline `jwks`, else discovered.'),
        requireToken: z
          .boolean()
          .default(false)
          .describe('Refuse a mandate whose `onBehalfOf` is only the agent\'s word: a task acts for a person only when that person\'s id token was exchanged for it (delegated tasks inherit it).'),
      })
      .strict()
      .prefault({})
      .describe('The people agents act for.'),
    credentials: z
      .object({
        audience: z.string().min(1).default('mandate').describe('The `aud` of task credentials: the enforcement points of this deployment.'),
        maxTaskTtlSeconds: z.number().int().min(60).max(86_400).default(86_400).describe('Upper bound of any task\'s life; revocations of agents and principals are kept this long.'),
      })
      .strict()
      .prefault({})
      .describe('Task credentials.'),
    delegation: z
      .object({
        maxDepth: z.number().int().min(0).max(16).default(4).describe('How deep a delegation chain may go: a root task is at depth 0, its child at 1. Policies can be stricter (`context.task.delegationDepth`).'),
        maxChildren: z.number().int().min(0).max(10_000).default(32).describe('Live child tasks one task may have at once.'),
      })
      .strict()
      .prefault({})
      .describe('Delegation: one agent handing part of its task to another (`POST /v1/token`, or `parentTask` in a mandate). A child is always narrower than its parent; these bound how far and how wide.'),
    audit: z
      .object({
        segment: z
          .string()
          .regex(/^[A-Za-z0-9_.:-]{1,64}$/)
          .default('main')
          .describe('This writer\'s hash-chain segment; give every replica its own.'),
        spoolFile: z
          .string()
          .min(1)
          .optional()
          .describe(
            'Records the store cannot take (out of reach, disk full, read-only) are appended here, fsynced, and replayed into the store in order once it answers. Default: beside the SQLite file, or `.mandate/audit-spool-<segment>.jsonl`; in memory for `:memory:`.',
          ),
        witnessFile: z
          .string()
          .min(1)
          .optional()
          .describe(
            'Append-only file that keeps every signed checkpoint outside the store, for `mandate audit verify` to hold the store against: put it where the database\'s writers cannot write. Default: `audit-witness.jsonl` beside the SQLite file, or `.mandate/audit-witness-<hash of the store URL>.jsonl`; none for `:memory:`.',
          ),
        arguments: z
          .enum(['hash', 'values'])
          .default('hash')
          .describe(
            'What a decision record keeps of the call\'s arguments. `hash`: their names and a SHA-256 of their canonical JSON (`argsHash`), never a value. `values`: also the arguments themselves (`args`), with every field whose name says it is a secret (password, token, key, secret, authorization, cookie, credential, session) and every value that is a credential (a JWT, a PEM private key, a bearer or basic header) replaced by `[redacted]`; arguments over 16 KiB are kept as `[omitted: <n> bytes]`. Brokered secrets never pass through arguments.',
          ),
        checkpointEveryEvents: z.number().int().min(1).max(1_000_000).default(10_000).describe('A signed checkpoint of the chain after this many events…'),
        checkpointEverySeconds: z.number().int().min(1).max(86_400).default(60).describe('…or after this many seconds with events not yet covered.'),
        sink: z
          .object({
            file: z
              .string()
              .min(1)
              .optional()
              .describe('Append every event to this file, one JSON line each, fsynced: for a log shipper to pick up. With `--workers`, worker n writes `<file>` with `.<n>` before the extension.'),
            webhook: z
              .object({
                url: z.string().url().describe('Where batches of events are posted, as JSON lines (`application/x-ndjson`); any 2xx answer takes them.'),
                headers: z
                  .record(z.string(), ValueOrSecretSchema)
                  .default({})
                  .describe('Sent with every post (a collector\'s `Authorization`; a `content-type` here replaces `application/x-ndjson`): text, or `{ secret: "<name>" }` for a brokered secret, read again at most once a minute.'),
                timeoutMs: z.number().int().min(100).max(120_000).default(10_000).describe('How long one post may take before it counts as failed.'),
              })
              .strict()
              .optional()
              .describe('Post every event to a SIEM\'s HTTP collector.'),
            format: z
              .enum(['jsonl', 'ocsf'])
              .default('jsonl')
              .describe('`jsonl`: each event exactly as stored (hashes included, so `mandate audit verify --file` checks a file sink); `ocsf`: each event as an OCSF 1.8.0 event ([ocsf.md](ocsf.md)).'),
            batchEvents: z.number().int().min(1).max(10_000).default(500).describe('Events read from the store and delivered at once.'),
            backoffMs: z.number().int().min(10).max(60_000).default(500).describe('The wait before retrying a failed delivery, doubled after each failure…'),
            maxBackoffMs: z.number().int().min(100).max(3_600_000).default(60_000).describe('…up to this.'),
          })
          .strict()
          .optional()
          .describe(
            'Deliver the trail to a SIEM: a `file` or a `webhook` (one of them). Every event at least once, in order per segment, read from the store behind the writer, so a slow or failing sink never delays a decision; failures are retried with backoff, and the cursor kept in the store makes a restart resume where delivery stopped. Each writer delivers its own segments.',
          ),
      })
      .strict()
      .prefault({})
      .describe('The hash-chained audit trail.'),
    approvals: z
      .object({
        approvers: z
          .array(z.string().regex(/^(principal|group:[A-Za-z0-9_-]{1,64}|approver:[a-z0-9][a-z0-9._@-]{0,63})$/))
          .min(1)
          .default(['group:approvers'])
          .describe('Who may approve when the step-up policy names nobody (`@approvers`): `group:<name>`, `approver:<id>`, `principal`.'),
        expirySeconds: z.number().int().min(10).max(7 * 86_400).default(600).describe('A request nobody decides within this expires, and the call is denied.'),
        separationOfDuties: z.boolean().default(true).describe('Unless a policy says otherwise: the task\'s principal may not approve its own request.'),
        maxWaitSeconds: z.number().int().min(0).max(600).default(60).describe('Longest an enforcement point holds a call open waiting for a person.'),
        webhook: WebhookSchema.optional().describe(
          'Where new requests are posted for a chat or ticketing bridge: JSON, signed `X-Mandate-Signature: sha256=HMAC(timestamp.body)`, retried with backoff.',
        ),
      })
      .strict()
      .prefault({})
      .describe('Step-up requests decided by people.'),
    console: z
      .object({
        oidc: z
          .object({
            issuer: z.string().url().describe('The identity provider\'s issuer URL; its endpoints and keys are discovered from `<issuer>/.well-known/openid-configuration`.'),
            clientId: z.string().min(1).describe('The console\'s client id at the identity provider: the `aud` of the id tokens it accepts.'),
            clientSecret: z.string().min(1).optional().describe('The client secret of a confidential client (sent with HTTP Basic). Absent: a public client, protected by PKCE alone.'),
            scopes: z.array(z.string().min(1)).default(['openid', 'profile', 'email']).describe('Scopes asked for; `openid` is required.'),
            groupsClaim: z.string().min(1).default('groups').describe('The id token claim that lists the person\'s groups (a `/` path reaches a nested claim).'),
          })
          .strict()
          .optional()
          .describe('The organisation\'s OpenID provider people sign in with (authorization code flow with PKCE). Absent: console sign-in is off and `/console/login` says so.'),
        roles: z
          .object({
            viewer: z.array(z.string().min(1)).default([]).describe('Groups whose members may view tasks, decisions, approvals and the trail.'),
            approver: z.array(z.string().min(1)).default([]).describe('Groups whose members may decide step-up requests (and view).'),
            operator: z.array(z.string().min(1)).default([]).describe('Groups whose members may revoke, suspend and resume tasks (and view).'),
            admin: z.array(z.string().min(1)).default([]).describe('Groups whose members hold every role.'),
          })
          .strict()
          .prefault({})
          .describe('Which identity provider groups give which console role; a person in no listed group cannot sign in.'),
        sessionTtlSeconds: z.number().int().min(60).max(7 * 86_400).default(8 * 3600).describe('How long a console session lasts; the person signs in again after.'),
        publicUrl: z
          .string()
          .regex(/^https?:\/\/[^/\s]+$/, 'an origin is `http(s)://host[:port]`, with no path')
          .optional()
          .describe('The origin people reach the console at, when a proxy stands in front: the redirect URI is `<publicUrl>/console/callback` and the origin unsafe requests must come from. Absent: taken from each request\'s `Host`.'),
        maxStreams: z.number().int().min(1).max(10_000).default(32).describe('Live decision streams (`GET /v1/decisions/stream`) one replica serves at once; one more is refused with 503 `request.too_many_streams`.'),
        streamPollMs: z.number().int().min(50).max(10_000).default(300).describe('How often a live decision stream reads the store for new decisions, those of every replica included.'),
        heartbeatSeconds: z.number().int().min(1).max(300).default(15).describe('A comment line sent on an idle live decision stream this often, so proxies keep it open.'),
      })
      .strict()
      .prefault({})
      .describe('Sign-in to the operator console (`/console/`) with the organisation\'s identity provider, the roles its groups give, and its live decision streams.'),
    monitor: z
      .object({
        denialsPerMinute: z.number().int().min(1).max(1000).default(3).describe('Denials within one minute that fire `repeated_denials`.'),
        webhook: WebhookSchema.optional().describe('Where `alert` responses are posted, signed like the approvals webhook.'),
        responses: z
          .object(
            Object.fromEntries(SIGNALS.map((s) => [s, z.enum(RESPONSES).default(DEFAULT_RESPONSES[s]).describe(`The response to \`${s}\`.`)])) as Record<
              Signal,
              z.ZodDefault<z.ZodEnum<{ [K in DriftResponse]: K }>>
            >,
          )
          .strict()
          .prefault({})
          .describe('The response to each drift signal: alert, tighten (alert, then refuse calls whose targets are untrusted or unseen while declared and trusted work goes on), step_up (high-risk calls need a person), suspend (everything refused until a person resumes the task), or revoke.'),
      })
      .strict()
      .prefault({})
      .describe('Per-task behaviour and drift signals.'),
    secrets: z
      .object({
        key: z.string().optional().describe('The AES-256-GCM key for brokered secrets, base64 (32 bytes); better set through `MANDATE_SECRETS_KEY`.'),
        keyFile: z.string().default('.mandate/secrets.key').describe('Used when no key is given: generated with mode 0600 when the first secret is stored.'),
      })
      .strict()
      .prefault({})
      .describe('Brokered secrets, encrypted at rest.'),
    tools: z
      .array(ToolSpecSchema)
      .default([])
      .describe(
        'The tool catalog: a mandate may only declare tools listed here. Each has `name` (`<server>.<tool>`), `kind`, optional `effects` (further kinds the tool also performs, such as `[send]` for a calendar write that e-mails the participants: a call is decided under the kind and each effect, and allowed only when all allow), `risk`, `labels` (carried by every result, and `resource.labels` in policy), `tags` (policy only: `resource.tags`; results do not carry them), `labelRules` (labels by resource: `{ arg, prefix or equals, labels }`), `targets` (the arguments that name where the call goes, whose provenance policy sees), `description` and optional `params` (`{ to: { type: array, items: { type: string } } }`: a mandate constraint on an argument the tool lacks, or of the wrong type, is refused at grant time).',
      ),
    upstreams: UpstreamsSchema.describe(
      'MCP servers behind the gateway at `/mcp`: `transport: stdio` (`command`, `args`, `env`, `cwd`, `idleStopMs`) or `transport: http` (`url`, `headers`); `timeoutMs`; `tools` by upstream name with `kind`, `risk`, `labels`, optional `effects`, `tags`, `params` (when absent, a grant that constrains the tool\'s arguments learns them from the upstream\'s `inputSchema`, and refuses those constraints with `mandate.params_unavailable` if the upstream cannot list its tools within `timeoutMs`); optional `resources` and `prompts` metadata; optional `transactionToken` (`header`, default `Txn-Token`; `ttlSeconds`, default 60; `audience`, default the `url`, or the name for stdio): each allowed call carries a transaction token ([transaction-tokens.md](transaction-tokens.md)). Each described tool joins the catalog as `<upstream>.<tool>`, the name policies and mandates use; agents see it as `<upstream>_<tool>` (`expose.prefix`, `expose.separator`; `prefix: ""` for the upstream\'s own names), a name every model provider accepts; a value in `env` or `headers` may be `{ secret: "<name>" }` ([gateway/mcp](../src/gateway/mcp/README.md)).',
    ),
    apis: ApisSchema.describe(
      'REST APIs behind the HTTP gateway at `/proxy/<upstream>/…`: `baseUrl`, `timeoutMs`, `headers`, and either `routes[]` (`method`, `path` like `/invoices/{id}`, `tool`, `kind`, `risk`, `labels`, optional `effects`, `tags`) or `openapi` (`file`, relative to the config file, and `operations` by `operationId`), and optional `transactionToken` (`header`, default `Txn-Token`; `ttlSeconds`, default 60; `audience`, default `baseUrl`: each allowed request carries a transaction token, [transaction-tokens.md](transaction-tokens.md)); each becomes the tool `<upstream>.<tool-or-operationId>`, and unmapped routes are denied ([gateway/http](../src/gateway/http/README.md)).',
    ),
    agents: z.array(RegisterAgentSchema).default([]).describe('Agents registered at start when absent (examples, fixed fleets): `name`, `groups`, `attestation`.'),
  })
  .strict()
  .superRefine((c, ctx) => {
    const names = new Set<string>(upstreamToolSpecs(c.upstreams).map((t) => t.name));
    for (const p of exposureProblems(c.upstreams)) ctx.addIssue({ code: 'custom', path: ['upstreams', p.upstream, 'expose'], message: p.message });
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
    const workers = c.server.workers ?? 1;
    if (workers > 1 && c.store.url === ':memory:') ctx.addIssue({ code: 'custom', path: ['server', 'workers'], message: 'a `:memory:` store lives in one process: use 1 worker, or a file: or postgres:// store' });
    if (`${c.audit.segment}.${workers}`.length > 64 && workers > 1) ctx.addIssue({ code: 'custom', path: ['audit', 'segment'], message: `too long for ${workers} workers: \`<segment>.<n>\` must fit in 64 characters` });
    if (c.console.oidc && !c.console.oidc.scopes.includes('openid')) ctx.addIssue({ code: 'custom', path: ['console', 'oidc', 'scopes'], message: 'must include `openid`' });
    if (c.console.oidc && Object.values(c.console.roles).every((groups) => groups.length === 0)) ctx.addIssue({ code: 'custom', path: ['console', 'roles'], message: 'map at least one group to a role, or nobody can sign in' });
    const sink = c.audit.sink;
    if (sink && (sink.file === undefined) === (sink.webhook === undefined)) ctx.addIssue({ code: 'custom', path: ['audit', 'sink'], message: 'give either `file` or `webhook`' });
  });

export type Config = Readonly<z.output<typeof ConfigSchema>>;

/**
 * `MANDATE_*` variables that are not configuration keys: the CLI's and the test and
 * benchmark harnesses'. Start-up warns about any other `MANDATE_*` name that maps to no key.
 */
export const OTHER_MANDATE_VARIABLES = [
  'MANDATE_URL',
  'MANDATE_ADMIN_TOKEN',
  'MANDATE_APPROVER_TOKEN',
  'MANDATE_JOIN_TOKEN',
  'MANDATE_TEST_POSTGRES_URL',
  'MANDATE_BENCH_POSTGRES_URL',
  'MANDATE_TEST_GATEWAY_ONLY_VARIABLE',
  // A worker's slot, set by `mandate serve` for the processes it starts (src/server/workers.ts).
  'MANDATE_WORKER',
] as const;

/** Just enough of a zod schema's definition to follow the config's shape. */
interface SchemaNode {
  _zod: { def: { type: string; innerType?: SchemaNode; out?: SchemaNode; shape?: Record<string, SchemaNode>; valueType?: SchemaNode; element?: SchemaNode; options?: SchemaNode[] } };
}

const WRAPPERS = new Set(['optional', 'default', 'prefault', 'nullable', 'nonoptional', 'readonly', 'catch']);

/** The schema under its optional, default and similar wrappers. */
function unwrapWrappers(schema: SchemaNode): SchemaNode {
  const def = schema._zod.def;
  return WRAPPERS.has(def.type) && def.innerType ? unwrapWrappers(def.innerType) : schema;
}

const SCALARS = new Set(['string', 'number', 'boolean', 'enum']);

/**
 * Every scalar key a `MANDATE_*` variable can set, read off the schema: the leaves of
 * nested objects that hold a string, number, boolean or enum. Lists, maps and unions
 * are set in the file only.
 */
export function envKeys(schema: SchemaNode = ConfigSchema as unknown as SchemaNode, prefix = ''): string[] {
  const def = unwrapWrappers(schema)._zod.def;
  if (def.type !== 'object' || !def.shape) return [];
  return Object.entries(def.shape).flatMap(([key, child]) => {
    const path = `${prefix}${key}`;
    const type = unwrapWrappers(child)._zod.def.type;
    if (type === 'object') return envKeys(child, `${path}.`);
    return SCALARS.has(type) ? [path] : [];
  });
}

/** The keys `MANDATE_*` variables can set, in schema order. */
export const ENV_KEYS: readonly string[] = Object.freeze(envKeys());

/** The variable for a key: the path in SNAKE_CASE (`store.catchUpMs` → `MANDATE_STORE_CATCH_UP_MS`). */
export function envName(path: string): string {
  return `MANDATE_${path
    .split('.')
    .map((p) => p.replace(/([a-z0-9])([A-Z])/g, '$1_$2'))
    .join('_')
    .toUpperCase()}`;
}

const ENV_NAMES = new Map(ENV_KEYS.map((key) => [envName(key), key]));
// INVARIANT: one variable, one key; two keys that spell the same in SNAKE_CASE could not both be set.
if (ENV_NAMES.size !== ENV_KEYS.length) throw new TypeError('config: two keys map onto the same MANDATE_* variable');

/** A `MANDATE_*` variable that sets nothing, probably misspelt: named with the closest known variable. */
function unknownVariableWarnings(env: NodeJS.ProcessEnv): string[] {
  const known = [...ENV_NAMES.keys(), ...OTHER_MANDATE_VARIABLES];
  return Object.keys(env)
    .filter((name) => name.startsWith('MANDATE_') && !known.includes(name))
    .sort()
    .map((name) => {
      const closest = known.reduce((best, k) => (editDistance(name, k) < editDistance(name, best) ? k : best));
      return `unknown variable \`${name}\` sets nothing; closest known: \`${closest}\``;
    });
}

function editDistance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) next[j] = Math.min(row[j]! + 1, next[j - 1]! + 1, row[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    row = next;
  }
  return row[b.length]!;
}

/**
 * Reads the config file (YAML or JSON), applies `MANDATE_*` overrides and
 * validates. A relative policy directory or OpenAPI document resolves from the config file's folder. Errors name
 * the path of every bad key; a `MANDATE_*` variable that maps onto no key is passed to `warn`.
 */
export function loadConfig(file: string | undefined, env: NodeJS.ProcessEnv = process.env, warn: (message: string) => void = () => undefined): Config {
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
  for (const message of unknownVariableWarnings(env)) warn(message);
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
  if (config.audit.witnessFile) config.audit.witnessFile = resolve(config.audit.witnessFile);
  if (config.audit.sink?.file) config.audit.sink.file = resolve(config.audit.sink.file);
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

function unwrap(schema: SchemaNode): SchemaNode[] {
  const inner = unwrapWrappers(schema);
  const def = inner._zod.def;
  if (def.type === 'pipe' && def.out) return unwrap(def.out);
  if (def.type === 'union' && def.options) return def.options.flatMap(unwrap);
  return [inner];
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
