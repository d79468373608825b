import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ConfigError, skewableClock } from '../core/index.js';
import { AgentClient, type Decision, type TaskHandle } from '../sdk/index.js';
import { loadConfig, startServer } from '../server/index.js';

export interface DemoStep {
  step: string;
  decision: Decision['outcome'];
  reason: string;
  expected: { decision: Decision['outcome']; reason: string };
  ok: boolean;
  /** The recorded decision, to find in the trail or the console. */
  decisionId?: string;
}

/** A control plane on the example configuration to play the scenario against. */
export interface DemoTarget {
  url: string;
  adminToken: string;
  /** Moves the control plane's clock on, for the expiry step; without it that step is left out. */
  advanceClock?: (ms: number) => void;
  /** The agent's clock, which moves with the control plane's. */
  now?: () => number;
}

const EXAMPLES = fileURLToPath(new URL('../../../examples/', import.meta.url));

/**
 * A scripted scenario through the SDK against a control plane started for the
 * occasion (example policies and tools, a throwaway store, or one kept in
 * `storeDir`): every outcome a newcomer should see, each checked against what the
 * script expects.
 */
export async function runDemo(onStep: (s: DemoStep) => void, opts: { storeDir?: string } = {}): Promise<DemoStep[]> {
  const dir = opts.storeDir ?? mkdtempSync(join(tmpdir(), 'mandate-demo-'));
  // A store kept from an earlier run would add its events to this one's: the counts of a report on it would not be the script's.
  if (opts.storeDir !== undefined && existsSync(join(dir, 'mandate.db'))) throw new ConfigError(`--store-dir: \`${dir}\` already holds a store; give a folder holding none`);
  mkdirSync(dir, { recursive: true });
  const clock = skewableClock();
  const adminToken = 'demo-admin-token-not-for-production';
  const config = loadConfig(join(EXAMPLES, 'mandate.yaml'), {
    MANDATE_STORE_URL: `file:${join(dir, 'mandate.db')}`,
    MANDATE_SERVER_PORT: '0',
    MANDATE_SERVER_ADMIN_TOKEN: adminToken,
    MANDATE_POLICY_WATCH: 'false',
  });
  const server = await startServer(config, { clock });
  try {
    return await playDemo({ url: server.url, adminToken, advanceClock: (ms) => clock.advance(ms), now: () => clock.nowMs() }, onStep);
  } finally {
    await server.close();
    if (opts.storeDir === undefined) rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The scenario itself, against `target`: a control plane serving the example
 * policies, the example agent `report-bot` and the example `fs` MCP server (what
 * `npm start` serves), whose console shows each decision as it is taken.
 */
export async function playDemo(target: DemoTarget, onStep: (s: DemoStep) => void): Promise<DemoStep[]> {
  const steps: DemoStep[] = [];
  const record = (step: string, d: Pick<Decision, 'outcome' | 'reason'> & { id?: string }, decision: Decision['outcome'], reason: string) => {
    const s: DemoStep = { step, decision: d.outcome, reason: d.reason.code, expected: { decision, reason }, ok: d.outcome === decision && d.reason.code === reason, ...(d.id ? { decisionId: d.id } : {}) };
    steps.push(s);
    onStep(s);
  };
  const joinResponse = await fetch(`${target.url}/v1/agents/report-bot/join-tokens`, { method: 'POST', headers: { authorization: `Bearer ${target.adminToken}`, 'content-type': 'application/json' }, body: '{}' });
  if (!joinResponse.ok) throw new ConfigError(`the control plane at ${target.url} gave no join token for the example agent \`report-bot\` (HTTP ${joinResponse.status}): is it serving the example configuration, and is the admin token right?`);
  const { token } = (await joinResponse.json()) as { token: string };
  const agent = await AgentClient.connect({ url: target.url, joinToken: token, ...(target.now ? { now: target.now } : {}) });
  const task: TaskHandle = await agent.declare({
    purpose: 'compile the quarterly report and pay the printing invoice',
    tools: [{ name: 'files.read', args: { path: { prefix: '/srv/reports/' } } }, 'files.write', { name: 'payments.create', args: { amount: { max: 500 } } }],
    dataClasses: ['internal'],
    limits: { maxCalls: 20 },
    ttlSeconds: 600,
  });
  record('read a report inside the mandate', await task.authorize('files.read', { path: '/srv/reports/q3.csv' }), 'allow', 'policy.permit');
  record('send an email: not declared in the mandate', await task.authorize('email.send', { to: 'someone@example.com' }), 'deny', 'mandate.tool_not_declared');
  record('read /etc/passwd: breaks the path constraint', await task.authorize('files.read', { path: '/etc/passwd' }), 'deny', 'mandate.arg_constraint');
  record('pay an invoice: needs a human approval', await task.authorize('payments.create', { amount: 120, recipient: 'print-shop' }), 'step_up', 'policy.step_up');
  record('write under /etc: forbidden by the ceiling', await task.authorize('files.write', { path: '/etc/cron.d/job', content: '* * * * * true' }), 'deny', 'policy.forbid');
  record('three denials in a minute: the task is tightened, and its declared work goes on', await task.authorize('files.read', { path: '/srv/reports/q3.csv' }), 'allow', 'policy.permit');
  record('tightened: a payment to a recipient the task never saw is refused', await task.authorize('payments.create', { amount: 80, recipient: 'unknown-shop' }), 'deny', 'monitor.drift.repeated_denials');
  await task.complete('report done');
  record('read again after the task completed', await task.authorize('files.read', { path: '/srv/reports/q3.csv' }), 'deny', 'credential.revoked');

  // The same decisions when the agent speaks MCP: the gateway decides, then forwards to the real filesystem server.
  const share = join(EXAMPLES, 'share');
  const viaMcp = await agent.declare({
    purpose: 'summarise the Q3 report through the MCP gateway',
    tools: [{ name: 'fs.read_text_file', args: { path: { prefix: join(share, 'reports') + '/' } } }, { name: 'fs.write_file', args: { path: { prefix: join(share, 'out') + '/' } } }],
    ttlSeconds: 600,
  });
  const mcp = new Client({ name: 'mandate-demo-agent', version: '0.1.0' });
  await mcp.connect(new StreamableHTTPClientTransport(new URL(`${target.url}/mcp`), { requestInit: { headers: { Authorization: `Bearer ${viaMcp.credential}` } } }));
  try {
    const call = async (name: string, args: Record<string, unknown>) => decisionOf(await mcp.callTool({ name, arguments: args }));
    record('MCP: read the report through the gateway', await call('fs.read_text_file', { path: join(share, 'reports', 'q3.txt') }), 'allow', 'policy.permit');
    record('MCP: write outside out/ through the gateway', await call('fs.write_file', { path: join(share, 'reports', 'q3.txt'), content: 'tampered' }), 'deny', 'mandate.arg_constraint');
  } finally {
    await mcp.close();
    // Done with it: on a running control plane the task would otherwise stay live until it expires.
    await viaMcp.complete('summary done').catch(() => undefined);
  }

  if (target.advanceClock) {
    const short = await agent.declare({ purpose: 'one quick lookup', tools: ['files.read'], ttlSeconds: 60 });
    target.advanceClock(61_000);
    record('call with a credential past its TTL', await short.authorize('files.read', { path: '/srv/reports/q3.csv' }), 'deny', 'credential.expired');
  }
  return steps;
}

/** The decision the MCP gateway attached to a tool result. */
function decisionOf(result: unknown): Pick<Decision, 'outcome' | 'reason'> & { id?: string } {
  const meta = (result as { _meta?: Record<string, { id?: string; outcome?: Decision['outcome']; code?: string }> })._meta?.['mandate/decision'];
  return { ...(meta?.id ? { id: meta.id } : {}), outcome: meta?.outcome ?? 'deny', reason: { code: (meta?.code ?? 'internal.error') as Decision['reason']['code'], message: '' } };
}
