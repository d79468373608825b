import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import SQLite from 'better-sqlite3';
import YAML from 'yaml';
import { loadConfig, startServer, type RunningServer } from '../../src/server/index.js';
import { ADMIN_TOKEN, EXAMPLE_CONFIG, ROOT, grantTask, http, memoryLogger } from '../helpers.js';
import { verifies } from './verifies.js';

const FIXTURE = join(ROOT, 'dist/test/fixtures/fixture-mcp-server.js');
const text = (r: unknown) => (r as { content: { text?: string }[] }).content.map((c) => c.text ?? '').join('');

describe('secret brokering and obligations through the MCP gateway', () => {
  let server: RunningServer;
  let dir: string;
  // Every line the server logs, as written: the secret must be in none of them.
  const { logger, lines: logs } = memoryLogger('info');
  const SECRET = `sk_live_${randomBytes(16).toString('hex')}`;
  const CANARY = 'MANDATE_TEST_GATEWAY_ONLY_VARIABLE';
  let client: Client;
  const seen: string[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mandate-secrets-'));
    process.env[CANARY] = 'the gateway environment must not reach upstreams';
    const config = YAML.parse(readFileSync(EXAMPLE_CONFIG, 'utf8'));
    // The example policies plus one permit that carries a redact obligation.
    cpSync(join(ROOT, 'examples', 'policies'), join(dir, 'policies'), { recursive: true });
    writeFileSync(
      join(dir, 'policies', 'redact.cedar'),
      '@id("redact-contact-details")\n@redact("email, phone")\npermit (principal in AgentGroup::"agents", action == Action::"read", resource == Tool::"fixture.customer_record");\n' +
        '@id("redact-card-phone")\n@redact("phone")\npermit (principal in AgentGroup::"agents", action == Action::"read", resource == Tool::"fixture.customer_card");\n',
    );
    config.policy.dir = join(dir, 'policies');
    config.upstreams = {
      fixture: {
        transport: 'stdio',
        command: process.execPath,
        args: [FIXTURE],
        env: { FIXTURE_API_KEY: { secret: 'fixture-key' }, FIXTURE_MODE: 'test' },
        tools: { fingerprint: { kind: 'read' }, env_names: { kind: 'read' }, customer_record: { kind: 'read', labels: ['pii'] }, customer_card: { kind: 'read', labels: ['pii'] } },
      },
    };
    writeFileSync(join(dir, 'mandate.yaml'), YAML.stringify(config));
    server = await startServer(
      loadConfig(join(dir, 'mandate.yaml'), {
        MANDATE_STORE_URL: `file:${join(dir, 'store', 'mandate.db')}`,
        MANDATE_SECRETS_KEY_FILE: join(dir, 'store', 'secrets.key'),
        MANDATE_SERVER_PORT: '0',
        MANDATE_SERVER_ADMIN_TOKEN: ADMIN_TOKEN,
        MANDATE_POLICY_WATCH: 'false',
      }),
      { logger },
    );
    const stored = await http(server.url, '/v1/secrets/fixture-key', { method: 'PUT', token: ADMIN_TOKEN, body: { value: SECRET } });
    assert.equal(stored.status, 201);
    assert.deepEqual(stored.body, { name: 'fixture-key', version: 1 });
    const { credential } = await grantTask(server.url, 'report-bot', { purpose: 'check the integration', tools: ['fixture.fingerprint', 'fixture.env_names', 'fixture.customer_record', 'fixture.customer_card'] });
    client = new Client({ name: 'agent', version: '1' });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${server.url}/mcp`), { requestInit: { headers: { Authorization: `Bearer ${credential}` } } }));
  });
  after(async () => {
    delete process.env[CANARY];
    await client.close();
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  verifies('secrets:delivered-to-upstream', 'the upstream receives the secret: it proves so with a fingerprint', async () => {
    const tools = await client.listTools();
    seen.push(JSON.stringify(tools));
    const result = await client.callTool({ name: 'fixture.fingerprint', arguments: {} });
    seen.push(JSON.stringify(result));
    assert.equal(text(result), createHash('sha256').update(SECRET).digest('hex'));
  });

  verifies('secrets:minimal-upstream-env', 'the upstream gets a minimal environment plus its config, not the gateway environment', async () => {
    const result = await client.callTool({ name: 'fixture.env_names', arguments: {} });
    seen.push(JSON.stringify(result));
    const names = text(result).split(',');
    assert.ok(names.includes('FIXTURE_API_KEY') && names.includes('FIXTURE_MODE'));
    assert.equal(names.includes(CANARY), false);
    assert.equal(names.includes('MANDATE_TEST_POSTGRES_URL'), false);
  });

  verifies('secrets:never-exposed', 'the secret is absent from everything the agent saw, the logs, the audit trail and the store file', async () => {
    await server.plane.audit.flush();
    for (const s of seen) assert.equal(s.includes(SECRET), false, 'agent view');
    assert.ok(logs.some((l) => l.includes('fixture starting with FIXTURE_API_KEY=[secret]')), `upstream stderr was logged, masked: ${logs.join(' | ')}`);
    assert.equal(logs.join('\n').includes(SECRET), false, 'logs');
    const db = new SQLite(join(dir, 'store', 'mandate.db'), { readonly: true });
    const auditRows = JSON.stringify(db.prepare('SELECT * FROM audit_events').all());
    const secretRows = JSON.stringify(db.prepare('SELECT * FROM secrets').all());
    db.close();
    assert.equal(auditRows.includes(SECRET), false, 'audit');
    assert.equal(secretRows.includes(SECRET), false, 'stored encrypted');
    for (const f of readdirSync(join(dir, 'store'))) {
      assert.equal(readFileSync(join(dir, 'store', f)).includes(Buffer.from(SECRET)), false, `plaintext in ${f}`);
    }
    const used = (await server.plane.store.audit.list({ type: 'secret.used' })).map((e) => e.data);
    assert.deepEqual(used, [{ name: 'fixture-key', version: 1, usedBy: 'upstream:fixture' }]);
    const listed = await http(server.url, '/v1/secrets', { token: ADMIN_TOKEN });
    assert.deepEqual(listed.body.secrets.map((s: { name: string; version: number }) => [s.name, s.version]), [['fixture-key', 1]]);
    assert.equal(listed.text.includes(SECRET), false, 'the API never returns a value');
  });

  verifies('obligations:redact-output-schema', 'a tool whose results a policy may redact is listed without its output schema, so a redacted structured result is not rejected by the client', async () => {
    const { tools } = await client.listTools();
    assert.equal(tools.find((t) => t.name === 'fixture_customer_card')?.outputSchema, undefined);
    assert.ok(tools.find((t) => t.name === 'fixture_fingerprint'), 'other tools are listed as they are');
    const result = await client.callTool({ name: 'fixture_customer_card', arguments: { id: 'c-1' } });
    assert.deepEqual(result.structuredContent, { id: 'c-1', name: 'Ada Lovelace', phone: '[redacted]' });
  });

  verifies('obligations:redact-before-agent', 'a redact obligation masks the fields before the agent sees the result; labels reach the audit trail', async () => {
    const result = await client.callTool({ name: 'fixture.customer_record', arguments: { id: 'c-1' } });
    assert.deepEqual(JSON.parse(text(result)), { id: 'c-1', name: 'Ada Lovelace', email: '[redacted]' });
    assert.doesNotMatch(JSON.stringify(result), /ada@example\.com/);
    await server.plane.audit.flush();
    const last = (await server.plane.store.audit.list({ type: 'tool.result', order: 'desc', limit: 1 }))[0];
    assert.deepEqual([last?.data.tool, last?.data.labels], ['fixture.customer_record', ['pii']]);
  });
});
