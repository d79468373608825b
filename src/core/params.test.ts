import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ToolSpecSchema } from './tools.js';

describe('tool parameters', () => {
  const spec = (params: unknown) => ToolSpecSchema.safeParse({ name: 'mail.send', kind: 'send', params });
  const issues = (params: unknown) => JSON.stringify(spec(params).error?.issues ?? []);

  it('a catalog entry may state its parameters', () => {
    const r = spec({ to: { type: 'array', items: { type: 'string' } }, payment: { type: 'object', properties: { iban: { type: 'string' } }, required: ['iban'] }, note: {} });
    assert.equal(r.success, true);
    assert.equal(r.data?.params?.to?.items?.type, 'string');
    assert.equal(ToolSpecSchema.parse({ name: 'mail.send', kind: 'send' }).params, undefined, 'unknown unless stated');
  });

  it('refuses what it cannot read, naming the key', () => {
    assert.match(issues({ to: { type: 'list' } }), /"to","type"/);
    assert.match(issues({ to: { type: 'string', items: { type: 'string' } } }), /`items` needs `type: array`/);
    assert.match(issues({ p: { type: 'array', properties: {} } }), /`properties` needs `type: object`/);
    assert.match(issues({ p: { type: 'object', additionalProperties: false } }), /additionalProperties/);
    let deep: Record<string, unknown> = { type: 'string' };
    for (let i = 0; i < 6; i++) deep = { type: 'array', items: deep };
    assert.match(issues({ p: deep }), /nest at most 6 levels/);
  });
});
