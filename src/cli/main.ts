import { readFileSync } from 'node:fs';
import { Command, InvalidArgumentError, Option } from 'commander';
import { decodeJwt } from 'jose';
import { verifyTrail, type CheckpointFinding } from '../audit/index.js';
import { CodedError, ConfigError } from '../core/index.js';
import { mandateFromPlan } from '../mandate/index.js';
import { PolicyEngine, formatPolicyTestReport, runPolicyTests } from '../policy/index.js';
import { fileAuditWitness, openStore } from '../store/index.js';
import { auditWitnessFor, createLogger, isWorker, loadConfig, redactConfig, reportListening, runPrimary, runWorker, startServer, workerCount, type RunningServer } from '../server/index.js';
import { policyDirectory, readCedarFiles } from '../server/adapters/index.js';
import { api, CliApiError } from './api-client.js';
import { EXIT, exitCodeOf } from './exit-codes.js';
import { connectStdio } from './connect.js';
import { runDemo } from './demo.js';

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
    .version('0.1.0')
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
    .addOption(urlOption())
    .action(async (opts: { mandate: string; joinToken?: string; oidcTokenFile?: string; renewBefore: number; url: string }) => {
      if (!opts.joinToken && !opts.oidcTokenFile) throw new InvalidArgumentError('give --join-token (or MANDATE_JOIN_TOKEN) or --oidc-token-file');
      if (!Number.isInteger(opts.renewBefore) || opts.renewBefore < 0) throw new InvalidArgumentError('--renew-before must be a number of seconds');
      await connectStdio({
        url: opts.url,
        mandateFile: opts.mandate,
        joinToken: opts.joinToken,
        oidcTokenFile: opts.oidcTokenFile,
        renewBeforeMs: opts.renewBefore * 1000,
        log: (line) => process.stderr.write(`${line}\n`),
      });
    });

  program
    .command('demo')
    .description('play a scripted scenario through the SDK and the MCP gateway: allow, deny outside the mandate, deny by argument, step-up, ceiling forbid, suspension after repeated denials, revocation after completion, expiry')
    .option('--json', 'print one JSON object per step: {"step","decision","reason"}')
    .action(async (opts: { json?: boolean }) => {
      const steps = await runDemo((s) => {
        if (opts.json) out(JSON.stringify({ step: s.step, decision: s.decision, reason: s.reason }));
        else out(`${s.ok ? 'ok  ' : 'FAIL'} ${s.decision.padEnd(8)} ${s.reason.padEnd(26)} ${s.step}${s.ok ? '' : `  (expected ${s.expected.decision} ${s.expected.reason})`}`);
      });
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
    .description('recompute the hash chain of every segment and hold the store against the witnessed checkpoints; exit 5 at anything altered, missing, reordered or truncated')
    .option('-c, --config <file>', 'configuration file naming the store')
    .option('--store <url>', 'store URL (overrides store.url)')
    .option('--witness <file>', 'witness file (overrides audit.witnessFile)')
    .action(async (opts: { config?: string; store?: string; witness?: string }) => {
      const config = loadConfig(opts.config, { ...process.env, ...(opts.store ? { MANDATE_STORE_URL: opts.store } : {}) });
      const witness = opts.witness ? fileAuditWitness(opts.witness) : auditWitnessFor(config);
      const store = await openStore(config.store.url);
      try {
        const report = await verifyTrail(store.audit, witness && { name: witness.name, checkpoints: await witness.read() });
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
