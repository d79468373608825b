import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ConfigError, formatZodError } from '../../core/index.js';
import { ApisSchema, apiToolNames, apiToolSpecs, loadApiActions } from './http-upstream-config.js';
import { matchRoute } from './match-route.js';

const DOC = {
  openapi: '3.0.3',
  info: { title: 'billing', version: '1' },
  'x-internal': true,
  paths: {
    'x-note': 'extensions beside paths are ignored',
    '/invoices/{id}': {
      parameters: [{ $ref: '#/components/parameters/InvoiceId' }],
      get: { operationId: 'getInvoice', summary: 'one invoice', parameters: [{ name: 'expand', in: 'query', schema: { type: 'boolean' } }] },
      delete: { operationId: 'deleteInvoice' },
    },
    '/invoices': { get: { operationId: 'listInvoices', parameters: [{ name: 'limit', in: 'query', schema: { type: ['integer', 'null'] } }] } },
    '/export': { get: { operationId: 'exportAll' } },
    '/health': { get: { summary: 'no operationId: never exposed' } },
  },
  components: { parameters: { InvoiceId: { name: 'id', in: 'path', required: true, schema: { type: 'integer' } } } },
};

describe('HTTP gateway: apis configuration', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'mandate-apis-'));
    writeFileSync(join(dir, 'billing.json'), JSON.stringify(DOC));
    writeFileSync(join(dir, 'billing.yaml'), `openapi: 3.1.0\npaths:\n  /invoices:\n    get:\n      operationId: listInvoices\n`);
    writeFileSync(join(dir, 'broken.yaml'), 'openapi: [3.1\n  paths: {');
    writeFileSync(join(dir, 'swagger.json'), JSON.stringify({ swagger: '2.0', paths: {} }));
    writeFileSync(join(dir, 'bad-param.json'), JSON.stringify({ openapi: '3.0.0', paths: { '/a': { get: { operationId: 'a', parameters: [{ name: 'x' }] } } } }));
    writeFileSync(join(dir, 'dup.json'), JSON.stringify({ openapi: '3.0.0', paths: { '/a': { get: { operationId: 'a' } }, '/b': { get: { operationId: 'a' } } } }));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const parse = (apis: unknown) => ApisSchema.parse(apis);
  const openapi = (file: string, operations: Record<string, unknown>) => parse({ billing: { baseUrl: 'http://127.0.0.1:1', openapi: { file, operations } } });

  it('maps listed OpenAPI operations to actions with their declared parameter types; unlisted ones are not exposed', () => {
    const apis = openapi('billing.json', { getInvoice: { kind: 'read' }, listInvoices: { kind: 'read', labels: ['confidential'] } });
    const specs = apiToolSpecs(apis, dir);
    assert.deepEqual(specs.map((s) => s.name).sort(), ['billing.getInvoice', 'billing.listInvoices']);
    assert.deepEqual(apiToolNames(apis).sort(), ['billing.getInvoice', 'billing.listInvoices']);
    assert.equal(specs.find((s) => s.name === 'billing.getInvoice')?.description, 'one invoice');
    const mapped = apiToolSpecs(openapi('billing.json', { deleteInvoice: { kind: 'delete', effects: ['send'], tags: ['billing'] } }), dir)[0];
    assert.deepEqual([mapped?.effects, mapped?.tags], [['send'], ['billing']]);
    const actions = loadApiActions(apis, dir).get('billing')!;
    const get = actions.find((a) => a.spec.name === 'billing.getInvoice')!;
    assert.deepEqual([get.pathTypes, get.queryTypes], [{ id: 'integer' }, { expand: 'boolean' }]);
    assert.deepEqual(actions.find((a) => a.spec.name === 'billing.listInvoices')!.queryTypes, { limit: 'integer' });
    assert.equal(matchRoute(actions, 'GET', ['export']), undefined, 'exportAll is in the document but not mapped');
    assert.equal(matchRoute(actions, 'DELETE', ['invoices', '1']), undefined);
    assert.equal(loadApiActions(openapi('billing.yaml', { listInvoices: { kind: 'read' } }), dir).get('billing')?.length, 1, 'YAML documents too');
  });

  it('a bad OpenAPI document fails start-up with a ConfigError naming the file and the problem', () => {
    const fails = (file: string, operations: Record<string, unknown>, pattern: RegExp) =>
      assert.throws(() => loadApiActions(openapi(file, operations), dir), (e: unknown) => e instanceof ConfigError && pattern.test(e.message) && e.message.includes('apis.billing.openapi.file'));
    fails('missing.json', { a: { kind: 'read' } }, /cannot read `.*missing\.json`/);
    fails('broken.yaml', { a: { kind: 'read' } }, /broken\.yaml` is not valid YAML/);
    fails('swagger.json', { a: { kind: 'read' } }, /swagger\.json` is not a usable OpenAPI document: openapi: /);
    fails('bad-param.json', { a: { kind: 'read' } }, /bad-param\.json` is not a usable OpenAPI document: paths\.\/a\.get\.parameters\.0/);
    fails('dup.json', { a: { kind: 'read' } }, /operationId `a` is used twice/);
    fails('billing.json', { getInvoice: { kind: 'read' }, getInvoce: { kind: 'read' } }, /has no operation `getInvoce`/);
  });

  it('routes: explicit method, path and tool; errors name the key', () => {
    const apis = parse({ reports: { baseUrl: 'https://reports.example/api/', routes: [{ method: 'get', path: '/summary/{year}', tool: 'summary', kind: 'read' }] } });
    assert.deepEqual(apiToolSpecs(apis), [{ name: 'reports.summary', kind: 'read', risk: 'low', labels: [], description: '' }]);
    assert.equal(apis.reports?.routes?.[0]?.method, 'GET');
    const withEffects = parse({ cal: { baseUrl: 'https://cal.example/', routes: [{ method: 'POST', path: '/events', tool: 'create_event', kind: 'write', effects: ['send'], tags: ['calendar'] }] } });
    assert.deepEqual(apiToolSpecs(withEffects), [{ name: 'cal.create_event', kind: 'write', effects: ['send'], risk: 'low', labels: [], tags: ['calendar'], description: '' }]);
    assert.equal(apis.reports?.timeoutMs, 30_000);
    const errors = (apis: unknown) => {
      const r = ApisSchema.safeParse(apis);
      return r.success ? '' : formatZodError(r.error);
    };
    const route = { method: 'GET', path: '/a', tool: 'a', kind: 'read' };
    assert.match(errors({ r: { baseUrl: 'http://x', routes: [route], openapi: { file: 'x', operations: {} } } }), /r: give exactly one of `routes` or `openapi`/);
    assert.match(errors({ r: { baseUrl: 'http://x' } }), /r: give exactly one/);
    assert.match(errors({ r: { baseUrl: 'ftp://x', routes: [route] } }), /r\.baseUrl: expected an http/);
    assert.match(errors({ r: { baseUrl: 'http://user:pw@x', routes: [route] } }), /r\.baseUrl: credentials do not belong in the URL/);
    assert.match(errors({ r: { baseUrl: 'http://x', routes: [{ ...route, path: '/a/../b' }] } }), /r\.routes\.0\.path: `\.\.` is not a plain segment/);
    assert.match(errors({ r: { baseUrl: 'http://x', routes: [route, { ...route, path: '/b' }] } }), /r\.routes\.1\.tool: tool `a` is mapped twice/);
    assert.match(errors({ r: { baseUrl: 'http://x', routes: [route, { ...route, tool: 'b', path: '/{x}' }, { ...route, tool: 'c', path: '/{y}' }] } }), /r\.routes\.2\.path: `GET \/\{y\}` is mapped twice/);
    assert.match(errors({ r: { baseUrl: 'http://x', routes: [{ ...route, tool: 'a b' }] } }), /r\.routes\.0\.tool/);
    assert.match(errors({ r: { baseUrl: 'http://x', routes: [{ ...route, extra: 1 }] } }), /unknown field `extra`/);
    assert.match(errors({ r: { baseUrl: 'http://x', headers: { Host: 'evil' }, routes: [route] } }), /r\.headers\.Host: this header is managed by the gateway/);
    assert.match(errors({ r: { baseUrl: 'http://x', headers: { 'x-a': 'one\r\ntwo' }, routes: [route] } }), /header values are one line/);
    assert.match(errors({ Bad: { baseUrl: 'http://x', routes: [route] } }), /Bad: upstream names are lowercase/);
    assert.match(errors({ r: { baseUrl: 'http://x', openapi: { file: 'x', operations: { 'get invoice': { kind: 'read' } } } } }), /r\.openapi\.operations\.get invoice: an operationId used as an action/);
  });
});
