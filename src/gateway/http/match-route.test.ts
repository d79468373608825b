import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CodedError } from '../../core/index.js';
import { callArguments, coerce, compileRoutePattern, matchRoute, parseProxyPath, serializeQuery, splitProxyUrl, type ApiAction, type HttpMethod, type ParamType } from './match-route.js';

function action(method: HttpMethod, path: string, tool: string, pathTypes: Record<string, ParamType> = {}): ApiAction {
  const compiled = compileRoutePattern(path);
  if (typeof compiled === 'string') throw new TypeError(compiled);
  return { upstream: 'billing', method, path, segments: compiled.segments, pathTypes, queryTypes: {}, spec: { name: `billing.${tool}`, kind: 'read', risk: 'low', labels: [], description: '' } };
}

/** Most specific first, as loadApiActions sorts them. */
const ACTIONS = [
  action('GET', '/invoices/search', 'searchInvoices'),
  action('GET', '/files/{name}.json', 'getJsonFile'),
  action('GET', '/invoices/{id}', 'getInvoice', { id: 'integer' }),
  action('DELETE', '/invoices/{id}', 'deleteInvoice'),
  action('GET', '/invoices', 'listInvoices'),
  action('GET', '/', 'root'),
  action('GET', '/files/{name}', 'getFile'),
];

const refused = (fn: () => unknown, code = 'request.invalid') => assert.throws(fn, (e: unknown) => e instanceof CodedError && e.code === code);

describe('HTTP gateway: route matching', () => {
  it('matches method and path to the action, with its path parameters', () => {
    const m = matchRoute(ACTIONS, 'GET', parseProxyPath('/invoices/42').segments);
    assert.equal(m?.action.spec.name, 'billing.getInvoice');
    assert.deepEqual(m?.pathParams, { id: '42' });
    assert.equal(matchRoute(ACTIONS, 'DELETE', ['invoices', '42'])?.action.spec.name, 'billing.deleteInvoice');
    assert.equal(matchRoute(ACTIONS, 'GET', [])?.action.spec.name, 'billing.root');
    assert.equal(matchRoute(ACTIONS, 'GET', ['invoices'])?.action.spec.name, 'billing.listInvoices');
  });

  it('a literal segment wins over a parameter; a mixed segment over a bare parameter', () => {
    assert.equal(matchRoute(ACTIONS, 'GET', ['invoices', 'search'])?.action.spec.name, 'billing.searchInvoices');
    const json = matchRoute(ACTIONS, 'GET', ['files', 'report.json']);
    assert.deepEqual([json?.action.spec.name, json?.pathParams], ['billing.getJsonFile', { name: 'report' }]);
    assert.equal(matchRoute(ACTIONS, 'GET', ['files', 'report.csv'])?.action.spec.name, 'billing.getFile');
  });

  it('unmapped: another method, more or fewer segments, a trailing slash, an empty parameter', () => {
    assert.equal(matchRoute(ACTIONS, 'POST', ['invoices']), undefined);
    assert.equal(matchRoute(ACTIONS, 'PUT', ['invoices', '1']), undefined);
    assert.equal(matchRoute(ACTIONS, 'GET', ['invoices', '1', 'lines']), undefined);
    assert.equal(matchRoute(ACTIONS, 'GET', parseProxyPath('/invoices/').segments), undefined);
    assert.equal(matchRoute(ACTIONS, 'DELETE', parseProxyPath('/invoices//').segments), undefined);
    assert.equal(matchRoute(ACTIONS, 'get', ['invoices']), undefined, 'methods are compared as sent, uppercased by the caller');
  });

  it('decodes segments for matching and re-encodes them for forwarding', () => {
    const p = parseProxyPath('/files/annual%20report:2025@v1+final?x=1');
    assert.deepEqual(p.segments, ['files', 'annual report:2025@v1+final']);
    assert.equal(p.forwardPath, '/files/annual%20report:2025@v1+final');
    assert.equal(parseProxyPath('').forwardPath, '/');
    assert.equal(parseProxyPath('?a=1').forwardPath, '/');
    assert.equal(parseProxyPath('/caf%C3%A9').forwardPath, '/caf%C3%A9');
  });

  it('refuses path traversal in every spelling', () => {
    for (const path of [
      '/invoices/../admin',
      '/invoices/./1',
      '/invoices/%2e%2e/admin',
      '/invoices/%2E%2E/admin',
      '/invoices/.%2e/admin',
      '/files/a%2Fb',
      '/files/a%2fb',
      '/files/a%5Cb',
      '/files/a\\b',
      '/files/..;/admin',
      '/files/%252e%252e/admin',
      '/files/%252F',
      '/files/a%00b',
      '/files/a%0Ab',
      '/files/%E0%A4%A',
      'files/no-leading-slash',
      '/files/a#frag',
    ]) {
      refused(() => parseProxyPath(path));
    }
  });

  it('arguments: body fields, query and path parameters; the same name twice must carry the same value', () => {
    const a = ACTIONS[2]!; // getInvoice, id: integer
    const args = callArguments(a, { id: '7' }, new URLSearchParams('limit=5&tag=a&tag=b'), { id: 7, note: 'hi' });
    assert.deepEqual(args, { id: 7, note: 'hi', limit: '5', tag: ['a', 'b'] });
    // The decision sees one value per name and an upstream might read another copy: two different copies are refused.
    assert.throws(() => callArguments(a, { id: '7' }, new URLSearchParams(), { id: 9 }), /argument `id` is given in the body and the path with different values/);
    assert.throws(() => callArguments(a, {}, new URLSearchParams('limit=5'), { limit: 1 }), /`limit` is given in the body and the query/);
    // A field called __proto__ stays an own field and changes no prototype.
    const proto = callArguments(a, {}, new URLSearchParams(), JSON.parse('{"__proto__": {"admin": true}}') as Record<string, unknown>);
    assert.equal(Object.hasOwn(proto, '__proto__'), true);
    assert.equal((proto as { admin?: unknown }).admin, undefined);
  });

  it('converts only canonical spellings of declared types', () => {
    assert.deepEqual(
      ['42', '-3', '0', '042', '4.2e1', '1.0', ' 1', '99999999999999999999'].map((v) => coerce(v, 'integer')),
      [42, -3, 0, '042', '4.2e1', '1.0', ' 1', '99999999999999999999'],
    );
    assert.deepEqual(['1.5', '2', '1e3', '.5'].map((v) => coerce(v, 'number')), [1.5, 2, '1e3', '.5']);
    assert.deepEqual(['true', 'false', 'TRUE', '1'].map((v) => coerce(v, 'boolean')), [true, false, 'TRUE', '1']);
    assert.equal(coerce('42', undefined), '42');
  });

  it('the forwarded query is re-serialized from what was decided', () => {
    assert.equal(serializeQuery(parseProxyPath('/x?q=a+b&q=c%2Bd&e=%26').query), 'q=a%20b&q=c%2Bd&e=%26');
  });

  it('path templates: what compiles and what does not', () => {
    assert.equal(compileRoutePattern('/a/{x}').constructor, Object);
    assert.equal((compileRoutePattern('/a/{x}') as { shape: string }).shape, (compileRoutePattern('/a/{y}') as { shape: string }).shape);
    for (const bad of ['a', '/a/', '/a//b', '/a/{x}/{x}', '/a/{x}{y}', '/a/{x', '/a/{bad name}', '/a/../b', '/a?b', '/a/%zz']) {
      assert.equal(typeof compileRoutePattern(bad), 'string', bad);
    }
  });

  it('splits the raw proxy URL without decoding the upstream name', () => {
    assert.deepEqual(splitProxyUrl('/proxy/billing/invoices/1?x=1'), { upstream: 'billing', rest: '/invoices/1?x=1' });
    assert.deepEqual(splitProxyUrl('/proxy/billing'), { upstream: 'billing', rest: '' });
    assert.deepEqual(splitProxyUrl('/proxy/billing?x'), { upstream: 'billing', rest: '?x' });
    assert.deepEqual(splitProxyUrl('/proxy/bil%6cing/x'), { upstream: 'bil%6cing', rest: '/x' });
  });
});
