import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe } from 'node:test';
import pg from 'pg';
import YAML from 'yaml';
import { ADMIN_TOKEN, EXAMPLE_CONFIG, ROOT, dropPostgresSchema, grantTask, http, postgresUrl, serve, startTestServer, until as waitUntil } from '../helpers.js';
import { verifies } from './verifies.js';

const PG = postgresUrl();
const CATCH_UP_MS = 500;

/** The shared bounded wait, polling every 20 ms. */
const until = <T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number) => waitUntil(what, probe, timeoutMs, 20);

describe('several replicas on one PostgreSQL', { skip: PG ? false : 'no MANDATE_TEST_POSTGRES_URL outside CI' }, () => {
  let dir: string;
  let schema: string;
  let a: { url: string; child: ChildProcess };
  let b: { url: string; child: ChildProcess };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mandate-replicas-'));
    schema = `mandate_replicas_${process.pid}_${Date.now()}`;
    const config = YAML.parse(readFileSync(EXAMPLE_CONFIG, 'utf8'));
    config.policy = { dir: join(ROOT, 'examples', 'policies'), watch: false, source: 'store' };
    delete config.upstreams;
    // Not a test of outages: a loaded machine must not turn a slow query into store.unreachable.
    config.store = { url: `${PG}${PG!.includes('?') ? '&' : '?'}schema=${schema}`, catchUpMs: CATCH_UP_MS, answerWithinMs: 2000 };
    config.server = { host: '127.0.0.1', port: 0, adminToken: ADMIN_TOKEN };
    config.secrets = { keyFile: join(dir, 'secrets.key') };
    writeFileSync(join(dir, 'mandate.yaml'), YAML.stringify(config));
    a = await serve(join(dir, 'mandate.yaml'), { MANDATE_AUDIT_SEGMENT: 'replica-a' });
    b = await serve(join(dir, 'mandate.yaml'), { MANDATE_AUDIT_SEGMENT: 'replica-b' });
  });
  after(async () => {
    for (const r of [a, b]) r?.child.kill();
    await Promise.all([a, b].map((r) => r && new Promise((res) => (r.child.exitCode !== null ? res(null) : r.child.once('exit', res)))));
    rmSync(dir, { recursive: true, force: true });
    if (PG) await dropPostgresSchema(PG, schema);
  });

  const decideOn = async (url: string, credential: string) =>
    (await http(url, '/v1/decide', { body: { credential, tool: 'files.read', args: { path: '/srv/reports/a' } } })).body.reason.code as string;
  const revokeOn = (url: string, taskId: string) => http(url, '/v1/revocations', { token: ADMIN_TOKEN, body: { kind: 'task', subject: taskId } });

  verifies('replicas:revocation-pushed', 'a task granted on A is decided on B; revoked on A, it is refused on B at once', async () => {
    const { credential, taskId } = await grantTask(a.url, 'report-bot', { purpose: 'p', tools: ['files.read'], ttlSeconds: 600 });
    assert.equal(await decideOn(b.url, credential), 'policy.permit', 'B verifies A’s credential and reads the task from the store');
    const started = Date.now();
    assert.equal((await revokeOn(a.url, taskId)).status, 201);
    await until('B to refuse', async () => ((await decideOn(b.url, credential)) === 'credential.revoked' ? true : undefined), 5000);
    assert.ok(Date.now() - started < CATCH_UP_MS, 'pushed by NOTIFY, well before the catch-up read');
  });

  verifies('replicas:suspension-pushed', 'a task suspended on A is refused on B at once; resumed on A, B allows it again', async () => {
    const { credential, taskId } = await grantTask(a.url, 'report-bot', { purpose: 'p', tools: ['files.read'], ttlSeconds: 600 });
    assert.equal(await decideOn(b.url, credential), 'policy.permit', 'B holds the task\'s monitor state in memory from here');
    const started = Date.now();
    assert.equal((await http(a.url, `/v1/tasks/${taskId}/suspend`, { token: ADMIN_TOKEN, body: { reason: 'under review' } })).status, 200);
    await until('B to refuse', async () => ((await decideOn(b.url, credential)) === 'monitor.suspended' ? true : undefined), 5000);
    assert.ok(Date.now() - started < CATCH_UP_MS * 4, 'pushed, not waited out');
    assert.equal((await http(a.url, `/v1/tasks/${taskId}/resume`, { token: ADMIN_TOKEN, body: {} })).status, 200);
    await until('B to allow again', async () => ((await decideOn(b.url, credential)) === 'policy.permit' ? true : undefined), 5000);
  });

  verifies('replicas:revocation-catch-up', 'with B’s notification connection killed, the catch-up read still revokes within its interval', async () => {
    const { credential, taskId } = await grantTask(a.url, 'report-bot', { purpose: 'p', tools: ['files.read'], ttlSeconds: 600 });
    assert.equal(await decideOn(b.url, credential), 'policy.permit');
    const admin = new pg.Client({ connectionString: PG });
    await admin.connect();
    try {
      const killed = await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1`, [`mandate-listen:${b.child.pid}`]);
      assert.equal(killed.rowCount, 1, 'B’s LISTEN connection was found and terminated');
    } finally {
      await admin.end();
    }
    const started = Date.now();
    await revokeOn(a.url, taskId);
    await until('B to refuse', async () => ((await decideOn(b.url, credential)) === 'credential.revoked' ? true : undefined), 10_000);
    assert.ok(Date.now() - started <= CATCH_UP_MS * 2 + 1000, `revoked on B within the catch-up bound (${Date.now() - started} ms)`);
  });

  verifies('replicas:exact-limits', 'exact limits hold across replicas: maxCalls counted in the store', async () => {
    const { credential } = await grantTask(a.url, 'report-bot', { purpose: 'p', tools: ['files.read'], limits: { maxCalls: 4 }, ttlSeconds: 600 });
    const codes = await Promise.all(Array.from({ length: 10 }, (_, i) => decideOn(i % 2 ? a.url : b.url, credential)));
    assert.equal(codes.filter((c) => c === 'policy.permit').length, 4);
  });

  verifies('replicas:policy-pushed', 'a policy set pushed on A is served by B on its next decision, under the same version', async () => {
    const { credential } = await grantTask(a.url, 'report-bot', { purpose: 'p', tools: ['files.read'], ttlSeconds: 600 });
    const before = (await http(b.url, '/v1/decide', { body: { credential, tool: 'files.read', args: { path: '/srv/a' } } })).body;
    assert.equal(before.reason.code, 'policy.permit');
    const files = readdirSync(join(ROOT, 'examples', 'policies'))
      .filter((f) => f.endsWith('.cedar'))
      .map((name) => ({ name, text: readFileSync(join(ROOT, 'examples', 'policies', name), 'utf8') }));
    const broken = await http(a.url, '/v1/policies', { method: 'PUT', token: ADMIN_TOKEN, body: { files: [...files, { name: 'broken.cedar', text: 'forbid (principal, action, resource) when { context.nope };\n' }] } });
    assert.deepEqual([broken.status, broken.body.error.code], [400, 'request.invalid']);
    assert.match(broken.body.error.message, /broken\.cedar:1/);
    const freeze = { name: 'freeze.cedar', text: '@id("freeze-reads")\nforbid (principal, action == Action::"read", resource == Tool::"files.read");\n' };
    const pushed = await http(a.url, '/v1/policies', { method: 'PUT', token: ADMIN_TOKEN, body: { files: [...files, freeze] } });
    assert.equal(pushed.body.version, before.policyVersion + 1);
    const after = await until(
      'B to serve the new set',
      async () => {
        const d = (await http(b.url, '/v1/decide', { body: { credential, tool: 'files.read', args: { path: '/srv/a' } } })).body;
        return d.reason.code === 'policy.forbid' ? d : undefined;
      },
      5000,
    );
    assert.deepEqual([after.policies, after.policyVersion], [['freeze-reads'], pushed.body.version]);
    assert.equal((await http(b.url, '/v1/policies', { token: ADMIN_TOKEN })).body.version, pushed.body.version);
  });

  verifies('replicas:audit-segments-verify', 'each replica writes its own audit segment and every chain verifies', async () => {
    const res = await http(a.url, '/v1/audit/verify', { token: ADMIN_TOKEN });
    assert.equal(res.body.ok, true);
    assert.deepEqual(res.body.segments.map((s: { segment: string }) => s.segment).sort(), ['replica-a', 'replica-b']);
  });
});

describe('fail closed when the store is out of reach', () => {
  verifies('store:outage:deny-after-bound', 'decisions are denied with store.unreachable once the bound has passed', async () => {
    const server = await startTestServer({ MANDATE_STORE_CATCH_UP_MS: '100', MANDATE_STORE_FAIL_CLOSED_AFTER_MS: '1000' });
    try {
      const { credential } = await grantTask(server.url, 'report-bot', { purpose: 'p', tools: ['files.read'] });
      assert.equal(await (async () => (await http(server.url, '/v1/decide', { body: { credential, tool: 'files.read', args: {} } })).body.reason.code)(), 'policy.permit');
      // The store goes away under the running replica.
      await server.plane.store.close();
      const code = await until(
        'fail closed',
        async () => {
          const c = (await http(server.url, '/v1/decide', { body: { credential, tool: 'files.read', args: {} } })).body.reason.code as string;
          return c === 'store.unreachable' ? c : undefined;
        },
        5000,
      );
      assert.equal(code, 'store.unreachable');
    } finally {
      await server.app.close();
    }
  });
});
