import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe } from 'node:test';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import type { RunningServer } from '../../src/server/index.js';
import { ROOT, grantTask, startWithUpstreams } from '../helpers.js';
import { verifies } from './verifies.js';

const EVERYTHING_SERVER = join(ROOT, 'node_modules/@modelcontextprotocol/server-everything/dist/index.js');

describe('the v2 TypeScript SDK client (@modelcontextprotocol/client) through the gateway', () => {
  let server: RunningServer;
  let stop: () => Promise<void>;
  const clients: Client[] = [];

  before(async () => {
    ({ server, close: stop } = await startWithUpstreams({
      everything: {
        transport: 'stdio',
        command: process.execPath,
        args: [EVERYTHING_SERVER, 'stdio'],
        timeoutMs: 20_000,
        tools: { echo: { kind: 'read', risk: 'low' }, 'get-sum': { kind: 'read', risk: 'low' }, 'trigger-long-running-operation': { kind: 'read', risk: 'low' } },
        resources: { kind: 'read', risk: 'low' },
        prompts: { kind: 'read', risk: 'low' },
      },
    }));
  });
  after(async () => {
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
    await stop();
  });

  verifies('gateway:mcp:sdk-v2-client', 'a v2 SDK client negotiates, lists, calls, receives progress and reads refusals through the gateway', async () => {
    const { credential } = await grantTask(server.url, 'report-bot', { purpose: 'v2', tools: ['everything.echo', 'everything.trigger-long-running-operation'], ttlSeconds: 600 });
    const client = new Client({ name: 'v2-agent', version: '1' });
    clients.push(client);
    await client.connect(new StreamableHTTPClientTransport(new URL(`${server.url}/mcp`), { requestInit: { headers: { Authorization: `Bearer ${credential}` } } }));
    assert.deepEqual((await client.listTools()).tools.map((t) => t.name).sort(), ['everything_echo', 'everything_trigger-long-running-operation']);
    const echo = await client.callTool({ name: 'everything_echo', arguments: { message: 'from v2' } });
    assert.deepEqual(echo.content, [{ type: 'text', text: 'Echo: from v2' }]);
    const steps: number[] = [];
    await client.callTool({ name: 'everything_trigger-long-running-operation', arguments: { duration: 1, steps: 3 } }, { onprogress: (p) => void steps.push(p.progress) });
    assert.deepEqual(steps, [1, 2, 3]);
    const refused = await client.callTool({ name: 'everything_get-sum', arguments: { a: 1, b: 2 } });
    assert.equal(refused.isError, true);
    assert.match(JSON.stringify(refused.content), /denied \(mandate\.tool_not_declared\)/);
  });

  verifies('gateway:mcp:stateless', 'a v2 SDK client pinned to MCP 2026-07-28 discovers, lists, calls, receives progress, reads resources and prompts and reads refusals through the gateway, with no session', async () => {
    const { credential } = await grantTask(server.url, 'report-bot', {
      purpose: 'stateless',
      tools: ['everything.echo', 'everything.trigger-long-running-operation', 'everything.resources', 'everything.prompts'],
      ttlSeconds: 600,
    });
    assert.ok(credential, 'the task was granted');
    const client = new Client({ name: 'v2-agent-2026', version: '1' }, { versionNegotiation: { mode: { pin: '2026-07-28' } } });
    clients.push(client);
    const transport = new StreamableHTTPClientTransport(new URL(`${server.url}/mcp`), { requestInit: { headers: { Authorization: `Bearer ${credential}` } } });
    await client.connect(transport);
    assert.equal(client.getProtocolEra(), 'modern');
    assert.equal(client.getNegotiatedProtocolVersion(), '2026-07-28');
    assert.equal(transport.sessionId, undefined, 'no session in 2026-07-28');
    assert.deepEqual(client.getServerVersion(), { name: 'mandate-gateway', version: '0.1.0' });
    assert.deepEqual((await client.listTools()).tools.map((t) => t.name).sort(), ['everything_echo', 'everything_trigger-long-running-operation']);
    const echo = await client.callTool({ name: 'everything_echo', arguments: { message: 'from 2026' } });
    assert.deepEqual(echo.content, [{ type: 'text', text: 'Echo: from 2026' }]);
    const steps: number[] = [];
    await client.callTool({ name: 'everything_trigger-long-running-operation', arguments: { duration: 1, steps: 3 } }, { onprogress: (p) => void steps.push(p.progress) });
    assert.deepEqual(steps, [1, 2, 3]);
    const resources = (await client.listResources()).resources;
    assert.ok(resources.length > 0);
    const read = await client.readResource({ uri: resources[0]!.uri });
    assert.equal(read.contents[0]!.uri, resources[0]!.uri);
    const prompt = await client.getPrompt({ name: 'everything_simple-prompt' });
    assert.ok(prompt.messages.length > 0);
    const refused = await client.callTool({ name: 'everything_get-sum', arguments: { a: 1, b: 2 } });
    assert.equal(refused.isError, true);
    assert.match(JSON.stringify(refused.content), /denied \(mandate\.tool_not_declared\)/);
  });
});
