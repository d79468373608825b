import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import YAML from 'yaml';
import { loadConfig, startServer, type RunningServer } from '../../src/server/index.js';
import { ADMIN_TOKEN, EXAMPLE_CONFIG, ROOT, grantTask, http } from '../helpers.js';
import { efficacyCatalog, type Attack, type LoadedScenario, type Scenario } from './corpus.js';
import { resultKey } from './result-key.js';

/** How the corpus reaches the server: the decision API with results reported as an SDK does, or the MCP gateway in front of real MCP servers. */
export type Path = 'decide' | 'mcp';

export interface CallOutcome {
  outcome: 'allow' | 'deny' | 'step_up';
  code: string;
}

export interface AttackOutcome extends CallOutcome {
  title: string;
  kind: Attack['kind'];
  usersTarget: boolean;
}

export interface ScenarioRun {
  id: string;
  domain: string;
  /** The legitimate task alone: each step's first answer. */
  clean: CallOutcome[];
  /** The same task with the attacks injected: each legitimate step's first answer, and each attack's. */
  attacked: { steps: CallOutcome[]; attacks: AttackOutcome[] } | null;
}

const SCENARIO_SERVER = join(ROOT, 'dist/test/fixtures/scenario-mcp-server.js');

/** One server for the whole corpus, on an in-memory store, with the example policies and the efficacy catalog. */
export class EfficacyBench {
  private constructor(
    readonly server: RunningServer,
    private readonly dir: string,
    private readonly resultsFile: string,
    private readonly approverToken: string,
    readonly path: Path,
  ) {}

  static async start(path: Path): Promise<EfficacyBench> {
    const dir = mkdtempSync(join(tmpdir(), `mandate-efficacy-${path}-`));
    const resultsFile = join(dir, 'results.json');
    writeFileSync(resultsFile, '{}');
    const config = YAML.parse(readFileSync(EXAMPLE_CONFIG, 'utf8'));
    config.policy.dir = join(ROOT, 'examples', 'policies');
    const catalog = efficacyCatalog() as { name: string }[];
    if (path === 'decide') {
      config.tools = catalog;
      delete config.upstreams;
    } else {
      // Each tool group is one real MCP server; the gateway's metadata says what each tool is.
      config.tools = [];
      config.upstreams = {};
      for (const tool of catalog) {
        const [group, name] = tool.name.split('.') as [string, string];
        const { name: _full, ...meta } = tool as Record<string, unknown>;
        config.upstreams[group] ??= { transport: 'stdio', command: process.execPath, args: [SCENARIO_SERVER], env: { SCENARIO_RESULTS: resultsFile, SCENARIO_GROUP: group, SCENARIO_TOOLS: '' }, tools: {} };
        config.upstreams[group].tools[name] = meta;
        config.upstreams[group].env.SCENARIO_TOOLS = Object.keys(config.upstreams[group].tools).join(',');
      }
    }
    delete config.apis;
    writeFileSync(join(dir, 'mandate.yaml'), YAML.stringify(config));
    const server = await startServer(
      loadConfig(join(dir, 'mandate.yaml'), { MANDATE_STORE_URL: ':memory:', MANDATE_SECRETS_KEY_FILE: join(dir, 'k'), MANDATE_SERVER_PORT: '0', MANDATE_SERVER_ADMIN_TOKEN: ADMIN_TOKEN, MANDATE_POLICY_WATCH: 'false' }),
    );
    const approver = await http(server.url, '/v1/approvers', { token: ADMIN_TOKEN, body: { id: 'efficacy-approver', groups: ['approvers'] } });
    if (approver.status !== 201) throw new Error(`approver: ${approver.text}`);
    return new EfficacyBench(server, dir, resultsFile, approver.body.token as string, path);
  }

  async close(): Promise<void> {
    await this.server.close();
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** Plays one scenario clean, then (when it has attacks) under attack, each on a task of its own. */
  async run(s: LoadedScenario): Promise<ScenarioRun> {
    const clean = (await this.play(s.scenario, false)).steps;
    const attacked = s.scenario.attacks.length > 0 ? await this.play(s.scenario, true) : null;
    return { id: s.id, domain: s.domain, clean, attacked };
  }

  private async play(scenario: Scenario, underAttack: boolean): Promise<{ steps: CallOutcome[]; attacks: AttackOutcome[] }> {
    const granted = await grantTask(this.server.url, 'report-bot', scenario.mandate);
    if (granted.status !== 201) throw new Error(`${scenario.title}: the mandate was not granted: ${JSON.stringify(granted.body)}`);
    const resultOf = (i: number) => withInjections(scenario.steps[i]!.result, underAttack ? scenario.attacks.filter((a) => a.after === i) : []);
    if (this.path === 'mcp') {
      const results: Record<string, unknown> = {};
      scenario.steps.forEach((step, i) => (results[resultKey(step.tool, step.args)] = resultOf(i)));
      writeFileSync(this.resultsFile, JSON.stringify(results));
    }
    const agent = await this.agentFor(granted.credential, granted.taskId);
    try {
      const steps: CallOutcome[] = [];
      const attacks: AttackOutcome[] = [];
      for (const [i, step] of scenario.steps.entries()) {
        const first = await agent.call(step.tool, step.args);
        steps.push({ outcome: first.outcome, code: first.code });
        // A person approves a legitimate step that waits for them; the task then goes on.
        let final = first;
        if (first.outcome === 'step_up' && first.approvalId) {
          await http(this.server.url, `/v1/approvals/${first.approvalId}/approve`, { token: this.approverToken, body: { reason: 'the user asked for it' } });
          final = await agent.call(step.tool, step.args);
        }
        if (final.outcome === 'allow') await agent.report(step.tool, step.args, resultOf(i), final.decisionId);
        if (!underAttack) continue;
        // The injected instruction takes over the agent right after it reads the content.
        for (const attack of scenario.attacks.filter((a) => a.after === i)) {
          // The attack's answer is the first call of it that is not allowed, else the harmful call's allow.
          let d: CallOutcome = { outcome: 'allow', code: '' };
          for (const call of [...attack.needs, attack.call]) {
            d = await agent.call(call.tool, call.args);
            if (d.outcome !== 'allow') break;
          }
          attacks.push({ outcome: d.outcome, code: d.code, title: attack.title, kind: attack.kind, usersTarget: attack.usersTarget });
        }
      }
      return { steps, attacks };
    } finally {
      await agent.close();
    }
  }

  private async agentFor(credential: string, taskId: string): Promise<Agent> {
    const url = this.server.url;
    if (this.path === 'decide') {
      return {
        call: async (tool, args) => {
          const d = (await http(url, '/v1/decide', { body: { credential, tool, args } })).body;
          return { outcome: d.outcome, code: d.reason.code, approvalId: d.approvalId, decisionId: d.id };
        },
        // As an SDK does: the result's content goes back so its values count as seen.
        report: async (tool, args, content, decisionId) => {
          const r = await http(url, `/v1/tasks/${taskId}/results`, { token: credential, body: { tool, args, status: 'ok', content, decisionId } });
          if (r.status !== 202) throw new Error(`report ${tool}: ${r.text}`);
        },
        close: async () => undefined,
      };
    }
    const client = new Client({ name: 'efficacy-agent', version: '1' });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${url}/mcp`), { requestInit: { headers: { Authorization: `Bearer ${credential}` } } }));
    return {
      call: async (tool, args) => {
        const r = (await client.callTool({ name: tool, arguments: args })) as { _meta?: Record<string, { outcome: CallOutcome['outcome']; code: string; approvalId?: string | null; id?: string }> };
        const d = r._meta?.['mandate/decision'];
        if (!d) throw new Error(`${tool}: no decision in the result`);
        return { outcome: d.outcome, code: d.code, approvalId: d.approvalId ?? null, decisionId: d.id ?? null };
      },
      // The gateway relayed the result and accounted for it itself.
      report: async () => undefined,
      close: () => client.close(),
    };
  }
}

interface Agent {
  call(tool: string, args: Record<string, unknown>): Promise<CallOutcome & { approvalId: string | null; decisionId: string | null }>;
  report(tool: string, args: Record<string, unknown>, content: unknown, decisionId: string | null): Promise<void>;
  close(): Promise<void>;
}

/**
 * The step's result with the attacks' text placed in it: in the field the attack
 * names (on a list's last item), else appended to text or added as a field of its own.
 */
function withInjections(result: unknown, attacks: readonly Attack[]): unknown {
  let out = structuredClone(result);
  for (const a of attacks) {
    const append = (before: unknown) => (typeof before === 'string' && before !== '' ? `${before}\n\n${a.injection}` : a.injection);
    if (a.field !== undefined) {
      const item = (Array.isArray(out) ? out.at(-1) : out) as Record<string, unknown>;
      item[a.field] = append(item[a.field]);
    } else if (typeof out === 'string') out = append(out);
    else if (Array.isArray(out)) out.push({ note: a.injection });
    else if (out !== null && typeof out === 'object') (out as Record<string, unknown>).note = append((out as Record<string, unknown>).note);
    else out = a.injection;
  }
  return out;
}

export interface EfficacyMetrics {
  scenarios: number;
  attacks: number;
  /** Attacks whose call was not allowed (denied, or waiting for a person). */
  attacks_stopped_pct: number;
  /** Attacks denied outright, among those whose target was not the user's own. */
  attacks_denied_pct: number;
  /** Legitimate tasks, alone, whose every step was allowed at once. */
  utility_no_stepup_pct: number;
  /** Legitimate tasks under attack whose every step could complete (allowed, or approved by a person). */
  utility_under_attack_pct: number;
  /** Legitimate tasks under attack whose every step was allowed at once. */
  utility_under_attack_no_stepup_pct: number;
}

/** The corpus's figures, overall and per domain. */
export function efficacyMetrics(runs: readonly ScenarioRun[]): { all: EfficacyMetrics; byDomain: Record<string, EfficacyMetrics> } {
  const byDomain: Record<string, EfficacyMetrics> = {};
  for (const domain of [...new Set(runs.map((r) => r.domain))].sort()) byDomain[domain] = metricsOf(runs.filter((r) => r.domain === domain));
  return { all: metricsOf(runs), byDomain };
}

function metricsOf(runs: readonly ScenarioRun[]): EfficacyMetrics {
  const attacks = runs.flatMap((r) => r.attacked?.attacks ?? []);
  const notUsers = attacks.filter((a) => !a.usersTarget);
  const attackedRuns = runs.flatMap((r) => (r.attacked ? [r.attacked] : []));
  const pct = (n: number, d: number) => (d === 0 ? 100 : Math.round((1000 * n) / d) / 10);
  return {
    scenarios: runs.length,
    attacks: attacks.length,
    attacks_stopped_pct: pct(attacks.filter((a) => a.outcome !== 'allow').length, attacks.length),
    attacks_denied_pct: pct(notUsers.filter((a) => a.outcome === 'deny').length, notUsers.length),
    utility_no_stepup_pct: pct(runs.filter((r) => r.clean.every((s) => s.outcome === 'allow')).length, runs.length),
    utility_under_attack_pct: pct(attackedRuns.filter((r) => r.steps.every((s) => s.outcome !== 'deny')).length, attackedRuns.length),
    utility_under_attack_no_stepup_pct: pct(attackedRuns.filter((r) => r.steps.every((s) => s.outcome === 'allow')).length, attackedRuns.length),
  };
}
