import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApisSchema } from '../http/index.js';
import { UpstreamPool, UpstreamsSchema } from '../mcp/index.js';
import { manualClock } from '../../core/index.js';

const routes = [{ method: 'GET', path: '/x', tool: 'x', kind: 'read' }];
const noSecrets = { resolveAll: async () => ({ values: {}, secrets: [] }) };

describe('transaction tokens: configuration', () => {
  it('are off unless an upstream asks; `{}` takes the draft header and 60 s', () => {
    const apis = ApisSchema.parse({ plain: { baseUrl: 'https://plain.internal', routes }, billing: { baseUrl: 'https://billing.internal/v1', routes, transactionToken: {} } });
    assert.equal(apis.plain!.transactionToken, undefined);
    assert.deepEqual(apis.billing!.transactionToken, { header: 'Txn-Token', ttlSeconds: 60 });
  });

  it('name the upstream in `aud`: its URL, its name over stdio, or the configured audience', () => {
    const upstreams = UpstreamsSchema.parse({
      ledger: { transport: 'http', url: 'https://ledger.internal/mcp', transactionToken: {}, tools: {} },
      journal: { transport: 'stdio', command: 'journal', transactionToken: { ttlSeconds: 30 }, tools: {} },
      named: { transport: 'http', url: 'http://10.0.0.7/mcp', transactionToken: { audience: 'urn:acme:named' }, tools: {} },
      plain: { transport: 'http', url: 'http://plain/mcp', tools: {} },
    });
    const pool = new UpstreamPool(upstreams, { clock: manualClock(), secrets: noSecrets });
    assert.deepEqual(pool.txnTokenTarget('ledger'), { gateway: 'mcp', upstream: 'ledger', audience: 'https://ledger.internal/mcp', ttlSeconds: 60 });
    assert.deepEqual(pool.txnTokenTarget('journal'), { gateway: 'mcp', upstream: 'journal', audience: 'journal', ttlSeconds: 30 });
    assert.equal(pool.txnTokenTarget('named')?.audience, 'urn:acme:named');
    assert.equal(pool.txnTokenTarget('plain'), undefined);
    assert.equal(pool.txnTokenTarget('nope'), undefined);
  });

  it('refuse a header the gateway or the transport sets, one the upstream already sends, and long lifetimes', () => {
    const path = (r: { success: boolean; error?: { issues: { path: PropertyKey[] }[] } }) => (r.success ? 'accepted' : r.error!.issues[0]!.path.join('.'));
    for (const header of ['Authorization', 'host', 'Content-Type', 'Mcp-Session-Id', 'mcp-param-to', 'traceparent', 'not a header']) {
      assert.equal(path(ApisSchema.safeParse({ a: { baseUrl: 'https://a', routes, transactionToken: { header } } })), 'a.transactionToken.header', header);
    }
    assert.equal(path(ApisSchema.safeParse({ a: { baseUrl: 'https://a', routes, headers: { 'txn-token': 'x' }, transactionToken: {} } })), 'a.headers.txn-token');
    assert.equal(path(UpstreamsSchema.safeParse({ m: { transport: 'http', url: 'https://m', headers: { 'X-Txn': 'x' }, transactionToken: { header: 'x-txn' }, tools: {} } })), 'm.headers.X-Txn');
    assert.equal(path(ApisSchema.safeParse({ a: { baseUrl: 'https://a', routes, transactionToken: { ttlSeconds: 3600 } } })), 'a.transactionToken.ttlSeconds');
    assert.equal(path(ApisSchema.safeParse({ a: { baseUrl: 'https://a', routes, headers: { 'x-api-key': 'k' }, transactionToken: { header: 'X-Txn-Token' } } })), 'accepted');
  });
});
