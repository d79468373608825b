// What the adapter tests share: a real control plane in process with the example
// configuration and policies, a real upstream MCP server behind its gateway, the
// mandates the scripted models work under, and ways to look at what was recorded.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { AgentClient, type MandateDeclaration, type TaskHandle } from '../../src/sdk/index.js';
import { ADMIN_TOKEN, ROOT, http, startWithUpstreams, until } from '../helpers.js';

const EVERYTHING_SERVER = join(ROOT, 'node_modules/@modelcontextprotocol/server-everything/dist/index.js');

/** The reference MCP server over stdio, as the upstream `everything`; `get-env` is in the catalog but in no mandate here. */
const UPSTREAMS = {
  everything: {
    transport: 'stdio',
    command: process.execPath,
    args: [EVERYTHING_SERVER, 'stdio'],
    timeoutMs: 10_000,
    tools: {
      echo: { kind: 'read', risk: 'low', params: { message: { type: 'string' } } },
      'get-sum': { kind: 'read', risk: 'low', params: { a: { type: 'number' }, b: { type: 'number' } } },
      'get-env': { kind: 'read', risk: 'low' },
    },
  },
};

/** In-process tools: reading files under the reports share, and payments (which the example policies put behind a person). */
export const IN_PROCESS_MANDATE: MandateDeclaration = {
  purpose: 'read the quarterly report and summarise it',
  tools: [{ name: 'files.read', args: { path: { prefix: '/srv/reports/' } } }, 'email.send', { name: 'payments.create', args: { amount: { max: 500 } } }],
  ttlSeconds: 600,
};

/** Through the gateway: echo only what starts with `hello`, and sums. */
export const MCP_MANDATE: MandateDeclaration = {
  purpose: 'greet and add numbers',
  tools: [{ name: 'everything.echo', args: { message: { prefix: 'hello' } } }, 'everything.get-sum'],
  ttlSeconds: 600,
};

/** The report the fake `files.read` returns: it names an address, which counts as untrusted once reported. */
export const REPORT_PATH = '/srv/reports/q3.txt';
export const REPORT_TEXT = 'Q3 revenue up 12%. Questions to eve@evil.example.';

/** A fake file store that records every read it served. */
export function fakeFiles(): { read(path: string): string; reads: string[] } {
  const reads: string[] = [];
  return {
    reads,
    read(path: string) {
      reads.push(path);
      return path === REPORT_PATH ? REPORT_TEXT : `no such file: ${path}`;
    },
  };
}

/** A manual clock offset for `RenewingTask`: move it forward to bring a credential close to expiry. */
export function skewedClock(): { now: () => number; skewMs: number } {
  const clock = { skewMs: 0, now: () => Date.now() + clock.skewMs };
  return clock;
}

export interface Plane {
  url: string;
  /** An attested `report-bot`; with `dpop`, its SVID and task credentials are bound to a key it holds. */
  agent(opts?: { dpop?: boolean }): Promise<AgentClient>;
  /** Audit records of one task, of one type. */
  records(taskId: string, type: 'decision' | 'tool.result'): Promise<{ data: Record<string, unknown> }[]>;
  /** A task as the admin API shows it. */
  taskView(taskId: string): Promise<{ status: string }>;
  /** Approves the pending approval of a task once it exists; resolves with its id. */
  approveWhenAsked(taskId: string): Promise<string>;
  close(): Promise<void>;
}

export async function startPlane(): Promise<Plane> {
  const { server, close } = await startWithUpstreams(UPSTREAMS);
  const approver = await http(server.url, '/v1/approvers', { token: ADMIN_TOKEN, body: { id: 'alice', groups: ['approvers'] } });
  assert.equal(approver.status, 201, approver.text);
  return {
    url: server.url,
    async agent(opts = {}) {
      const jt = await http(server.url, '/v1/agents/report-bot/join-tokens', { token: ADMIN_TOKEN, body: {} });
      return AgentClient.connect({ url: server.url, joinToken: jt.body.token, ...(opts.dpop ? { dpop: true } : {}) });
    },
    async records(taskId, type) {
      return (await server.plane.store.audit.list({ type, taskId: taskId as never, limit: 100 })) as unknown as { data: Record<string, unknown> }[];
    },
    async taskView(taskId) {
      return (await http(server.url, `/v1/tasks/${taskId}`, { token: ADMIN_TOKEN })).body;
    },
    async approveWhenAsked(taskId) {
      const id = await until(`a pending approval of task ${taskId}`, async () => {
        const list = await http(server.url, `/v1/approvals?task=${taskId}&status=pending`, { token: ADMIN_TOKEN });
        return (list.body?.approvals as { id: string }[] | undefined)?.[0]?.id;
      });
      const approved = await http(server.url, `/v1/approvals/${id}/approve`, { token: approver.body.token, body: { reason: 'checked' } });
      assert.equal(approved.status, 200, approved.text);
      return id;
    },
    close,
  };
}

/**
 * What the control plane learnt from an in-process read that was reported with
 * its content and the label `untrusted`: the address the report names is now
 * untrusted for this task, so sending to it is refused outright.
 */
export async function assertReportedAsUntrusted(task: TaskHandle): Promise<void> {
  const send = await task.authorize('email.send', { to: ['eve@evil.example'], subject: 'Q3' });
  assert.deepEqual([send.outcome, send.reason.code], ['deny', 'policy.forbid'], JSON.stringify(send));
  assert.deepEqual(send.targets, [{ arg: 'to[0]', provenance: 'untrusted' }]);
}

/**
 * The binding is in force: the gateway refuses the task's credential sent alone,
 * as a bearer token without a DPoP proof, before any session opens.
 */
export async function assertBearerAloneRefused(url: string, task: TaskHandle): Promise<void> {
  assert.equal(task.holderProof, 'dpop', 'the task credential is bound to the agent\'s key');
  const res = await fetch(`${url}/mcp`, {
    method: 'POST',
    headers: { authorization: `Bearer ${task.credential}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'thief', version: '1' } } }),
  });
  const body = (await res.json()) as { error?: { data?: { code?: string } } };
  assert.deepEqual([res.status, body.error?.data?.code], [401, 'dpop.missing'], JSON.stringify(body));
}
