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

  it('a tool’s further effects and policy-only tags join the catalog; an effect that is not a kind is refused', () => {
    const upstreams = UpstreamsSchema.parse({
      cal: { transport: 'stdio', command: 'cal-server', tools: { create_event: { kind: 'write', effects: ['send'], tags: ['calendar'] }, list: { kind: 'read' } }, resources: { kind: 'read', tags: ['docs'] } },
    });
    const specs = upstreamToolSpecs(upstreams);
    const event = specs.find((t) => t.name === 'cal.create_event');
    assert.deepEqual([event?.effects, event?.tags, event?.labels], [['send'], ['calendar'], []]);
    assert.deepEqual([specs.find((t) => t.name === 'cal.list')?.effects, specs.find((t) => t.name === 'cal.list')?.tags], [undefined, undefined]);
    assert.deepEqual(specs.find((t) => t.name === 'cal.resources')?.tags, ['docs']);
    const r = UpstreamsSchema.safeParse({ cal: { transport: 'stdio', command: 'c', tools: { fetch: { kind: 'read', effects: ['egress'] } } } });
    assert.equal(r.success, false);
    assert.deepEqual(r.error?.issues[0]?.path, ['cal', 'tools', 'fetch', 'effects', 0]);
  });

  it('refuses parameters it cannot read, naming the key', () => {
    const r = UpstreamsSchema.safeParse({ cal: { transport: 'stdio', command: 'c', tools: { invite: { kind: 'send', params: { attendees: { type: 'list' } } } } } });
    assert.equal(r.success, false);
    assert.deepEqual(r.error?.issues[0]?.path, ['cal', 'tools', 'invite', 'params', 'attendees', 'type']);
  });
});
