import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { z } from 'zod';
import { constraintMismatch } from '../mandate/index.js';
import { MAX_PARAM_DEPTH, ToolParamsSchema, type ToolParams } from './params.js';
import { MAX_SCHEMA_NODES, paramsFromInputSchema } from './params-from-schema.js';

/** Converts, and checks that what comes out is something the catalog could state itself. */
function convert(schema: unknown): ToolParams | undefined {
  const params = paramsFromInputSchema(schema);
  if (params !== undefined) {
    const parsed = ToolParamsSchema.safeParse(params);
    assert.ok(parsed.success, `not valid catalog params: ${JSON.stringify(parsed.error?.issues)}`);
  }
  return params;
}

/** The input schemas an MCP server built with the SDK lists, as a client receives them. */
async function listedBySdk(register: (server: McpServer) => void): Promise<Map<string, unknown>> {
  const server = new McpServer({ name: 'schemas', version: '1.0.0' });
  register(server);
  const [serverSide, clientSide] = InMemoryTransport.createLinkedPair();
  await server.connect(serverSide);
  const client = new Client({ name: 'probe', version: '1.0.0' });
  await client.connect(clientSide);
  try {
    return new Map((await client.listTools()).tools.map((t) => [t.name, t.inputSchema]));
  } finally {
    await client.close();
    await server.close();
  }
}

const done = async () => ({ content: [] });

describe('parameters from an MCP inputSchema', () => {
  it('reads what the MCP SDK lists for zod-described tools', async () => {
    const listed = await listedBySdk((s) => {
      s.registerTool('send_email', { inputSchema: { to: z.union([z.string(), z.array(z.string())]), body: z.string().optional() } }, done);
      s.registerTool('pay', { inputSchema: { iban: z.string(), amount: z.number() } }, done);
      s.registerTool('ping', {}, done);
      s.registerTool(
        'book',
        {
          inputSchema: {
            nights: z.number().int(),
            confirmed: z.boolean(),
            room: z.enum(['single', 'double']),
            note: z.string().nullable(),
            guest: z.object({ name: z.string(), emails: z.array(z.string()) }),
            tags: z.record(z.string(), z.number()),
            version: z.literal(2),
            currency: z.string().default('EUR'),
            meta: z.object({ source: z.string() }).passthrough(),
            card: z.object({ last4: z.string() }).strict(),
            legs: z.array(z.object({ from: z.string(), to: z.string() })).optional(),
            range: z.tuple([z.string(), z.string()]),
            extra: z.any(),
            payer: z.object({ iban: z.string() }).nullable(),
          },
        },
        done,
      );
    });
    assert.deepEqual(convert(listed.get('send_email')), { to: {}, body: { type: 'string' } });
    assert.deepEqual(convert(listed.get('pay')), { iban: { type: 'string' }, amount: { type: 'number' } });
    assert.deepEqual(convert(listed.get('ping')), {}, 'a tool without input takes no argument');
    assert.deepEqual(convert(listed.get('book')), {
      nights: { type: 'integer' },
      confirmed: { type: 'boolean' },
      room: { type: 'string' },
      note: { type: 'string' },
      guest: { type: 'object', properties: { name: { type: 'string' }, emails: { type: 'array', items: { type: 'string' } } }, required: ['name', 'emails'] },
      tags: { type: 'object' },
      version: { type: 'number' },
      currency: { type: 'string' },
      meta: { type: 'object' },
      card: { type: 'object', properties: { last4: { type: 'string' } }, required: ['last4'] },
      legs: { type: 'array', items: { type: 'object', properties: { from: { type: 'string' }, to: { type: 'string' } }, required: ['from', 'to'] } },
      range: { type: 'array' },
      extra: {},
      payer: { type: 'object', properties: { iban: { type: 'string' } }, required: ['iban'] },
    });
  });

  it('is what the grant checks against: an argument the tool lacks, or of the wrong type, is named', () => {
    const pay = convert({ type: 'object', properties: { iban: { type: 'string' }, amount: { type: 'number' } }, required: ['iban', 'amount'], $schema: 'http://json-schema.org/draft-07/schema#' })!;
    assert.equal(constraintMismatch(pay, 'recipient', { equals: 'x', optional: false }), 'the tool has no argument `recipient`');
    assert.equal(constraintMismatch(pay, 'amount', { prefix: '1', optional: false }), '`prefix` cannot apply to a number');
    assert.equal(constraintMismatch(pay, 'iban', { prefix: 'DE', optional: false }), null);
    assert.equal(constraintMismatch(pay, 'amount', { max: 100, optional: false }), null);
  });

  it('maps types: unions with null keep the other type, several types make any', () => {
    const p = (spec: unknown) => convert({ type: 'object', properties: { x: spec } })?.x;
    assert.deepEqual(p({ type: 'string', format: 'email', minLength: 3 }), { type: 'string' }, 'other keywords are ignored');
    assert.deepEqual(p({ type: ['string', 'null'] }), { type: 'string' });
    assert.deepEqual(p({ type: ['integer', 'number'] }), { type: 'number' });
    assert.deepEqual(p({ type: ['string', 'number'] }), {});
    assert.deepEqual(p({ type: 'null' }), {});
    assert.deepEqual(p({ type: 'date' }), {}, 'a type the catalog does not know');
    assert.deepEqual(p({ type: [] }), {});
    assert.deepEqual(p({ anyOf: [{ type: 'string' }, { type: 'null' }] }), { type: 'string' });
    assert.deepEqual(p({ oneOf: [{ type: 'array', items: { type: 'integer' } }, { const: null }] }), { type: 'array', items: { type: 'integer' } });
    assert.deepEqual(p({ anyOf: [{ type: 'string', format: 'email' }, { type: 'string', format: 'uri' }] }), { type: 'string' });
    assert.deepEqual(p({ anyOf: [{ type: 'string' }, { type: 'number' }] }), {});
    assert.deepEqual(p({ anyOf: [{ type: 'object', properties: { a: {} } }, { type: 'object', properties: { b: {} } }] }), { type: 'object' }, 'fields of several shapes are open');
    assert.deepEqual(p({ allOf: [{ type: 'string' }] }), {});
    assert.deepEqual(p({ $ref: '#/$defs/Money', type: 'string' }), {}, 'a reference is not followed');
    assert.deepEqual(p({ type: 'array', items: { $ref: '#/$defs/Item' } }), { type: 'array' });
    assert.deepEqual(p({ type: 'array', prefixItems: [{ type: 'string' }], items: { type: 'number' } }), { type: 'array' });
    assert.deepEqual(p({ type: 'string', items: { type: 'string' }, properties: { a: {} } }), { type: 'string' }, 'keywords of another type are dropped');
    assert.deepEqual(p(true), {});
    assert.deepEqual(p('string'), {});
  });

  it('leaves the names open when the schema does not close them', () => {
    const open = [
      { type: 'object' },
      { type: 'object', properties: { a: { type: 'string' } }, additionalProperties: true },
      { type: 'object', properties: { a: { type: 'string' } }, additionalProperties: {} },
      { type: 'object', properties: { a: { type: 'string' } }, additionalProperties: { type: 'string' } },
      { type: 'object', properties: { a: { type: 'string' } }, unevaluatedProperties: true },
      { type: 'object', properties: { a: { type: 'string' } }, patternProperties: { '^x-': { type: 'string' } } },
      { type: 'object', properties: { a: { type: 'string' } }, anyOf: [{ properties: { b: {} } }] },
      { type: 'object', properties: { a: { type: 'string' } }, allOf: [{ properties: { b: {} } }] },
      { type: 'object', properties: { a: { type: 'string' } }, if: { properties: { a: { const: 'x' } } }, then: { properties: { b: {} } } },
      { $ref: '#/$defs/Args', $defs: { Args: { type: 'object', properties: {} } } },
      { type: 'object', properties: [] },
      { type: 'string' },
      { type: ['object', 'null'], properties: {} },
    ];
    for (const schema of open) assert.equal(convert(schema), undefined, JSON.stringify(schema));
    for (const input of [undefined, null, 'object', 42, [], [{ type: 'object', properties: {} }]]) assert.equal(convert(input), undefined);
    // Closed explicitly, or by leaving `additionalProperties` out (the SDK drops undeclared arguments).
    assert.deepEqual(convert({ type: 'object', properties: { a: { type: 'string' } }, additionalProperties: false }), { a: { type: 'string' } });
    assert.deepEqual(convert({ properties: { a: {} } }), { a: {} });
    // Below the top, open names are an object without fields.
    assert.deepEqual(convert({ type: 'object', properties: { o: { type: 'object', properties: { a: {} }, additionalProperties: true } } }), { o: { type: 'object' } });
    assert.equal(constraintMismatch({ o: { type: 'object' } }, 'o.anything', { equals: 1, optional: false }), null);
  });

  it('keeps `required` to listed names, and names a mandate can state', () => {
    const long = 'x'.repeat(129);
    const params = convert({ type: 'object', properties: { a: {}, b: {}, '': {}, [long]: {} }, required: ['a', 'a', 'ghost', 7, long] });
    assert.deepEqual(Object.keys(params!), ['a', 'b']);
    assert.deepEqual(convert({ type: 'object', properties: { o: { type: 'object', properties: { a: {} }, required: ['a', 'a', 'ghost'] } } })?.o?.required, ['a']);
  });

  it('nests to MAX_PARAM_DEPTH and no further', () => {
    let deep: Record<string, unknown> = { type: 'string' };
    for (let i = 0; i < 1000; i++) deep = i % 2 ? { type: 'array', items: deep } : { type: 'object', properties: { f: deep } };
    const params = convert({ type: 'object', properties: { d: deep } })!;
    let levels = 0;
    for (let spec = params.d; spec; spec = spec.items ?? spec.properties?.f) levels++;
    assert.equal(levels, MAX_PARAM_DEPTH);
    // Cut short, the deepest object has open fields: a constraint there is never refused for want of a name.
    let objects: Record<string, unknown> = { type: 'string' };
    for (let i = 0; i < 1000; i++) objects = { type: 'object', properties: { f: objects } };
    const nested = convert({ type: 'object', properties: { d: objects } })!;
    assert.equal(constraintMismatch(nested, 'd.f.f.f.f.f.anything.at.all', { equals: 'x', optional: false }), null);
    assert.equal(constraintMismatch(nested, 'd.f.f.g', { equals: 'x', optional: false }), 'the tool has no argument `d.f.f.g`');
  });

  it('never throws on hostile input, and a schema too large to read states nothing', () => {
    const huge: Record<string, unknown> = {};
    for (let i = 0; i <= MAX_SCHEMA_NODES; i++) huge[`p${i}`] = { type: 'string' };
    assert.equal(convert({ type: 'object', properties: huge }), undefined);
    const fits: Record<string, unknown> = {};
    for (let i = 0; i < MAX_SCHEMA_NODES; i++) fits[`p${i}`] = { type: 'string' };
    assert.equal(Object.keys(convert({ type: 'object', properties: fits })!).length, MAX_SCHEMA_NODES);

    // A cycle (only a hand-built object can have one) is cut by the depth bound.
    const cyclic: Record<string, unknown> = { type: 'object', properties: {} };
    (cyclic.properties as Record<string, unknown>).self = cyclic;
    (cyclic.properties as Record<string, unknown>).list = { type: 'array', items: cyclic };
    assert.equal(convert(cyclic)?.self?.type, 'object');
    // Unions nested without end, in one chain and fanned out.
    let chain: Record<string, unknown> = { type: 'string' };
    for (let i = 0; i < 100_000; i++) chain = { anyOf: [chain, { type: 'null' }] };
    assert.doesNotThrow(() => paramsFromInputSchema({ type: 'object', properties: { c: chain } }));
    assert.deepEqual(convert({ type: 'object', properties: { u: { anyOf: Array.from({ length: 10_000 }, () => ({ type: 'string' })) } } }), { u: {} });
    assert.deepEqual(convert({ type: 'object', properties: { t: { type: Array.from({ length: 10_000 }, () => 'string').concat('number') } } }), { t: {} });

    // A getter that throws, and a prototype that lies.
    const trap = { type: 'object', properties: { get a(): unknown { throw new Error('trap'); } } };
    assert.equal(paramsFromInputSchema(trap), undefined);
    const inherited = Object.create({ properties: { a: { type: 'string' } } }) as object;
    assert.equal(paramsFromInputSchema(inherited), undefined, 'keywords are read from the schema itself only');

    // Names that are prototype properties stay plain fields of the result.
    const proto = convert(JSON.parse('{"type":"object","properties":{"__proto__":{"type":"string"},"constructor":{"type":"number"},"toString":{}}}'))!;
    assert.deepEqual(Object.keys(proto).sort(), ['__proto__', 'constructor', 'toString']);
    assert.equal(Object.getPrototypeOf(proto), Object.prototype);
    assert.equal(({} as Record<string, unknown>).type, undefined, 'nothing polluted');
    assert.equal(constraintMismatch(proto, 'constructor', { prefix: 'x', optional: false }), '`prefix` cannot apply to a number');
    assert.equal(constraintMismatch(convert({ type: 'object', properties: { a: {} } })!, 'constructor', { equals: 'x', optional: false }), 'the tool has no argument `constructor`');
  });
});
