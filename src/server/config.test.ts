import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { configurationReference } from './config-doc.js';
import YAML from 'yaml';
import { ConfigSchema, ENV_KEYS, envName, loadConfig } from './config.js';

const DOC = fileURLToPath(new URL('../../../docs/configuration.md', import.meta.url));
const BASE = { MANDATE_STORE_URL: ':memory:' };

describe('configuration', () => {
  it('docs/configuration.md is what `npm run docs` generates from the schema', () => {
    assert.equal(readFileSync(DOC, 'utf8'), configurationReference(), 'docs/configuration.md is stale: run `npm run docs`');
  });

  it('the console example in docs/console.md is a valid configuration', () => {
    const doc = readFileSync(fileURLToPath(new URL('../../../docs/console.md', import.meta.url)), 'utf8');
    const block = /```yaml\n([\s\S]*?)```/.exec(doc)![1]!;
    const config = ConfigSchema.parse(YAML.parse(block));
    assert.deepEqual([config.console.oidc?.scopes, config.console.oidc?.groupsClaim, config.console.sessionTtlSeconds, config.console.roles.approver], [['openid', 'profile', 'email'], 'groups', 28_800, ['approvers']]);
    assert.throws(() => ConfigSchema.parse({ console: { oidc: { issuer: 'https://idp.example', clientId: 'c' } } }), /nobody can sign in/);
    assert.throws(() => ConfigSchema.parse({ console: { oidc: { issuer: 'https://idp.example', clientId: 'c', scopes: ['email'] }, roles: { viewer: ['staff'] } } }), /openid/);
  });

  it('every scalar key, nested sections included, has a variable; lists, maps and unions have none', () => {
    for (const key of ['server.port', 'store.catchUpMs', 'approvals.webhook.attempts', 'monitor.responses.forbidden_secret', 'secrets.keyFile']) assert.ok(ENV_KEYS.includes(key), key);
    for (const key of ['tools', 'upstreams', 'apis', 'agents', 'identity.oidcIssuers', 'approvals.approvers', 'approvals.webhook.secret']) assert.ok(!ENV_KEYS.includes(key), key);
    assert.equal(envName('store.failClosedAfterMs'), 'MANDATE_STORE_FAIL_CLOSED_AFTER_MS');
  });

  it('a variable sets its key, typed as in the file', () => {
    const config = loadConfig(undefined, { ...BASE, MANDATE_SERVER_PORT: '9091', MANDATE_POLICY_WATCH: 'false', MANDATE_MONITOR_RESPONSES_RATE_BURST: 'suspend' });
    assert.equal(config.server.port, 9091);
    assert.equal(config.policy.watch, false);
    assert.equal(config.monitor.responses.rate_burst, 'suspend');
  });

  it('an unknown MANDATE_* variable is named with the closest known one; variables of the CLI and harnesses are not', () => {
    const warnings: string[] = [];
    loadConfig(undefined, { ...BASE, MANDATE_SERVER_PROT: '1', MANDATE_URL: 'http://x', MANDATE_ADMIN_TOKEN: 't', MANDATE_TEST_POSTGRES_URL: 'postgres://x', OTHER: '1' }, (m) => warnings.push(m));
    assert.deepEqual(warnings, ['unknown variable `MANDATE_SERVER_PROT` sets nothing; closest known: `MANDATE_SERVER_PORT`']);
  });
});
