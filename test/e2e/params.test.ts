import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { RunningServer } from '../../src/server/index.js';
import { ROOT, grantTask, startWithUpstreams } from '../helpers.js';
import { verifies } from './verifies.js';

const FIXTURE = join(ROOT, 'dist/test/fixtures/fixture-mcp-server.js');
/** How long the upstream that never answers is given: a refusal well before twice this is the bound holding. */
const HUNG_TIMEOUT_MS = 1000;

type Refused = { item: string; code: string; reason: string };

/**
 * Grant-time checks of argument constraints against the parameters a real MCP
 * server lists (`inputSchema`), for upstream tools whose configuration states none.
 */
describe('parameters learned from an MCP upstream at grant time', () => {
  let server: RunningServer;
  let close: () => Promise<void>;
  const clients: Client[] = [];

  before(async () => {
    const fixture = { transport: 'stdio', command: process.execPath, args: [FIXTURE] };
    ({ server, close } = await startWithUpstreams({
      // No `params` anywhere: they come from the fixture's `tools/list`.
      fx: {
        ...fixture,
        tools: {
          pay: { kind: 'payment', risk: 'high', targets: ['iban'] },
          send_email: { kind: 'send', risk: 'medium', targets: ['to'] },
          grow: { kind: 'read' },
          extra: { kind: 'read' },
          refund: { kind: 'payment', risk: 'high' },
        },
      },
      // The same server, with parameters stated (and, on purpose, unlike its schema): the configuration wins.
      stated: {
        ...fixture,
        tools: { pay: { kind: 'payment', risk: 'high', params: { iban: { type: 'string' }, amount: { type: 'string' }, recipient: { type: 'string' } } } },
      },
      down: { transport: 'stdio', command: process.execPath, args: ['-e', 'process.exit(3)'], timeoutMs: 2000, tools: { pay: { kind: 'payment', risk: 'high' } } },
      hung: { transport: 'stdio', command: process.execPath, args: ['-e', 'setInterval(() => {}, 1000)'], timeoutMs: HUNG_TIMEOUT_MS, tools: { pay: { kind: 'payment', risk: 'high' } } },
    }));
  });
  after(async () => {
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
    await close();
  });

  const grant = (tools: unknown[]) => grantTask(server.url, 'report-bot', { purpose: 'settle the invoices', ttlSeconds: 600, tools });
  /** The refused items of a grant that must be refused. */
  async function refused(tools: unknown[]): Promise<Refused[]> {
    const r = await grant(tools);
    assert.equal(r.status, 403, JSON.stringify(r.body));
    assert.equal(r.body.error.code, 'mandate.refused');
    return (r.body.error.refused as Refused[]).map(({ item, code, reason }) => ({ item, code, reason }));
  }
  async function granted(tools: unknown[]): Promise<string> {
    const r = await grant(tools);
    assert.equal(r.status, 201, JSON.stringify(r.body));
    return r.credential;
  }

  verifies('gateway:mcp:params-from-input-schema', 'a constraint on an argument the tool lacks, or of the wrong type, is refused by name; a valid one is granted; stated params win', async () => {
    assert.deepEqual(await refused([{ name: 'fx.pay', args: { recipient: { equals: 'DE89370400440532013000' } } }]), [
      { item: 'tools.fx.pay.args.recipient', code: 'mandate.arg_constraint', reason: 'argument `recipient` of `fx.pay`: the tool has no argument `recipient`' },
    ]);
    assert.deepEqual(await refused([{ name: 'fx.pay', args: { amount: { prefix: '1' }, iban: { max: 5 } } }]), [
      { item: 'tools.fx.pay.args.amount', code: 'mandate.arg_constraint', reason: 'argument `amount` of `fx.pay`: `prefix` cannot apply to a number' },
      { item: 'tools.fx.pay.args.iban', code: 'mandate.arg_constraint', reason: 'argument `iban` of `fx.pay`: `max` cannot apply to a string' },
    ]);
    // What the schema allows is granted: `to` is a string or a list of strings (any type), `body` a string.
    await granted([
      { name: 'fx.pay', args: { iban: { prefix: 'DE' }, amount: { max: 1000 } } },
      { name: 'fx.send_email', args: { to: { oneOf: ['bob@example.com'] }, body: { maxLength: 500, optional: true } } },
      'fx.grow',
    ]);
    // The same server with stated parameters: they are used, and the upstream is not even started for them.
    assert.equal(await server.plane.upstreams.pid('stated'), null);
    await granted([{ name: 'stated.pay', args: { recipient: { equals: 'Landlord' }, amount: { prefix: '1' } } }]);
    assert.deepEqual(await refused([{ name: 'stated.pay', args: { amount: { max: 5 }, memo: { equals: 'x' } } }]).then((r) => r.map((i) => i.reason)), [
      'argument `amount` of `stated.pay`: `max` cannot apply to a string',
      'argument `memo` of `stated.pay`: the tool has no argument `memo`',
    ]);
    assert.equal(await server.plane.upstreams.pid('stated'), null, 'stated parameters never wait on the upstream');
    assert.ok(await server.plane.upstreams.pid('fx'), 'the fixture was started to list its tools');
  });

  verifies('gateway:mcp:params-upstream-unreachable', 'an upstream that is down, hangs or lacks the tool refuses constraints on it, not the tool itself', async () => {
    for (let attempt = 0; attempt < 2; attempt++) {
      // The first attempt starts the process, which exits; the second finds it backing off.
      const [item, ...rest] = await refused([{ name: 'down.pay', args: { iban: { prefix: 'DE' } } }, { name: 'fx.pay', args: { iban: { prefix: 'DE' } } }]);
      assert.deepEqual(rest, []);
      assert.equal(item?.item, 'tools.down.pay');
      assert.equal(item?.code, 'mandate.params_unavailable');
      assert.match(item!.reason, /^the argument constraints of `down\.pay` cannot be checked: its parameters could not be learned from its upstream \(gateway\.upstream_unavailable: upstream `down` (could not be started|is restarting; retry in \d+ s)\); retry, or state its `params` in the configuration$/);
    }
    await granted(['down.pay']);

    const startedMs = Date.now();
    const [hung] = await refused([{ name: 'hung.pay', args: { amount: { max: 5 } } }]);
    assert.ok(Date.now() - startedMs < 2 * HUNG_TIMEOUT_MS + 1000, `answered after ${Date.now() - startedMs} ms`);
    assert.equal(hung?.code, 'mandate.params_unavailable');
    assert.match(hung!.reason, /`hung\.pay`.*gateway\.upstream_(timeout|unavailable): upstream `hung`/);
    await granted(['hung.pay']);

    const [missing] = await refused([{ name: 'fx.refund', args: { amount: { max: 5 } } }]);
    assert.equal(missing?.code, 'mandate.params_unavailable');
    assert.match(missing!.reason, /gateway\.upstream_error: upstream `fx` does not list the tool `refund`/);
    await granted(['fx.refund']);
    await server.plane.audit.flush();
    const records = await server.plane.store.audit.list({ type: 'task.refused' });
    assert.ok(records.some((e) => JSON.stringify(e.data).includes('mandate.params_unavailable')), 'the refusal is in the trail');
  });

  verifies('gateway:mcp:params-follow-list-changed', 'a tool the upstream adds while running is checked against its schema once the list changes', async () => {
    const [before] = await refused([{ name: 'fx.extra', args: { n: { max: 5 } } }]);
    assert.match(before!.reason, /does not list the tool `extra`/);
    const credential = await granted(['fx.grow']);
    const client = new Client({ name: 'agent', version: '1' });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${server.url}/mcp`), { requestInit: { headers: { Authorization: `Bearer ${credential}` } } }));
    clients.push(client);
    const grown = (await client.callTool({ name: 'fx.grow', arguments: {} })) as { content: { text?: string }[] };
    assert.equal(grown.content[0]?.text, 'grown');
    // The notification that the list changed travels on its own; the next grant reads the list again.
    const deadline = Date.now() + 10_000;
    let r = await grant([{ name: 'fx.extra', args: { n: { max: 5 } } }]);
    while (r.status !== 201 && Date.now() < deadline) {
      await new Promise((ok) => setTimeout(ok, 50));
      r = await grant([{ name: 'fx.extra', args: { n: { max: 5 } } }]);
    }
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.deepEqual(await refused([{ name: 'fx.extra', args: { n: { prefix: '1' }, m: { equals: 1 } } }]).then((x) => x.map((i) => i.reason)), [
      'argument `n` of `fx.extra`: `prefix` cannot apply to a number',
      'argument `m` of `fx.extra`: the tool has no argument `m`',
    ]);
  });
});
