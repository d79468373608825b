import { closeSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { Command, InvalidArgumentError, Option } from 'commander';
import { decodeJwt } from 'jose';
import { ExportedEventSchema, toOcsf, verifyExport, verifyTrail, type AuditEvent, type CheckpointFinding } from '../audit/index.js';
import { CodedError, ConfigError } from '../core/index.js';
import { mandateFromPlan } from '../mandate/index.js';
import { PolicyEngine, formatPolicyTestReport, runPolicyTests } from '../policy/index.js';
import { fileAuditWitness, openStore } from '../store/index.js';
import { MANDATE_VERSION, auditWitnessFor, createLogger, isWorker, loadConfig, redactConfig, reportListening, runPrimary, runWorker, startServer, workerCount, type RunningServer } from '../server/index.js';
import { policyDirectory, readCedarFiles } from '../server/adapters/index.js';
import { api, CliApiError } from './api-client.js';
import { EXIT, exitCodeOf } from './exit-codes.js';
import { connectStdio } from './connect.js';
import { playDemo, runDemo, type DemoStep } from './demo.js';
import { generateReport } from './report.js';
import { DEFAULT_THRESHOLDS } from '../report/index.js';

/** Exit codes: 0 ok/allow, 1 error, 2 bad usage, 3 deny, 4 step_up, 5 mismatch (tests, audit). */
export { EXIT } from './exit-codes.js';

const out = (value: unknown) => process.stdout.write(`${typeof value === 'string' ? value : JSON.stringify(value, null, 2)}\n`);
const warn = (message: string) => process.stderr.write(`mandate: warning: ${message}\n`);

function jsonArg(what: string) {
  return (value: string): unknown => {
    try {
      return JSON.parse(value);
    } catch {
      throw new InvalidArgumentError(`${what} must be JSON`);
    }
  };
}

/** A whole number of at least `min`, for an option. */
function countArg(what: string, min = 0) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < min) throw new InvalidArgumentError(`${what} must be a whole number of at least ${min}`);
    return n;
  };
}

/** An ISO 8601 time, for `--since` and `--until`. */
function timeArg(what: string) {
  return (value: string): number => {
    const ms = Date.parse(value);
    if (!/^\d{4}-\d{2}-\d{2}/.test(value) || Number.isNaN(ms)) throw new InvalidArgumentError(`${what} must be an ISO 8601 time such as 2026-01-31 or 2026-01-31T12:00:00Z`);
    return ms;
  };
}

const urlOption = () => new Option('--url <url>', 'control plane URL').env('MANDATE_URL').default('http://127.0.0.1:8080');
const adminOption = () => new Option('--admin-token <token>', 'admin token printed by the first `mandate serve`').env('MANDATE_ADMIN_TOKEN');

function requireAdmin(opts: { adminToken?: string }): string {
  if (!opts.adminToken) throw new CliApiError(0, 'request.unauthorized', 'give --admin-token or set MANDATE_ADMIN_TOKEN');
  return opts.adminToken;
}

/** The task id a credential names (read without verifying: the server verifies). */
function taskIdOf(credential: string): string | undefined {
  try {
    const task = decodeJwt(credential).task;
    return typeof task === 'string' ? task : undefined;
  } catch {
    throw new CliApiError(0, 'credential.invalid', 'the --credential is not a JWT');
  }
}

/** A JSON file, or standard input for `-`. */
function readJson(file: string, what: string): unknown {
  try {
    return JSON.parse(readFileSync(file === '-' ? 0 : file, 'utf8'));
  } catch (err) {
    throw new CliApiError(0, 'request.invalid', `${what} file \`${file}\`: ${(err as Error).message}`);
  }
}

/** The mandate a plan file gives, built here so `plan show` prints exactly what `task declare --from-plan` sends. */
function mandateOfPlanFile(file: string): unknown {
  const plan = readJson(file, 'plan');
  try {
    return mandateFromPlan(plan);
  } catch (err) {
    if (err instanceof CodedError) throw new CliApiError(0, err.code, err.publicMessage);
    throw err;
  }
}

/** The command tree; `--help` on each is generated from these definitions. */
export function buildProgram(): Command {
  const program = new Command('mandate')
    .description('Runtime access control for AI agents: workload identity, mandates, task credentials and Cedar policy at every call')
    .version(MANDATE_VERSION)
    .showHelpAfterError()
    // Set before the subcommands are added, so they inherit it: a usage error throws and exits 2.
    .exitOverride();

  program
    .command('serve')
    .description('run the control plane API')
    .option('-c, --config <file>', 'configuration file (YAML or JSON)')
    .option('--port <port>', 'listen port (overrides server.port)')
    .option('--store <url>', 'store URL: file:<path>, :memory: or postgres://… (overrides store.url)')
    .option('--workers <n>', 'processes sharing the port (overrides server.workers; default: the machine\'s cores, 1 for :memory:)')
    .action(async (opts: { config?: string; port?: string; store?: string; workers?: string }) => {
      const env = {
        ...process.env,
        ...(opts.port ? { MANDATE_SERVER_PORT: opts.port } : {}),
        ...(opts.store ? { MANDATE_STORE_URL: opts.store } : {}),
        ...(opts.workers ? { MANDATE_SERVER_WORKERS: opts.workers } : {}),
      };
      // Workers inherit the primary's arguments and environment: the primary alone warns.
      const config = loadConfig(opts.config, env, isWorker() ? () => undefined : warn);
      const describe = (s: RunningServer, workers: number) =>
        `(store: ${s.plane.store.kind}, policy version ${s.plane.policy.version}, ${s.plane.tools.list().length} tools${workers > 1 ? `, ${workers} workers` : ''})`;
      // Everything the server says from here on is a JSON line on standard output.
      const logger = createLogger(config.log.level);
      if (isWorker()) {
        const server = await runWorker(config, logger);
        reportListening(server.url, describe(server, workerCount(config)));
        return;
      }
      const workers = workerCount(config);
      const listening = (url: string, summary: string) => logger.info({ url, openapi: `${url}/v1/openapi.json` }, `mandate listening on ${url}  ${summary}`);
      if (workers > 1) {
        const { url, summary } = await runPrimary(config, workers, logger);
        listening(url, summary);
        return;
      }
      const server = await startServer(config, { logger });
      listening(server.url, describe(server, 1));
      const stop = () => {
        void server.close().then(() => process.exit(0));
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });

  program
    .command('connect')
    .description('a stdio MCP server for clients that speak stdio only: attests, declares the mandate in <file>, relays to the gateway, and declares it again before the credential expires')
    .requiredOption('--stdio', 'serve MCP on standard input and output (the only mode)')
    .requiredOption('-m, --mandate <file>', 'the mandate to declare (JSON or YAML)')
    .addOption(new Option('--join-token <token>', 'a one-time join token from `mandate agent token`').env('MANDATE_JOIN_TOKEN'))
    .option('--oidc-token-file <file>', 'attest with the OIDC token in this file, read again at each attestation')
    .option('--renew-before <seconds>', 'declare a new task this long before the credential expires', (v) => Number.parseInt(v, 10), 60)
    .option('--no-dpop', 'bearer credentials: do not bind the SVID and task credentials to a key the bridge makes (DPoP, on by default)')
    .addOption(urlOption())
    .action(async (opts: { mandate: string; joinToken?: string; oidcTokenFile?: string; renewBefore: number; dpop: boolean; url: string }) => {
      if (!opts.joinToken && !opts.oidcTokenFile) throw new InvalidArgumentError('give --join-token (or MANDATE_JOIN_TOKEN) or --oidc-token-file');
      if (!Number.isInteger(opts.renewBefore) || opts.renewBefore < 0) throw new InvalidArgumentError('--renew-before must be a number of seconds');
      await connectStdio({
        url: opts.url,
        mandateFile: opts.mandate,
        joinToken: opts.joinToken,
        oidcTokenFile: opts.oidcTokenFile,
        renewBeforeMs: opts.renewBefore * 1000,
        dpop: opts.dpop,
        log: (line) => process.stderr.write(`${line}\n`),
      });
    });

  program
    .command('demo')
    .description('play a scripted scenario through the SDK and the MCP gateway: allow, deny outside the mandate, deny by argument, step-up, ceiling forbid, suspension after repeated denials, revocation after completion, expiry')
    .option('--json', 'print one JSON object per step: {"step","decision","reason"}')
    .option('--store-dir <dir>', 'keep the store and its audit witness in <dir> (a folder holding no store yet) instead of a throwaway folder, for `mandate report` or `mandate audit verify` afterwards')
    .option('--url <url>', 'play against the control plane at <url> serving the example configuration (`npm start`), to watch the decisions arrive in its console; needs --admin-token, and leaves out the expiry step, which needs the demo\'s own clock')
    .addOption(adminOption())
    .action(async (opts: { json?: boolean; storeDir?: string; url?: string; adminToken?: string }) => {
      const onStep = (s: DemoStep) => {
        if (opts.json) out(JSON.stringify({ step: s.step, decision: s.decision, reason: s.reason }));
        else out(`${s.ok ? 'ok  ' : 'FAIL'} ${s.decision.padEnd(8)} ${s.reason.padEnd(26)} ${s.step}${s.ok ? '' : `  (expected ${s.expected.decision} ${s.expected.reason})`}`);
      };
      if (opts.url !== undefined && opts.storeDir !== undefined) throw new ConfigError('--url and --store-dir: give one; a running control plane keeps its own store');
      const steps = opts.url !== undefined ? await playDemo({ url: opts.url.replace(/\/$/, ''), adminToken: requireAdmin(opts) }, onStep) : await runDemo(onStep, { storeDir: opts.storeDir });
      const failed = steps.filter((s) => !s.ok).length;
      if (!opts.json) out(`${steps.length - failed} of ${steps.length} steps got the expected decision`);
      process.exitCode = failed === 0 ? EXIT.ok : EXIT.mismatch;
    });

  const agent = program.command('agent').description('register agents and issue join tokens');
  agent
    .command('register <name>')
    .description('register an agent as spiffe://<trust-domain>/agent/<name>')
    .option('-g, --group <group...>', 'Cedar AgentGroup(s) the agent belongs to', ['agents'])
    .option('--oidc-issuer <url>', 'accept OIDC attestation from this trusted issuer')
    .option('--claim <name=value...>', 'claim matcher for OIDC attestation (`*` is a wildcard)')
    .option('--no-join-token', 'refuse join-token attestation for this agent')
    .addOption(urlOption())
    .addOption(adminOption())
    .action(async (name: string, opts: { group: string[]; oidcIssuer?: string; claim?: string[]; joinToken: boolean; url: string; adminToken?: string }) => {
      const claims = Object.fromEntries(
        (opts.claim ?? []).map((c) => {
          const i = c.indexOf('=');
          if (i < 1) throw new InvalidArgumentError(`--claim \`${c}\` must be name=value`);
          return [c.slice(0, i), c.slice(i + 1)];
        }),
      );
      const oidc = opts.oidcIssuer ? [{ issuer: opts.oidcIssuer, claims }] : [];
      out(await api(opts.url, '/v1/agents', { method: 'POST', token: requireAdmin(opts), body: { name, groups: opts.group, attestation: { joinToken: opts.joinToken, oidc } } }));
    });
  agent
    .command('token <name>')
    .description('create a one-time join token the agent exchanges for a JWT-SVID')
    .option('--ttl <seconds>', 'token lifetime in seconds', (v) => Number.parseInt(v, 10))
    .option('-q, --quiet', 'print the token alone')
    .addOption(urlOption())
    .addOption(adminOption())
    .action(async (name: string, opts: { ttl?: number; quiet?: boolean; url: string; adminToken?: string }) => {
      const created = await api<{ token: string }>(opts.url, `/v1/agents/${encodeURIComponent(name)}/join-tokens`, { method: 'POST', token: requireAdmin(opts), body: opts.ttl ? { ttlSeconds: opts.ttl } : {} });
      out(opts.quiet ? created.token : created);
    });

  const task = program.command('task').description('declare, complete and revoke tasks');
  task
    .command('declare')
    .description('attest (join token) or use an SVID, declare a mandate, print the task and its credential')
    .addOption(new Option('-m, --mandate <file>', 'mandate JSON file, or - for standard input').conflicts('fromPlan'))
    .option('--from-plan <file>', 'plan JSON file (tools in order, stated values), or - for standard input; see `mandate plan show`')
    .option('--join-token <token>', 'attest with this one-time join token')
    .option('--svid <svid>', 'use this JWT-SVID')
    .option('-q, --quiet', 'print the task credential alone')
    .addOption(urlOption())
    .action(async (opts: { mandate?: string; fromPlan?: string; joinToken?: string; svid?: string; quiet?: boolean; url: string }) => {
      let mandate: unknown;
      if (opts.mandate !== undefined) mandate = readJson(opts.mandate, 'mandate');
      else if (opts.fromPlan !== undefined) mandate = mandateOfPlanFile(opts.fromPlan);
      else throw new CliApiError(0, 'request.invalid', 'give --mandate <file> or --from-plan <file>');
      let svid = opts.svid;
      if (!svid) {
        if (!opts.joinToken) throw new CliApiError(0, 'request.invalid', 'give --join-token or --svid');
        svid = (await api<{ svid: string }>(opts.url, '/v1/attest/join-token', { method: 'POST', body: { token: opts.joinToken } })).svid;
      }
      const granted = await api<{ credential: string }>(opts.url, '/v1/tasks', { method: 'POST', token: svid, body: mandate });
      out(opts.quiet ? granted.credential : granted);
    });
  task
    .command('complete [taskId]')
    .description('complete a task: its credential is revoked at once (the task id defaults to the one in --credential)')
    .option('--credential <token>', 'the task credential (or use --admin-token)')
    .addOption(urlOption())
    .addOption(adminOption())
    .action(async (taskId: string | undefined, opts: { credential?: string; url: string; adminToken?: string }) => {
      const id = taskId ?? (opts.credential ? taskIdOf(opts.credential) : undefined);
      if (!id) throw new CliApiError(0, 'request.invalid', 'give a task id or --credential');
      out(await api(opts.url, `/v1/tasks/${encodeURIComponent(id)}/complete`, { method: 'POST', token: opts.credential ?? requireAdmin(opts), body: {} }));
    });
  task
    .command('revoke <taskId>')
    .description('revoke a task and its child tasks')
    .option('--reason <text>', 'why', 'revoked by an operator')
    .addOption(urlOption())
    .addOption(adminOption())
    .action(async (taskId: string, opts: { reason: string; url: string; adminToken?: string }) => {
      out(await api(opts.url, '/v1/revocations', { method: 'POST', token: requireAdmin(opts), body: { kind: 'task', subject: taskId, reason: opts.reason } }));
    });
  task
    .command('list')
    .description('list tasks')
    .option('--agent <name>', 'only this agent')
    .option('--status <status>', 'active, completed or revoked')
    .addOption(urlOption())
    .addOption(adminOption())
    .action(async (opts: { agent?: string; status?: string; url: string; adminToken?: string }) => {
      const q = new URLSearchParams({ ...(opts.agent ? { agent: opts.agent } : {}), ...(opts.status ? { status: opts.status } : {}) });
      out(await api(opts.url, `/v1/tasks?${q}`, { token: requireAdmin(opts) }));
    });

  program
    .command('plan')
    .description('mandates from an agent\'s declared plan')
    .command('show <file>')
    .description('print the mandate a plan file (or - for standard input) gives, without declaring it')
    .action((file: string) => {
      out(mandateOfPlanFile(file));
    });

  program
    .command('revoke')
    .description('revoke every credential of a credential id, task, agent or principal')
    .addOption(new Option('--kind <kind>', 'what to revoke').choices(['credential', 'task', 'agent', 'principal']).makeOptionMandatory())
    .requiredOption('--subject <id>', 'credential id, task id, agent name or principal id')
    .option('--reason <text>', 'why', 'revoked by an operator')
    .addOption(urlOption())
    .addOption(adminOption())
    .action(async (opts: { kind: string; subject: string; reason: string; url: string; adminToken?: string }) => {
      out(await api(opts.url, '/v1/revocations', { method: 'POST', token: requireAdmin(opts), body: { kind: opts.kind, subject: opts.subject, reason: opts.reason } }));
    });

  const approverOption = () => new Option('--approver-token <token>', 'your approver token (from `mandate approver add`)').env('MANDATE_APPROVER_TOKEN');
  const requireApprover = (opts: { approverToken?: string }): string => {
    if (!opts.approverToken) throw new CliApiError(0, 'request.unauthorized', 'give --approver-token or set MANDATE_APPROVER_TOKEN');
    return opts.approverToken;
  };
  program
    .command('approver')
    .description('people who decide step-up requests')
    .command('add <id>')
    .description('register an approver; prints the approver token once')
    .option('-g, --group <group...>', 'groups the approver belongs to (policies name `group:<name>`)', [])
    .addOption(urlOption())
    .addOption(adminOption())
    .action(async (id: string, opts: { group: string[]; url: string; adminToken?: string }) => {
      out(await api(opts.url, '/v1/approvers', { method: 'POST', token: requireAdmin(opts), body: { id, groups: opts.group } }));
    });
  const approve = program.command('approve').description('decide step-up requests: each approves one exact call');
  approve
    .command('list')
    .description('pending requests (or --status)')
    .option('--status <status>', 'pending, approved, denied, expired, consumed or cancelled', 'pending')
    .addOption(urlOption())
    .addOption(approverOption())
    .action(async (opts: { status: string; url: string; approverToken?: string }) => {
      out(await api(opts.url, `/v1/approvals?status=${encodeURIComponent(opts.status)}`, { token: requireApprover(opts) }));
    });
  approve
    .command('show <id>')
    .description('one request with its full context: task, agent, principal, tool, exact arguments, policies')
    .addOption(urlOption())
    .addOption(approverOption())
    .action(async (id: string, opts: { url: string; approverToken?: string }) => {
      out(await api(opts.url, `/v1/approvals/${encodeURIComponent(id)}`, { token: requireApprover(opts) }));
    });
  for (const verdict of ['approve', 'deny'] as const) {
    approve
      .command(`${verdict} <id>`)
      .description(`${verdict} a pending request, with a reason`)
      .requiredOption('--reason <text>', 'why (kept in the audit trail)')
      .addOption(urlOption())
      .addOption(approverOption())
      .action(async (id: string, opts: { reason: string; url: string; approverToken?: string }) => {
        out(await api(opts.url, `/v1/approvals/${encodeURIComponent(id)}/${verdict}`, { method: 'POST', token: requireApprover(opts), body: { reason: opts.reason } }));
      });
  }

  const secret = program.command('secret').description('upstream secrets the gateway injects; values are write-only');
  secret
    .command('set <name>')
    .description('store a new version of a secret, read from standard input (never from the command line, which shells keep)')
    .addOption(urlOption())
    .addOption(adminOption())
    .action(async (name: string, opts: { url: string; adminToken?: string }) => {
      const value = readFileSync(0, 'utf8').replace(/\r?\n$/, '');
      if (!value) throw new CliApiError(0, 'request.invalid', 'the secret value on standard input is empty');
      out(await api(opts.url, `/v1/secrets/${encodeURIComponent(name)}`, { method: 'PUT', token: requireAdmin(opts), body: { value } }));
    });
  secret
    .command('list')
    .description('secret names and versions, without values')
    .addOption(urlOption())
    .addOption(adminOption())
    .action(async (opts: { url: string; adminToken?: string }) => {
      out(await api(opts.url, '/v1/secrets', { token: requireAdmin(opts) }));
    });

  program
    .command('decide')
    .description('ask for a decision on one call; exit 0 allow, 3 deny, 4 step_up')
    .requiredOption('--credential <token>', 'the task credential')
    .requiredOption('--tool <name>', 'tool name, <server>.<tool>')
    .option('--args <json>', 'the call arguments as a JSON object', jsonArg('--args'), {})
    .addOption(urlOption())
    .action(async (opts: { credential: string; tool: string; args: unknown; url: string }) => {
      const d = await api<{ outcome: string }>(opts.url, '/v1/decide', { method: 'POST', body: { credential: opts.credential, tool: opts.tool, args: opts.args } });
      out(d);
      process.exitCode = d.outcome === 'allow' ? EXIT.ok : d.outcome === 'step_up' ? EXIT.stepUp : EXIT.deny;
    });

  const policy = program.command('policy').description('check and test Cedar policies');
  policy
    .command('test <dir>')
    .description('validate the policies in <dir> and run the cases in <dir>/tests/*.json; exit 5 on any mismatch')
    .action((dir: string) => {
      const source = policyDirectory(dir);
      const report = runPolicyTests(source, PolicyEngine.fromSource(source));
      out(formatPolicyTestReport(report));
      process.exitCode = report.failed === 0 ? EXIT.ok : EXIT.mismatch;
    });
  policy
    .command('push <dir>')
    .description('replace the served policy set with the .cedar files of <dir> (validated first); every replica follows (policy.source: store)')
    .addOption(urlOption())
    .addOption(adminOption())
    .action(async (dir: string, opts: { url: string; adminToken?: string }) => {
      out(await api(opts.url, '/v1/policies', { method: 'PUT', token: requireAdmin(opts), body: { files: readCedarFiles(dir) } }));
    });
  policy
    .command('validate <dir>')
    .description('parse and validate the policies in <dir> against the schema')
    .action((dir: string) => {
      const engine = PolicyEngine.fromSource(policyDirectory(dir));
      out(`ok: ${dir} is valid (hash ${engine.hash.slice(0, 12)})`);
    });

  const audit = program.command('audit').description('the tamper-evident audit trail');
  audit
    .command('verify')
    .description('recompute the hash chain of every segment and hold the store against the witnessed checkpoints, or (--file) recompute the chains an export holds; exit 5 at anything altered, missing, reordered or truncated')
    .option('-c, --config <file>', 'configuration file naming the store')
    .option('--store <url>', 'store URL (overrides store.url)')
    .option('--witness <file>', 'witness file (overrides audit.witnessFile)')
    .option('--incremental', 'recompute each segment from its last witnessed checkpoint (held against the store) instead of from its genesis')
    .addOption(new Option('--file <export>', 'verify this file from `mandate audit export` (or a file sink) instead of the store').conflicts(['config', 'store', 'witness']))
    .option('--partial', 'with --file: the export was filtered, so seqs may be missing; each event and each unbroken run is still checked')
    .action(async (opts: { config?: string; store?: string; witness?: string; incremental?: boolean; file?: string; partial?: boolean }) => {
      if (opts.file !== undefined) {
        process.exitCode = verifyExportFile(opts.file, opts.partial === true) ? EXIT.ok : EXIT.mismatch;
        return;
      }
      if (opts.partial) throw new InvalidArgumentError('--partial goes with --file');
      const config = loadConfig(opts.config, { ...process.env, ...(opts.store ? { MANDATE_STORE_URL: opts.store } : {}) });
      const witness = opts.witness ? fileAuditWitness(opts.witness) : auditWitnessFor(config);
      const store = await openStore(config.store.url);
      try {
        const report = await verifyTrail(store.audit, witness && { name: witness.name, checkpoints: await witness.read() }, { incremental: opts.incremental });
        for (const s of report.segments) out(`segment ${s.segment}: ${s.events} events, head ${s.headHash.slice(0, 16)}`);
        out(witness ? `witness ${witness.name}: ${report.witnessed} checkpoints` : 'no witness: a trail cut at its end cannot be told from a short one');
        if (report.broken) out(`BROKEN: segment ${report.broken.segment} at seq ${report.broken.seq} (${report.broken.reason})`);
        if (report.empty) out('EMPTY: the trail has no events; a deployment\'s trail starts with its first key');
        for (const f of report.findings) out(describeFinding(f));
        if (report.ok) out('ok: every chain verifies and holds what was witnessed');
        process.exitCode = report.ok ? EXIT.ok : EXIT.mismatch;
      } finally {
        await store.close();
      }
    });

  audit
    .command('export')
    .description('write the events matching the filters, oldest first, as JSON lines: exactly as stored (`jsonl`, verifiable with `audit verify --file`) or as OCSF events (`ocsf`, docs/ocsf.md)')
    .addOption(new Option('--format <format>', 'jsonl or ocsf').choices(['jsonl', 'ocsf']).default('jsonl'))
    .option('--out <file>', 'write here instead of standard output')
    .option('--since <time>', 'from this instant: ISO 8601, ms since the epoch, or a duration ago (15m, 24h, 7d)', instantArg('--since'))
    .option('--until <time>', 'up to this instant (exclusive), in the same forms', instantArg('--until'))
    .option('--agent <name-or-id>', 'only this agent\'s events')
    .option('--principal <id>', 'only the events of tasks acting for this principal')
    .option('--task <id>', 'only this task\'s events')
    .addOption(new Option('--outcome <outcome>', 'only decisions with this outcome').choices(['allow', 'deny', 'step_up']))
    .option('--reason <code>', 'only events with this reason code')
    .option('--tool <name>', 'only events naming this tool')
    .option('--type <types>', 'only these event types, comma-separated')
    .addOption(urlOption())
    .addOption(adminOption())
    .action(async (opts: ExportOptions) => {
      const token = requireAdmin(opts);
      const filters = new URLSearchParams({ order: 'asc', limit: '1000' });
      for (const [key, value] of [['agent', opts.agent], ['principal', opts.principal], ['task', opts.task], ['outcome', opts.outcome], ['reason', opts.reason], ['tool', opts.tool], ['type', opts.type]] as const) {
        if (value !== undefined) filters.set(key, value);
      }
      if (opts.since !== undefined) filters.set('sinceMs', String(opts.since));
      if (opts.until !== undefined) filters.set('untilMs', String(opts.until));
      const encode = opts.format === 'ocsf' ? (e: AuditEvent) => JSON.stringify(toOcsf(e, MANDATE_VERSION)) : (e: AuditEvent) => JSON.stringify(e);
      // A file is written whole or not at all: an export cut short must not pass for a complete one.
      const partFile = opts.out === undefined ? undefined : `${opts.out}.part`;
      const fd = partFile === undefined ? 1 : openSync(partFile, 'w', 0o600);
      let exported = 0;
      try {
        for (let cursor: string | null = null; ; ) {
          const q = new URLSearchParams(filters);
          if (cursor) q.set('cursor', cursor);
          const page: { events: AuditEvent[]; nextCursor: string | null } = await api(opts.url, `/v1/audit?${q}`, { token });
          if (page.events.length > 0) writeSync(fd, `${page.events.map(encode).join('\n')}\n`);
          exported += page.events.length;
          cursor = page.nextCursor;
          if (!cursor) break;
        }
        if (partFile !== undefined) fsyncSync(fd);
      } catch (err) {
        if (partFile !== undefined) rmSync(partFile, { force: true });
        throw err;
      } finally {
        if (partFile !== undefined) closeSync(fd);
      }
      if (partFile !== undefined && opts.out !== undefined) {
        renameSync(partFile, opts.out);
        process.stderr.write(`exported ${exported} events to ${opts.out}\n`);
      }
    });
  program
    .command('report')
    .description(
      'the compliance report: per control (identity, credentials, policy, step-up, drift, delegation, secrets, audit), whether it is in force, the evidence in the trail over a period and the gaps, mapped to the OWASP Top 10 for Agentic Applications, CSA MAESTRO and NIST AI RMF',
    )
    .option('-c, --config <file>', 'configuration file naming the store, policies and tools')
    .option('--store <url>', 'store URL (overrides store.url)')
    .option('--witness <file>', 'witness file (overrides audit.witnessFile)')
    .option('--since <time>', 'start of the period, ISO 8601 (default: the first event)', timeArg('--since'))
    .option('--until <time>', 'end of the period, exclusive, ISO 8601 (default: after the last event)', timeArg('--until'))
    .addOption(new Option('--format <format>', 'Markdown or JSON (docs/compliance-report.md)').choices(['md', 'json']).default('md'))
    .option('--out <file>', 'write the report to this file instead of standard output')
    .option('--secret-max-age-days <days>', 'a secret not rotated for longer is a gap', countArg('--secret-max-age-days'), DEFAULT_THRESHOLDS.secretMaxAgeDays)
    .option('--max-task-ttl-seconds <seconds>', 'a task credential that may live longer is a gap', countArg('--max-task-ttl-seconds', 1), DEFAULT_THRESHOLDS.maxTaskTtlSeconds)
    .option('--max-svid-ttl-seconds <seconds>', 'an SVID that lives longer is a gap', countArg('--max-svid-ttl-seconds', 1), DEFAULT_THRESHOLDS.maxSvidTtlSeconds)
    .option('--min-purpose-words <n>', 'a granted task whose purpose is shorter is a gap', countArg('--min-purpose-words', 1), DEFAULT_THRESHOLDS.minPurposeWords)
    .action(
      async (opts: {
        config?: string;
        store?: string;
        witness?: string;
        since?: number;
        until?: number;
        format: 'md' | 'json';
        out?: string;
        secretMaxAgeDays: number;
        maxTaskTtlSeconds: number;
        maxSvidTtlSeconds: number;
        minPurposeWords: number;
      }) => {
        if (opts.since !== undefined && opts.until !== undefined && opts.since >= opts.until) throw new CliApiError(0, 'request.invalid', '--since must be before --until');
        const config = loadConfig(opts.config, { ...process.env, ...(opts.store ? { MANDATE_STORE_URL: opts.store } : {}) }, warn);
        const text = await generateReport({
          config,
          witnessFile: opts.witness,
          sinceMs: opts.since ?? null,
          untilMs: opts.until ?? null,
          thresholds: { secretMaxAgeDays: opts.secretMaxAgeDays, maxTaskTtlSeconds: opts.maxTaskTtlSeconds, maxSvidTtlSeconds: opts.maxSvidTtlSeconds, minPurposeWords: opts.minPurposeWords },
          format: opts.format,
          nowMs: Date.now(),
        });
        if (opts.out) writeFileSync(opts.out, text);
        else process.stdout.write(text);
      },
    );

  const config = program.command('config').description('configuration');
  config
    .command('print')
    .description('print the effective configuration, secrets redacted')
    .option('-c, --config <file>', 'configuration file')
    .action((opts: { config?: string }) => {
      out(redactConfig(loadConfig(opts.config, process.env, warn)));
    });

  return program;
}

export async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    const e = err as { code?: string; exitCode?: number };
    if (e.code?.startsWith('commander.')) {
      process.exitCode = e.code === 'commander.helpDisplayed' || e.code === 'commander.help' || e.code === 'commander.version' ? EXIT.ok : EXIT.usage;
      return;
    }
    if (err instanceof CliApiError || err instanceof ConfigError) {
      process.stderr.write(`mandate: ${err.message}\n`);
      process.exitCode = err instanceof CliApiError ? exitCodeOf(err.code) : EXIT.usage;
      return;
    }
    throw err;
  }
}

interface ExportOptions {
  format: 'jsonl' | 'ocsf';
  out?: string;
  since?: number;
  until?: number;
  agent?: string;
  principal?: string;
  task?: string;
  outcome?: string;
  reason?: string;
  tool?: string;
  type?: string;
  url: string;
  adminToken?: string;
}

const DURATION_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** An instant on the command line: ISO 8601, ms since the epoch, or a duration ago (`15m`, `24h`, `7d`). */
function instantArg(what: string) {
  return (value: string): number => {
    if (/^\d+$/.test(value)) return Number(value);
    const ago = /^(\d+)(ms|s|m|h|d)$/.exec(value);
    if (ago) return Date.now() - Number(ago[1]) * DURATION_MS[ago[2]!]!;
    const ms = Date.parse(value);
    if (Number.isNaN(ms)) throw new InvalidArgumentError(`${what} must be an ISO 8601 time, ms since the epoch, or a duration such as 24h`);
    return ms;
  };
}

/**
 * Verifies an exported file (`audit export`, or a file sink): each line parsed as an
 * event as stored (an OCSF line carries it under `unmapped.mandate`), then every
 * segment's chain recomputed. Prints what it found; true when every chain holds.
 */
function verifyExportFile(file: string, partial: boolean): boolean {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new CliApiError(0, 'request.invalid', `export file \`${file}\`: ${(err as Error).message}`);
  }
  const lines: { line: number; event: AuditEvent }[] = [];
  const rows = text.split('\n');
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i]!;
    if (row.trim() === '') continue;
    let json: unknown;
    try {
      json = JSON.parse(row);
    } catch {
      json = undefined;
    }
    const inner = (json as { unmapped?: { mandate?: unknown } } | undefined)?.unmapped?.mandate;
    const parsed = ExportedEventSchema.safeParse(inner ?? json);
    if (!parsed.success) {
      out(`BROKEN: line ${i + 1} is not an audit event as exported`);
      return false;
    }
    lines.push({ line: i + 1, event: parsed.data as AuditEvent });
  }
  if (lines.length === 0) {
    out(`EMPTY: ${file} holds no events`);
    return false;
  }
  const report = verifyExport(lines, { gapsAllowed: partial });
  for (const s of report.segments) {
    const from = s.fromGenesis ? '' : ` (from seq ${s.fromSeq}: its first link is outside the file)`;
    out(`segment ${s.segment}: seq ${s.fromSeq}–${s.toSeq}, ${s.events} events${s.gaps ? `, ${s.gaps} gaps` : ''}, head ${s.headHash.slice(0, 16)}${from}`);
  }
  const b = report.broken;
  if (b) {
    const why = { hash_mismatch: 'the event was edited', prev_hash_mismatch: 'the link to the event before it does not hold', seq_gap: 'events are missing here (use --partial for a filtered export)', seq_repeated: 'two different events claim this seq' }[b.reason];
    out(`BROKEN: segment ${b.segment} at seq ${b.seq}, line ${b.line} (${b.reason}): ${why}`);
  } else out(`ok: every exported chain verifies (${lines.length} lines)`);
  return report.ok;
}

/** One line per finding, naming the segment and the events concerned. */
function describeFinding(f: CheckpointFinding): string {
  switch (f.kind) {
    case 'truncated':
      return `TRUNCATED: segment ${f.segment} ends at seq ${f.storedSeq}; a checkpoint witnessed it reaching seq ${f.witnessedSeq} (events ${f.storedSeq + 1}–${f.witnessedSeq} are missing)`;
    case 'altered':
      return `ALTERED: segment ${f.segment}, events ${f.fromSeq}–${f.seq} are not what their checkpoint witnessed (edited, reordered or rewritten and re-chained)`;
    case 'unwitnessed':
      return `UNWITNESSED: the checkpoint of segment ${f.segment} at seq ${f.seq} is in the store but not in the witness (lines lost, or another trail's witness)`;
    case 'bad_signature':
      return `BAD SIGNATURE: the witnessed checkpoint of segment ${f.segment} at seq ${f.seq} is not signed by the key it names`;
  }
}
