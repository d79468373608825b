import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UpstreamsSchema, upstreamToolSpecs } from './upstream-config.js';

describe('upstream tool specs', () => {
  it('a tool’s parameters given in the configuration join the catalog', () => {
    const upstreams = UpstreamsSchema.parse({
      cal: { transport: 'stdio', command: 'cal-server', tools: { invite: { kind: 'send', params: { attendees: { type: 'array', items: { type: 'string' } } } }, list: { kind: 'read' } } },
    });
    const specs = upstreamToolSpecs(upstreams);
    assert.deepEqual(specs.find((t) => t.name === 'cal.invite')?.params, { attendees: { type: 'array', items: { type: 'string' } } });
    assert.equal(specs.find((t) => t.name === 'cal.list')?.params, undefined);
  });

  it('refuses parameters it cannot read, naming the key', () => {
    const r = UpstreamsSchema.safeParse({ cal: { transport: 'stdio', command: 'c', tools: { invite: { kind: 'send', params: { attendees: { type: 'list' } } } } } });
    assert.equal(r.success, false);
    assert.deepEqual(r.error?.issues[0]?.path, ['cal', 'tools', 'invite', 'params', 'attendees', 'type']);
  });
});
