import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { decodeJwt } from 'jose';
import YAML from 'yaml';
import { loadConfig, startServer, type RunningServer } from '../../src/server/index.js';
import { AgentClient, MandateApiError, type TaskHandle } from '../../src/sdk/index.js';
import { startOidcIssuer, type OidcIssuer } from '../fixtures/oidc-issuer.js';
import { ADMIN_TOKEN, EXAMPLE_CONFIG, ROOT, http } from '../helpers.js';
import { verifies } from './verifies.js';

const SHARE = join(ROOT, 'examples', 'share');
const REPORT = join(SHARE, 'reports', 'q3.txt');
const spiffe = (name: string) => `spiffe://example.internal/agent/${name}`;
type TextResult = { isError?: boolean; content: { type: string; text?: string }[] };
const text = (r: unknown) => (r as TextResult).content.map((c) => c.text ?? '').join('');

/**
 * The chain the issue asks for, end to end through the MCP gateway: a person signs in
 * at a local identity provider; an orchestrator acts for her, hands a narrower task to
 * a researcher, which hands a narrower one to a writer; every hop is an agent of its
 * own, calling the real filesystem server through the gateway.
 */
describe('a three-agent chain on behalf of a person, through the MCP gateway', () => {
  let server: RunningServer;
  let idp: OidcIssuer;
  let dir: string;
  const clients: Client[] = [];

  const agent = async (name: string, dpop: boolean): Promise<AgentClient> => {
    const jt = await http(server.url, `/v1/agents/${name}/join-tokens`, { token: ADMIN_TOKEN, body: {} });
    return AgentClient.connect({ url: server.url, joinToken: jt.body.token, dpop });
  };
  /** An MCP client of the gateway that sends the task's credential and its holder's proof with every request. */
  const mcp = async (task: TaskHandle): Promise<Client> => {
    const client = new Client({ name: 'chain-agent', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL('/mcp', server.url), { fetch: task.fetch }));
    clients.push(client);
    return client;
  };
  const read = (client: Client, path = REPORT) => client.callTool({ name: 'fs_read_text_file', arguments: { path } });

  before(async () => {
    idp = await startOidcIssuer('mandate');
    const config = YAML.parse(readFileSync(EXAMPLE_CONFIG, 'utf8'));
    config.policy.dir = join(ROOT, 'examples', 'policies');
    config.upstreams.fs.args = [join(ROOT, 'node_modules/@modelcontextprotocol/server-filesystem/dist/index.js'), SHARE];
    // Keys discovered from the provider, as a deployment would: no inline JWKS.
    config.principals = { issuers: [{ issuer: idp.issuer, audience: 'mandate', claim: 'email' }], requireToken: true };
    dir = mkdtempSync(join(tmpdir(), 'mandate-chain-'));
    writeFileSync(join(dir, 'mandate.yaml'), YAML.stringify(config));
    server = await startServer(loadConfig(join(dir, 'mandate.yaml'), { MANDATE_STORE_URL: ':memory:', MANDATE_SERVER_PORT: '0', MANDATE_SERVER_ADMIN_TOKEN: ADMIN_TOKEN, MANDATE_POLICY_WATCH: 'false' }));
    for (const name of ['orchestrator', 'researcher', 'writer']) {
      assert.equal((await http(server.url, '/v1/agents', { token: ADMIN_TOKEN, body: { name, groups: ['agents'], attestation: { joinToken: true } } })).status, 201);
    }
  });
  after(async () => {
    for (const c of clients) await c.close().catch(() => undefined);
    await server?.close();
    await idp?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  verifies('delegation:chain-on-behalf', 'person → orchestrator → researcher → writer through the MCP gateway: each hop narrower, on her id token, DPoP-bound, cascade-revoked, in the trail', async () => {
    const orchestrator = await agent('orchestrator', true);
    const researcher = await agent('researcher', true);
    const writer = await agent('writer', false);

    // Acting for a person takes her id token: the agent's word is not enough.
    const claimed = await orchestrator.declare({ purpose: 'write the q3 summary', tools: ['fs.read_text_file'], onBehalfOf: 'alice@example.com' }).catch((e: unknown) => e);
    assert.ok(claimed instanceof MandateApiError && claimed.code === 'mandate.principal_unverified', String(claimed));
    const foreign = await orchestrator.declareOnBehalf(await idp.idToken('alice', { email: 'alice@example.com' }, { audience: 'another-app' }), { purpose: 'x', tools: ['fs.read_text_file'] }).catch((e: unknown) => e);
    assert.ok(foreign instanceof MandateApiError && foreign.code === 'identity.principal_untrusted', String(foreign));

    const idToken = await idp.idToken('00u-alice', { email: 'alice@example.com' });
    const root = await orchestrator.declareOnBehalf(idToken, {
      purpose: 'write the q3 summary for Alice',
      tools: [{ name: 'fs.read_text_file', args: { path: { prefix: `${SHARE}/` } } }, { name: 'fs.list_directory', args: { path: { prefix: `${SHARE}/` } } }],
      limits: { maxCalls: 20 },
      ttlSeconds: 600,
    });
    assert.ok(idp.served.includes('/.well-known/openid-configuration') && idp.served.includes('/jwks'), 'the keys came from the provider');
    assert.equal(decodeJwt(root.credential).principal, 'alice@example.com');
    const research = researcher.adopt(
      await root.delegate(spiffe('researcher'), { purpose: 'find the q3 figures', tools: [{ name: 'fs.read_text_file', args: { path: { prefix: `${SHARE}/reports/` } } }], limits: { maxCalls: 10 } }),
    );
    const write = writer.adopt(
      await research.delegate(spiffe('writer'), { purpose: 'quote the q3 total', tools: [{ name: 'fs.read_text_file', args: { path: { prefix: `${SHARE}/reports/q3` } } }], limits: { maxCalls: 2 } }),
    );
    assert.deepEqual([root.holderProof, research.holderProof, write.holderProof], ['dpop', 'dpop', 'svid']);

    // A widening attempt at the second hop is refused, naming what widens.
    const wider = await research.delegate(spiffe('writer'), { purpose: 'list everything', tools: ['fs.list_directory'] }).catch((e: unknown) => e);
    assert.ok(wider instanceof MandateApiError && wider.code === 'mandate.refused', String(wider));
    assert.match(wider.message, /tools\.fs\.list_directory/);

    // Each agent calls the real filesystem server through the gateway, within its own mandate.
    const [orchestratorMcp, researchMcp, writeMcp] = [await mcp(root), await mcp(research), await mcp(write)];
    assert.match(text(await read(writeMcp)), /revenue/);
    assert.deepEqual((await writeMcp.listTools()).tools.map((t) => t.name), ['fs_read_text_file']);
    const outside = await read(researchMcp, join(SHARE, 'out', 'nothing.txt'));
    assert.equal(outside.isError, true);
    assert.match(text(outside), /mandate\.arg_constraint/);
    assert.match(text(await read(orchestratorMcp)), /revenue/);

    // The trail shows the whole chain for the writer's call: person → orchestrator → researcher → writer.
    const events = (await http(server.url, `/v1/audit?type=decision&task=${write.id}&order=asc`, { token: ADMIN_TOKEN })).body.events;
    const allowed = events.find((e: { data: { outcome: string } }) => e.data.outcome === 'allow').data;
    assert.equal(allowed.principal, 'alice@example.com');
    assert.deepEqual(allowed.chain.map((l: { spiffeId: string }) => l.spiffeId), [spiffe('researcher'), spiffe('orchestrator')]);
    const granted = (await http(server.url, `/v1/audit?type=task.granted&task=${root.id}`, { token: ADMIN_TOKEN })).body.events[0].data;
    assert.equal(granted.principalVouchedBy.issuer, idp.issuer);

    // A stolen researcher credential is useless without the researcher's key, over MCP too.
    const thief = new Client({ name: 'thief', version: '1.0.0' });
    const stolen = await thief.connect(new StreamableHTTPClientTransport(new URL('/mcp', server.url), { requestInit: { headers: { authorization: `Bearer ${research.credential}` } } })).catch((e: unknown) => e);
    assert.match(String(stolen), /dpop\.missing|401/);

    // Revoking the person revokes every task on her behalf, down the chain.
    assert.equal((await http(server.url, '/v1/revocations', { token: ADMIN_TOKEN, body: { kind: 'principal', subject: 'alice@example.com', reason: 'offboarded' } })).body.tasksEnded, 3);
    for (const client of [orchestratorMcp, researchMcp, writeMcp]) {
      const after = await read(client).catch((e: unknown) => e);
      assert.match(String(after instanceof Error ? after.message : text(after)), /credential\.revoked|401|Unauthorized/i);
    }
  });
});
