import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { RunningServer } from '../../src/server/index.js';
import { ADMIN_TOKEN, ROOT, http, startWithUpstreams, until } from '../helpers.js';
import { verifies } from './verifies.js';

const EVERYTHING_SERVER = join(ROOT, 'node_modules/@modelcontextprotocol/server-everything/dist/index.js');

describe('mandate connect --stdio: a desktop client that speaks stdio only, through the gateway', () => {
  let dir: string;
  let server: RunningServer;
  let stop: () => Promise<void>;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mandate-connect-'));
    ({ server, close: stop } = await startWithUpstreams({
      everything: { transport: 'stdio', command: process.execPath, args: [EVERYTHING_SERVER, 'stdio'], timeoutMs: 10_000, tools: { echo: { kind: 'read', risk: 'low' }, 'get-sum': { kind: 'read', risk: 'low' } } },
    }));
  });
  after(async () => {
    await stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** The bridge as a desktop client starts it: a child process, MCP over its stdin and stdout. */
  async function bridge(mandate: unknown, extra: string[] = []): Promise<Client> {
    const file = join(dir, `mandate-${Date.now()}.json`);
    writeFileSync(file, JSON.stringify(mandate));
    const token = (await http(server.url, '/v1/agents/report-bot/join-tokens', { token: ADMIN_TOKEN, body: {} })).body.token as string;
    const client = new Client({ name: 'desktop', version: '1' });
    await client.connect(
      new StdioClientTransport({
        command: process.execPath,
        args: [join(ROOT, 'bin', 'mandate.js'), 'connect', '--stdio', '--mandate', file, '--url', server.url, ...extra],
        env: { ...(process.env as Record<string, string>), MANDATE_JOIN_TOKEN: token },
        stderr: 'ignore',
      }),
    );
    return client;
  }
  const tasks = async () => (await http(server.url, '/v1/tasks?agent=report-bot&limit=100', { token: ADMIN_TOKEN })).body.tasks as { id: string; status: string; createdAtMs: number }[];
  const text = (r: unknown) => ((r as { content: { text: string }[] }).content[0]?.text ?? '');

  verifies('connect:stdio-relays', 'a stdio MCP client lists and calls tools through the gateway under the declared mandate; the task completes when the client leaves', async () => {
    const before = new Set((await tasks()).map((t) => t.id));
    const client = await bridge({ purpose: 'echo for the desktop', tools: ['everything.echo'], ttlSeconds: 600 });
    const { tools } = await client.listTools();
    assert.deepEqual(tools.map((t) => t.name), ['everything_echo'], 'only what the mandate declares, under the exposed name');
    assert.equal(text(await client.callTool({ name: 'everything_echo', arguments: { message: 'hi' } })), 'Echo: hi');
    const refused = await client.callTool({ name: 'everything_get-sum', arguments: { a: 1, b: 2 } });
    assert.equal(refused.isError, true);
    assert.match(text(refused), /^denied \(mandate\.tool_not_declared\)/);
    const mine = (await tasks()).filter((t) => !before.has(t.id));
    assert.deepEqual(mine.map((t) => t.status), ['active']);
    await client.close();
    await until('the task to be completed', async () => ((await tasks()).find((t) => t.id === mine[0]!.id)?.status === 'completed' ? true : undefined));
  });

  verifies('connect:stdio-renews', 'before the credential expires the bridge declares the mandate again and carries on in a new session; the old task is completed', async () => {
    const before = new Set((await tasks()).map((t) => t.id));
    // Renew before every message: the whole life of the credential is inside the window.
    const client = await bridge({ purpose: 'echo for the desktop', tools: ['everything.echo'], ttlSeconds: 600 }, ['--renew-before', '600']);
    for (const message of ['one', 'two', 'three']) assert.equal(text(await client.callTool({ name: 'everything_echo', arguments: { message } })), `Echo: ${message}`);
    const mine = (await tasks()).filter((t) => !before.has(t.id)).sort((a, b) => a.createdAtMs - b.createdAtMs);
    assert.ok(mine.length >= 4, `a task per message after the first declaration (${mine.length})`);
    await until('every task but the newest to be completed', async () => {
      const now = (await tasks()).filter((t) => !before.has(t.id)).sort((a, b) => a.createdAtMs - b.createdAtMs);
      return now.slice(0, -1).every((t) => t.status === 'completed') && now.at(-1)!.status === 'active' ? true : undefined;
    });
    await client.close();
  });
});
