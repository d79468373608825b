import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { after, before, describe } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CreateMessageRequestSchema, ElicitRequestSchema, ResourceUpdatedNotificationSchema, type Progress } from '@modelcontextprotocol/sdk/types.js';
import type { RunningServer } from '../../src/server/index.js';
import { ROOT, exited, grantTask, startWithUpstreams, until } from '../helpers.js';
import { verifies } from './verifies.js';

const EVERYTHING_SERVER = join(ROOT, 'node_modules/@modelcontextprotocol/server-everything/dist/index.js');
const TOOLS = { 'toggle-subscriber-updates': { kind: 'read', risk: 'low' }, 'trigger-long-running-operation': { kind: 'read', risk: 'low' }, 'trigger-sampling-request': { kind: 'read', risk: 'low' }, 'trigger-elicitation-request': { kind: 'read', risk: 'low' } };
const CLIENT_FEATURES = { sampling: { kind: 'read', risk: 'low' }, elicitation: { kind: 'read', risk: 'low' }, resources: { kind: 'read', risk: 'low' }, prompts: { kind: 'read', risk: 'low' } };

/** The everything server over Streamable HTTP on `port`, once it listens. */
async function startHttpUpstream(port: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, [EVERYTHING_SERVER, 'streamableHttp'], { env: { ...process.env, PORT: String(port) }, stdio: ['ignore', 'ignore', 'pipe'] });
  await new Promise<void>((resolve, reject) => {
    child.stderr!.on('data', (chunk: Buffer) => (/listening on port/.test(chunk.toString()) ? resolve() : undefined));
    child.once('exit', (code) => reject(new Error(`the everything server exited with ${code}`)));
  });
  return child;
}

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const port = (probe.address() as { port: number }).port;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

/** An agent's client with sampling and elicitation, answering as a model and a person would. */
function agentClient(): Client {
  const client = new Client({ name: 'agent', version: '1' }, { capabilities: { sampling: {}, elicitation: {} } });
  client.setRequestHandler(CreateMessageRequestSchema, async (r) => ({ role: 'assistant', model: 'scripted', content: { type: 'text', text: `sampled ${r.params.messages.length} message(s)` } }));
  client.setRequestHandler(ElicitRequestSchema, async () => ({ action: 'accept', content: { name: 'Ada', check: true, email: 'ada@example.com' } }));
  return client;
}

const text = (r: unknown) => JSON.stringify((r as { content: unknown }).content);

for (const transport of ['stdio', 'http'] as const) {
  describe(`MCP relay through the gateway, ${transport} upstream (the everything server)`, () => {
    let server: RunningServer;
    let stop: () => Promise<void>;
    let upstream: ChildProcess | undefined;
    let port = 0;
    let direct: () => Promise<Client>;
    const clients: Client[] = [];

    before(async () => {
      let config: Record<string, unknown>;
      if (transport === 'stdio') {
        config = { transport: 'stdio', command: process.execPath, args: [EVERYTHING_SERVER, 'stdio'] };
        direct = async () => {
          const c = agentClient();
          await c.connect(new StdioClientTransport({ command: process.execPath, args: [EVERYTHING_SERVER, 'stdio'], stderr: 'ignore' }));
          return c;
        };
      } else {
        port = await freePort();
        upstream = await startHttpUpstream(port);
        const url = `http://127.0.0.1:${port}/mcp`;
        config = { transport: 'http', url };
        direct = async () => {
          const c = agentClient();
          await c.connect(new StreamableHTTPClientTransport(new URL(url)));
          return c;
        };
      }
      ({ server, close: stop } = await startWithUpstreams({ everything: { ...config, timeoutMs: 20_000, tools: TOOLS, ...CLIENT_FEATURES } }));
    });
    after(async () => {
      await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
      await stop();
      upstream?.kill();
      if (upstream) await exited(upstream);
    });

    async function viaGateway(tools: string[]): Promise<{ client: Client; taskId: string }> {
      const { credential, taskId } = await grantTask(server.url, 'report-bot', { purpose: 'relay', tools, ttlSeconds: 600 });
      const client = agentClient();
      await client.connect(new StreamableHTTPClientTransport(new URL(`${server.url}/mcp`), { requestInit: { headers: { Authorization: `Bearer ${credential}` } } }));
      clients.push(client);
      return { client, taskId };
    }
    const ALL = ['everything.trigger-long-running-operation', 'everything.trigger-sampling-request', 'everything.trigger-elicitation-request', 'everything.sampling', 'everything.elicitation'];

    verifies('gateway:mcp:relay-progress', 'progress notifications reach the agent that asked for them, as many as directly', async () => {
      const counted = async (client: Client, name: string) => {
        const seen: Progress[] = [];
        await client.callTool({ name, arguments: { duration: 1, steps: 4 } }, undefined, { onprogress: (p) => void seen.push(p) });
        return seen.map((p) => p.progress);
      };
      const d = await direct();
      clients.push(d);
      const { client } = await viaGateway(ALL);
      const viaSteps = await counted(client, 'everything_trigger-long-running-operation');
      const directSteps = await counted(d, 'trigger-long-running-operation');
      assert.deepEqual(viaSteps, [1, 2, 3, 4], 'every step the upstream reported');
      // The SDK client drops a progress notification that arrives in the same read as the result, so the direct
      // connection sometimes sees the first three only; the gateway reads progress itself and loses none.
      assert.deepEqual(directSteps, viaSteps.slice(0, directSteps.length));
      assert.ok(directSteps.length >= 3);
    });

    verifies('gateway:mcp:relay-client-requests', 'sampling and elicitation asked by the upstream during a call reach the agent when the mandate allows them, and are refused to the upstream when it does not', async () => {
      const { client } = await viaGateway(ALL);
      const sampled = await client.callTool({ name: 'everything_trigger-sampling-request', arguments: { prompt: 'hello', maxTokens: 10 } });
      assert.match(text(sampled), /sampled 1 message\(s\)/);
      const elicited = await client.callTool({ name: 'everything_trigger-elicitation-request', arguments: {} });
      assert.match(text(elicited), /Ada/);
      // Without `everything.sampling` in the mandate, the agent is never asked: the upstream gets the refusal.
      const narrow = await viaGateway(['everything.trigger-sampling-request']);
      let asked = false;
      narrow.client.setRequestHandler(CreateMessageRequestSchema, async () => {
        asked = true;
        return { role: 'assistant', model: 'x', content: { type: 'text', text: 'should not be asked' } };
      });
      const refused = await narrow.client.callTool({ name: 'everything_trigger-sampling-request', arguments: { prompt: 'hello', maxTokens: 10 } }).catch((err: Error) => ({ content: [{ text: err.message }] }));
      assert.match(text(refused), /denied \(mandate\.tool_not_declared\)/);
      assert.equal(asked, false);
    });

    if (transport === 'http') {
      verifies('gateway:mcp:upstream-restart', 'after an HTTP upstream restarts (and forgets its sessions), the next list and call succeed at once, not empty or failed', async () => {
        const { client } = await viaGateway([...ALL, 'everything.resources']);
        const before = (await client.listResources()).resources.length;
        assert.ok(before > 0);
        upstream!.kill();
        await exited(upstream!);
        upstream = await startHttpUpstream(port);
        assert.equal((await client.listResources()).resources.length, before, 'the first list after the restart is whole');
        const steps: number[] = [];
        await client.callTool({ name: 'everything_trigger-long-running-operation', arguments: { duration: 1, steps: 2 } }, undefined, { onprogress: (p) => void steps.push(p.progress) });
        assert.deepEqual(steps, [1, 2]);
      });
    }

    verifies('gateway:mcp:completion-and-subscriptions', 'completion answers as directly, decided like the prompt; a subscribed resource\'s updates reach the session that subscribed', async () => {
      const d = await direct();
      clients.push(d);
      const { client } = await viaGateway([...ALL, 'everything.prompts', 'everything.resources', 'everything.toggle-subscriber-updates']);
      const argument = { name: 'department', value: 'S' };
      const via = await client.complete({ ref: { type: 'ref/prompt', name: 'everything_completable-prompt' }, argument });
      assert.deepEqual(via.completion.values, (await d.complete({ ref: { type: 'ref/prompt', name: 'completable-prompt' }, argument })).completion.values);
      assert.deepEqual(via.completion.values, ['Sales', 'Support']);
      // Without `everything.prompts` the suggestions are refused like the prompt.
      const narrow = await viaGateway(ALL);
      await assert.rejects(narrow.client.complete({ ref: { type: 'ref/prompt', name: 'everything_completable-prompt' }, argument }), /denied \(mandate\.tool_not_declared\)/);

      const { resources } = await client.listResources();
      const uri = resources[0]!.uri;
      const updated: string[] = [];
      client.setNotificationHandler(ResourceUpdatedNotificationSchema, async (n) => void updated.push(n.params.uri));
      await client.subscribeResource({ uri });
      await client.callTool({ name: 'everything_toggle-subscriber-updates', arguments: {} });
      await until('the update of the subscribed resource', async () => (updated.includes(uri) ? true : undefined), 15_000);
      await client.callTool({ name: 'everything_toggle-subscriber-updates', arguments: {} });
      await client.unsubscribeResource({ uri });
    });

    verifies('gateway:mcp:relay-cancel', 'a call the agent cancels is cancelled upstream, answered no more, and recorded as cancelled', async () => {
      const { client, taskId } = await viaGateway(ALL);
      const abort = new AbortController();
      const call = client.callTool({ name: 'everything_trigger-long-running-operation', arguments: { duration: 30, steps: 30 } }, undefined, {
        signal: abort.signal,
        onprogress: () => abort.abort('enough'),
      });
      await assert.rejects(call, /enough|abort/i);
      await until('the result to be recorded as cancelled', async () => {
        await server.plane.audit.flush();
        const results = await server.plane.store.audit.list({ type: 'tool.result', taskId: taskId as never, limit: 10 });
        return results.some((e) => e.data.code === 'gateway.cancelled') ? true : undefined;
      }, 10_000);
    });
  });
}
