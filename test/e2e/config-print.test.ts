import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe } from 'node:test';
import YAML from 'yaml';
import { EXAMPLE_CONFIG, ROOT } from '../helpers.js';
import { verifies } from './verifies.js';

const run = promisify(execFile);

describe('mandate config print', () => {
  let dir: string;
  let printed: string;
  let config: Record<string, any>;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mandate-config-print-'));
    const file = YAML.parse(readFileSync(EXAMPLE_CONFIG, 'utf8'));
    file.policy.dir = join(ROOT, 'examples', 'policies');
    file.server = { ...file.server, adminToken: 'admin-literal-0123456789' };
    file.store = { url: 'postgres://mandate:pg-literal-pw@db.internal:5432/mandate?sslpassword=ssl-literal-pw&application_name=mandate' };
    file.secrets = { key: 'vault-literal-key', keyFile: join(dir, 'secrets.key') };
    file.approvals = { webhook: { url: 'https://chat.example/hook?token=approvals-url-token&channel=ops', secret: 'approvals-literal-secret' } };
    file.monitor = { webhook: { url: 'https://alerts.example/hook', secret: 'monitor-literal-secret' }, responses: { forbidden_secret: 'suspend' } };
    file.upstreams = {
      ...file.upstreams,
      brokered: {
        transport: 'http',
        url: 'https://mcp.example/mcp',
        headers: { Authorization: { secret: 'mcp-token', prefix: 'Bearer ' }, 'X-Team': 'header-literal' },
        tools: { rotate_token: { kind: 'write', description: 'rotates the service token' } },
      },
    };
    writeFileSync(join(dir, 'mandate.yaml'), YAML.stringify(file));
    const env = { ...process.env, MANDATE_SERVER_ADMIN_TOKEN: 'admin-literal-0123456789' };
    printed = (await run(process.execPath, [join(ROOT, 'bin/mandate.js'), 'config', 'print', '-c', join(dir, 'mandate.yaml')], { cwd: dir, env })).stdout;
    config = JSON.parse(printed);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  verifies('config:print:no-secret-values', 'shows no secret value anywhere, the webhook secrets of approvals and monitor included', () => {
    for (const literal of ['admin-literal', 'pg-literal-pw', 'ssl-literal-pw', 'vault-literal-key', 'approvals-url-token', 'approvals-literal-secret', 'monitor-literal-secret', 'header-literal']) {
      assert.equal(printed.includes(literal), false, `\`${literal}\` is printed in clear`);
    }
    assert.equal(config.approvals.webhook.secret, '[redacted]');
    assert.equal(config.monitor.webhook.secret, '[redacted]');
    assert.equal(config.server.adminToken, '[redacted]');
    assert.equal(config.secrets.key, '[redacted]');
    assert.equal(config.upstreams.brokered.headers['X-Team'], '[redacted]');
  });

  verifies('config:print:keeps-non-secrets', 'keeps what is not a secret: secret references by name, URLs without their credentials, durations and paths', () => {
    assert.deepEqual(config.upstreams.brokered.headers.Authorization, { secret: 'mcp-token', prefix: 'Bearer ' });
    assert.equal(config.store.url, 'postgres://mandate:[redacted]@db.internal:5432/mandate?sslpassword=[redacted]&application_name=mandate');
    assert.equal(config.approvals.webhook.url, 'https://chat.example/hook?token=[redacted]&channel=ops');
    assert.equal(config.monitor.webhook.url, 'https://alerts.example/hook');
    assert.equal(config.secrets.keyFile, join(dir, 'secrets.key'));
    assert.equal(typeof config.identity.joinTokenTtlSeconds, 'number');
    assert.equal(config.approvals.webhook.attempts, 4);
    assert.equal(config.monitor.responses.forbidden_secret, 'suspend', 'a closed set of values is no secret, whatever the key');
    assert.deepEqual([config.upstreams.brokered.tools.rotate_token.kind, config.upstreams.brokered.tools.rotate_token.description], ['write', 'rotates the service token']);
  });

  verifies('config:print:secret-reference-named', 'a webhook secret given as a reference shows the name of the secret', async () => {
    const file = YAML.parse(readFileSync(join(dir, 'mandate.yaml'), 'utf8'));
    file.approvals.webhook.secret = { secret: 'approvals-hook' };
    writeFileSync(join(dir, 'by-reference.yaml'), YAML.stringify(file));
    const { stdout } = await run(process.execPath, [join(ROOT, 'bin/mandate.js'), 'config', 'print', '-c', join(dir, 'by-reference.yaml')], { cwd: dir });
    assert.deepEqual(JSON.parse(stdout).approvals.webhook.secret, { secret: 'approvals-hook', prefix: '' });
  });
});
