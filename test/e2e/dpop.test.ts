import assert from 'node:assert/strict';
import { createServer, type IncomingMessage } from 'node:http';
import { once } from 'node:events';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { after, before, describe } from 'node:test';
import { decodeJwt } from 'jose';
import type { RunningServer } from '../../src/server/index.js';
import { AgentClient, createDpopProof } from '../../src/sdk/index.js';
import { ADMIN_TOKEN, http, startTestServer } from '../helpers.js';
import { verifies } from './verifies.js';

const spiffe = (name: string) => `spiffe://example.test/agent/${name}`;

async function joinToken(server: RunningServer, agent: string): Promise<string> {
  const res = await http(server.url, `/v1/agents/${agent}/join-tokens`, { token: ADMIN_TOKEN, body: {} });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return res.body.token;
}

async function keyPair(): Promise<{ privateKey: CryptoKey; publicJwk: JsonWebKey }> {
  const pair = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign', 'verify']);
  return { privateKey: pair.privateKey, publicJwk: await crypto.subtle.exportKey('jwk', pair.publicKey) };
}

/** `POST /v1/decide` as a thief would send it: the credential, and whatever proof it can make. */
async function decideRaw(server: RunningServer, credential: string, dpop?: string): Promise<{ outcome: string; reason: { code: string } }> {
  const res = await http(server.url, '/v1/decide', { body: { credential, tool: 'files.read', args: { path: '/srv/reports/q3.csv' } }, headers: dpop ? { dpop } : {} });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body;
}

/**
 * Sender-constrained credentials (RFC 9449): an agent that attests with a key gets
 * an SVID and task credentials bound to it; without the key a copied credential is
 * refused, and a proof is good for one request only.
 */
describe('DPoP-bound credentials', () => {
  let server: RunningServer;
  before(async () => {
    server = await startTestServer({ MANDATE_TRUST_DOMAIN: 'example.test' });
    for (const name of ['researcher', 'writer']) {
      assert.equal((await http(server.url, '/v1/agents', { token: ADMIN_TOKEN, body: { name, groups: ['agents'], attestation: { joinToken: true } } })).status, 201);
    }
  });
  after(async () => server?.close());

  verifies('dpop:bound-credentials', 'an agent attesting with a key gets a key-bound SVID and task credentials; a stolen credential without the key is useless', async () => {
    const agent = await AgentClient.connect({ url: server.url, joinToken: await joinToken(server, 'report-bot'), dpop: true });
    const task = await agent.declare({ purpose: 'summarise q3', tools: ['files.read'], ttlSeconds: 600 });
    const jkt = (decodeJwt(task.credential).cnf as { jkt?: string } | undefined)?.jkt;
    assert.match(jkt ?? '', /^[A-Za-z0-9_-]{43}$/, 'the credential is bound to the agent\'s key');
    assert.equal((await task.authorize('files.read', { path: '/srv/reports/q3.csv' })).outcome, 'allow');
    assert.equal((await task.authorize('files.read', { path: '/srv/reports/q3.csv' })).outcome, 'allow', 'a fresh proof for every call');
    const agents = await http(server.url, '/v1/agents', { token: ADMIN_TOKEN });
    assert.equal(agents.body.agents.find((a: { name: string }) => a.name === 'report-bot').dpopJkt, jkt);

    // The thief has the credential, not the key.
    assert.deepEqual(await decideRaw(server, task.credential).then((d) => [d.outcome, d.reason.code]), ['deny', 'dpop.missing']);
    const thief = await keyPair();
    const forged = await createDpopProof({ ...thief, method: 'POST', url: `${server.url}/v1/decide`, accessToken: task.credential });
    assert.equal((await decideRaw(server, task.credential, forged)).reason.code, 'dpop.key_mismatch');

    // Results and completion need the proof as well.
    const report = await http(server.url, `/v1/tasks/${task.id}/results`, { token: task.credential, body: { tool: 'files.read', status: 'ok' } });
    assert.deepEqual([report.status, report.body.error.code], [401, 'dpop.missing']);
    await task.report('files.read', { status: 'ok', bytes: 10 });
    await task.complete('done');
    assert.equal((await task.authorize('files.read', { path: '/srv/reports/q3.csv' })).reason.code, 'credential.revoked');
  });

  verifies('sdk:gateway-fetch-abort', 'the gateway fetch proves possession per request, and an abort reaches the socket after a garbage collection', { timeout: 30_000 }, async () => {
    const agent = await AgentClient.connect({ url: server.url, joinToken: await joinToken(server, 'report-bot'), dpop: true });
    const task = await agent.declare({ purpose: 'listen to a stream', tools: ['files.read'], ttlSeconds: 600 });
    // A stream that never ends, as an MCP server's GET stream.
    const seen: IncomingMessage[] = [];
    const upstream = createServer((req, res) => {
      seen.push(req);
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(': open\n\n');
    });
    upstream.listen(0, '127.0.0.1');
    await once(upstream, 'listening');
    try {
      const url = `http://127.0.0.1:${(upstream.address() as { port: number }).port}/mcp?x=1`;
      const stop = new AbortController();
      const res = await task.fetch(url, { headers: { accept: 'text/event-stream' }, signal: stop.signal });
      const reader = res.body!.getReader();
      assert.match(new TextDecoder().decode((await reader.read()).value), /open/);
      const req = seen[0]!;
      assert.equal(req.headers.authorization, `Bearer ${task.credential}`);
      assert.equal(req.headers.accept, 'text/event-stream', 'the caller\'s headers are kept');
      const proof = decodeJwt(String(req.headers.dpop));
      assert.deepEqual([proof.htm, proof.htu], ['GET', url.replace(/\?.*$/, '')]);

      // What the fetch made along the way is garbage now; the abort must still reach the socket.
      setFlagsFromString('--expose-gc');
      const gc = runInNewContext('gc') as () => void;
      for (let i = 0; i < 3; i++) {
        gc();
        await new Promise((resolve) => setImmediate(resolve));
      }
      const closed = once(req.socket, 'close');
      stop.abort();
      await closed;
      await assert.rejects(reader.read(), { name: 'AbortError' });
    } finally {
      upstream.closeAllConnections();
      upstream.close();
      await task.complete('done');
    }
  });

  verifies('dpop:proof-checks', 'a proof is refused when replayed, made for another method or URL, dated outside the window, or not bound to the credential', async () => {
    // A test client holding the key, making proofs the SDK never would.
    const key = await keyPair();
    const proofFor = (accessToken: string | undefined, over: { method?: string; url?: string; nowMs?: number } = {}) =>
      createDpopProof({ ...key, method: over.method ?? 'POST', url: over.url ?? `${server.url}/v1/decide`, ...(accessToken ? { accessToken } : {}), ...(over.nowMs ? { nowMs: over.nowMs } : {}) });
    const attest = await fetch(`${server.url}/v1/attest/join-token`, { method: 'POST', headers: { 'content-type': 'application/json', dpop: await proofFor(undefined, { url: `${server.url}/v1/attest/join-token` }) }, body: JSON.stringify({ token: await joinToken(server, 'researcher') }) });
    const svid = ((await attest.json()) as { svid: string }).svid;
    assert.ok((decodeJwt(svid).cnf as { jkt?: string }).jkt, 'the SVID is bound');
    // A bound SVID declares only with a proof of its key.
    const mandate = { purpose: 'read', tools: ['files.read'], ttlSeconds: 600 };
    const bare = await http(server.url, '/v1/tasks', { token: svid, body: mandate });
    assert.deepEqual([bare.status, bare.body.error.code], [401, 'dpop.missing']);
    const declared = await http(server.url, '/v1/tasks', { token: svid, body: mandate, headers: { dpop: await proofFor(svid, { url: `${server.url}/v1/tasks` }) } });
    assert.equal(declared.status, 201, JSON.stringify(declared.body));
    const credential = declared.body.credential as string;

    const once = await proofFor(credential);
    assert.equal((await decideRaw(server, credential, once)).outcome, 'allow');
    assert.equal((await decideRaw(server, credential, once)).reason.code, 'dpop.replayed');
    assert.equal((await decideRaw(server, credential, await proofFor(credential, { method: 'PUT' }))).reason.code, 'dpop.method_mismatch');
    assert.equal((await decideRaw(server, credential, await proofFor(credential, { url: `${server.url}/v1/other` }))).reason.code, 'dpop.url_mismatch');
    assert.equal((await decideRaw(server, credential, await proofFor(credential, { nowMs: Date.now() - 10 * 60_000 }))).reason.code, 'dpop.stale');
    assert.equal((await decideRaw(server, credential, await proofFor(credential, { nowMs: Date.now() + 10 * 60_000 }))).reason.code, 'dpop.stale');
    assert.equal((await decideRaw(server, credential, await proofFor(svid))).reason.code, 'dpop.ath_mismatch', 'a proof for another token');
    // Each refusal is a recorded decision, with its code.
    const trail = await http(server.url, `/v1/audit?type=decision&reason=dpop.replayed`, { token: ADMIN_TOKEN });
    assert.equal(trail.body.events.length, 1);
  });

  verifies('dpop:delegation', 'a task delegated to an agent with a key is bound to that key; to an agent without one, to its SVID', async () => {
    const orchestrator = await AgentClient.connect({ url: server.url, joinToken: await joinToken(server, 'billing-bot'), dpop: true });
    const researcher = await AgentClient.connect({ url: server.url, joinToken: await joinToken(server, 'researcher'), dpop: true });
    const writer = await AgentClient.connect({ url: server.url, joinToken: await joinToken(server, 'writer') });
    const root = await orchestrator.declare({ purpose: 'the report', tools: ['files.read'], ttlSeconds: 600 });
    const handed = await root.delegate(spiffe('researcher'), { purpose: 'the figures', tools: ['files.read'] });
    const research = researcher.adopt(handed);
    assert.equal(research.holderProof, 'dpop');
    assert.equal((decodeJwt(handed.credential).cnf as { jkt?: string }).jkt, (await http(server.url, '/v1/agents', { token: ADMIN_TOKEN })).body.agents.find((a: { name: string }) => a.name === 'researcher').dpopJkt);
    assert.equal((await research.authorize('files.read', { path: '/srv/reports/q3.csv' })).outcome, 'allow');
    // The orchestrator handed it over, but holds the wrong key.
    assert.equal(orchestrator.adopt(handed).holderProof, 'dpop');
    assert.equal((await orchestrator.adopt(handed).authorize('files.read', { path: '/srv/reports/q3.csv' })).reason.code, 'dpop.key_mismatch');

    const toWriter = await research.delegate(spiffe('writer'), { purpose: 'one figure', tools: ['files.read'] });
    const write = writer.adopt(toWriter);
    assert.equal(write.holderProof, 'svid');
    assert.equal((await write.authorize('files.read', { path: '/srv/reports/q3.csv' })).outcome, 'allow');
    assert.equal((await researcher.adopt(toWriter).authorize('files.read', { path: '/srv/reports/q3.csv' })).reason.code, 'credential.holder_unproven');
  });
});
