import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe } from 'node:test';
import SQLite from 'better-sqlite3';
import pg from 'pg';
import YAML from 'yaml';
import { FaultProxy } from '../fault-proxy.js';
import { ADMIN_TOKEN, EXAMPLE_CONFIG, ROOT, dropPostgresSchema, exited, grantTask, http, postgresUrl, serve, startTestServer, until } from '../helpers.js';
import { verifies } from './verifies.js';

const PG = postgresUrl();
const MANDATE = { purpose: 'read reports', tools: ['files.read'], ttlSeconds: 600 };
const CALL = { tool: 'files.read', args: { path: '/srv/reports/q3.csv' } };

/** What the client saw: the decision id and outcome of every answered call. */
type Seen = { id: string; outcome: string; code: string };

const decide = async (url: string, credential: string): Promise<Seen> => {
  const body = (await http(url, '/v1/decide', { body: { credential, ...CALL } })).body;
  return { id: body.id, outcome: body.outcome, code: body.reason.code };
};

/**
 * Every answered decision is in the trail with the outcome the client saw: the
 * recorded outcome, unless a `decision.withdrawn` record turned an allow into a deny.
 */
function assertTrailMatches(seen: readonly Seen[], rows: readonly { type: string; data: Record<string, unknown> }[]): void {
  const recorded = new Map<string, string>();
  for (const r of rows) {
    if (r.type === 'decision') recorded.set(r.data.decisionId as string, r.data.outcome as string);
    if (r.type === 'decision.withdrawn') recorded.set(r.data.decisionId as string, 'deny');
  }
  for (const s of seen) assert.equal(recorded.get(s.id), s.outcome, `decision ${s.id} (${s.code}) is in the trail as the client saw it`);
}

function writeConfig(dir: string, store: Record<string, unknown>, extra: Record<string, unknown> = {}): string {
  const config = YAML.parse(readFileSync(EXAMPLE_CONFIG, 'utf8'));
  config.policy = { dir: join(ROOT, 'examples', 'policies'), watch: false };
  delete config.upstreams;
  config.store = store;
  config.server = { host: '127.0.0.1', port: 0, adminToken: ADMIN_TOKEN };
  config.secrets = { keyFile: join(dir, 'secrets.key') };
  Object.assign(config, extra);
  const file = join(dir, 'mandate.yaml');
  writeFileSync(file, YAML.stringify(config));
  return file;
}

describe('PostgreSQL faults under a running replica', { timeout: 120_000, skip: PG ? false : 'no MANDATE_TEST_POSTGRES_URL outside CI' }, () => {
  let dir: string;
  let schema: string;
  let proxy: FaultProxy;
  let server: { url: string; child: ChildProcess; output: string[] };
  let admin: pg.Client;

  const trail = async () => (await admin.query(`SELECT type, data FROM "${schema}".audit_events WHERE type IN ('decision', 'decision.withdrawn') ORDER BY segment, seq`)).rows.map((r) => ({ type: r.type as string, data: JSON.parse(r.data) }));
  const allowAgain = (credential: string, seen: Seen[]) =>
    until(
      'an allow once the store is back',
      async () => {
        const d = await decide(server.url, credential);
        seen.push(d);
        return d.outcome === 'allow' ? d : undefined;
      },
      10_000,
      20,
    );

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mandate-faults-'));
    schema = `mandate_faults_${process.pid}_${Date.now()}`;
    proxy = await FaultProxy.start(Number(new URL(PG!).port || 5432));
    const viaProxy = new URL(PG!);
    viaProxy.port = String(proxy.port);
    viaProxy.hostname = '127.0.0.1';
    viaProxy.searchParams.set('schema', schema);
    const config = writeConfig(dir, { url: viaProxy.toString(), catchUpMs: 500, answerWithinMs: 250, probeMs: 50, queryTimeoutMs: 1000 }, { audit: { segment: 'main', spoolFile: join(dir, 'spool.jsonl') } });
    server = await serve(config);
    admin = new pg.Client({ connectionString: PG });
    await admin.connect();
  });
  after(async () => {
    server?.child.kill();
    if (server) await exited(server.child);
    await admin?.end();
    await proxy?.close();
    if (PG) await dropPostgresSchema(PG, schema);
    rmSync(dir, { recursive: true, force: true });
  });

  verifies('store:pg:backend-termination-recovers', 'terminating the replica’s own backends never kills it: decisions recover and LISTEN is re-established', async () => {
    const { credential } = await grantTask(server.url, 'report-bot', MANDATE);
    const seen: Seen[] = [await decide(server.url, credential)];
    assert.equal(seen[0]!.outcome, 'allow');
    for (let round = 0; round < 3; round++) {
      const killed = await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name IN ($1, $2)', [`mandate:${server.child.pid}`, `mandate-listen:${server.child.pid}`]);
      assert.ok(killed.rowCount! >= 1, 'the replica’s connections were found and terminated');
      await allowAgain(credential, seen);
    }
    assert.equal(server.child.exitCode, null, 'the replica is still running');
    await until('LISTEN re-established', async () => ((await admin.query('SELECT 1 FROM pg_stat_activity WHERE application_name = $1', [`mandate-listen:${server.child.pid}`])).rowCount === 1 ? true : undefined), 10_000);
    for (const s of seen) assert.ok(s.outcome === 'allow' || s.code === 'store.unreachable', `only allows or store.unreachable, got ${s.code}`);
    assertTrailMatches(seen, await trail());
  });

  verifies('store:outage:answer-within-bound', 'a black-holed store: every call is answered while it is gone, denied store.unreachable; the spool is replayed in order and verifies', async () => {
    const { credential } = await grantTask(server.url, 'report-bot', MANDATE);
    const seen: Seen[] = [await decide(server.url, credential)];
    assert.equal(seen[0]!.outcome, 'allow');
    proxy.blackhole();
    // All of these are answered before the store comes back: the proxy is restored only after they resolve.
    const during = await Promise.all(Array.from({ length: 12 }, () => decide(server.url, credential)));
    for (let i = 0; i < 20; i++) during.push(await decide(server.url, credential));
    seen.push(...during);
    for (const d of during) assert.deepEqual([d.outcome, d.code], ['deny', 'store.unreachable']);
    const revokedWhileDown = await http(server.url, '/v1/revocations', { token: ADMIN_TOKEN, body: { kind: 'task', subject: 'tsk_none' } });
    assert.notEqual(revokedWhileDown.status, 201, 'nothing is claimed done while the store is gone');
    proxy.restore();
    await allowAgain(credential, seen);
    const verified = await http(server.url, '/v1/audit/verify', { token: ADMIN_TOKEN });
    assert.equal(verified.body.ok, true, JSON.stringify(verified.body));
    assertTrailMatches(seen, await trail());
    assert.equal(readFileSync(join(dir, 'spool.jsonl'), 'utf8'), '', 'the spool is empty once replayed');
  });

  verifies('store:pg:failover-survives', 'every connection reset at once (a failover): the replica survives and allows again', async () => {
    const { credential } = await grantTask(server.url, 'report-bot', MANDATE);
    const seen: Seen[] = [];
    for (let round = 0; round < 3; round++) {
      proxy.reset();
      seen.push(await decide(server.url, credential));
      await allowAgain(credential, seen);
    }
    assert.equal(server.child.exitCode, null);
    assertTrailMatches(seen, await trail());
  });
});

describe('kill -9 under load: every answered decision is in the trail, and the chain verifies', { timeout: 120_000 }, () => {
  const stores: { name: string; store: (dir: string) => Record<string, unknown> | undefined; trail: (dir: string) => Promise<{ type: string; data: Record<string, unknown> }[]>; cleanup?: () => Promise<void> }[] = [];
  const sqliteTrail = async (dir: string) => {
    const db = new SQLite(join(dir, 'mandate.db'), { readonly: true });
    try {
      return db.prepare<[], { type: string; data: string }>("SELECT type, data FROM audit_events WHERE type IN ('decision', 'decision.withdrawn')").all().map((r) => ({ type: r.type, data: JSON.parse(r.data) }));
    } finally {
      db.close();
    }
  };
  stores.push({ name: 'SQLite', store: (dir) => ({ url: `file:${join(dir, 'mandate.db')}` }), trail: sqliteTrail });
  const schema = `mandate_kill_${process.pid}_${Date.now()}`;
  if (PG) {
    stores.push({
      name: 'PostgreSQL',
      store: () => ({ url: `${PG}${PG.includes('?') ? '&' : '?'}schema=${schema}` }),
      trail: async () => {
        const c = new pg.Client({ connectionString: PG });
        await c.connect();
        try {
          return (await c.query(`SELECT type, data FROM "${schema}".audit_events WHERE type IN ('decision', 'decision.withdrawn')`)).rows.map((r) => ({ type: r.type, data: JSON.parse(r.data) }));
        } finally {
          await c.end();
        }
      },
      cleanup: () => dropPostgresSchema(PG, schema),
    });
  }
  for (const s of stores) {
    verifies('store:crash:trail-complete', `on ${s.name}`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'mandate-kill-'));
      try {
        const config = writeConfig(dir, s.store(dir)!, { audit: { segment: 'main', spoolFile: join(dir, 'spool.jsonl') } });
        const seen: Seen[] = [];
        for (let crash = 0; crash < 2; crash++) {
          const server = await serve(config);
          const { credential } = await grantTask(server.url, 'report-bot', MANDATE);
          let stop = false;
          const workers = Array.from({ length: 6 }, async () => {
            for (let i = 0; i < 2000 && !stop; i++) {
              try {
                seen.push(await decide(server.url, credential));
              } catch {
                return; // the connection died with the server: that call was never answered
              }
            }
          });
          const answeredBefore = seen.length;
          await until('load under way', async () => (seen.length - answeredBefore >= 150 ? true : undefined), 20_000, 5);
          server.child.kill('SIGKILL');
          stop = true;
          await Promise.all(workers);
          await exited(server.child);
        }
        const restarted = await serve(config);
        try {
          const verified = await http(restarted.url, '/v1/audit/verify', { token: ADMIN_TOKEN });
          assert.equal(verified.body.ok, true, JSON.stringify(verified.body));
        } finally {
          restarted.child.kill();
          await exited(restarted.child);
        }
        assert.ok(seen.length >= 300);
        assertTrailMatches(seen, await s.trail(dir));
      } finally {
        rmSync(dir, { recursive: true, force: true });
        await s.cleanup?.();
      }
    });
  }
});

/** A small real file system of our own, so the disk can really fill up. */
function mountTmpfs(dir: string, size: string): boolean {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { stdio: 'ignore' });
    return true;
  } catch (err) {
    if (process.env.CI) throw new Error(`mounting a tmpfs failed, and under CI the disk-full test must run: ${(err as Error).message}`);
    return false;
  }
}

describe('SQLite faults: disk full and a locked database', { timeout: 60_000 }, () => {
  verifies('store:sqlite:disk-full', 'a full disk: decisions are denied store.unreachable, nothing is lost, and all of it is replayed once space is back', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'mandate-full-'));
    const disk = join(dir, 'disk');
    mkdirSync(disk);
    if (!mountTmpfs(disk, '8m')) return t.skip('cannot mount a tmpfs here');
    const server = await startTestServer({ MANDATE_STORE_URL: `file:${join(disk, 'mandate.db')}`, MANDATE_AUDIT_SPOOL_FILE: join(dir, 'spool.jsonl'), MANDATE_STORE_PROBE_MS: '50' });
    const filler = join(disk, 'filler');
    try {
      const { credential } = await grantTask(server.url, 'report-bot', MANDATE);
      const seen: Seen[] = [await decide(server.url, credential)];
      assert.equal(seen[0]!.outcome, 'allow');
      const fd = openSync(filler, 'w');
      try {
        const chunk = Buffer.alloc(64 * 1024, 1);
        for (let i = 0; i < 1024; i++) writeSync(fd, chunk); // 64 MB at most: the 8 MB disk fills long before
        assert.fail('the disk never filled');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
      } finally {
        closeSync(fd);
      }
      const during: Seen[] = [];
      for (let i = 0; i < 40; i++) during.push(await decide(server.url, credential));
      seen.push(...during);
      assert.ok(during.some((d) => d.code === 'store.unreachable'), 'the full disk was noticed');
      assert.ok(during.slice(-10).every((d) => d.code === 'store.unreachable'), 'and every call after it is denied');
      assert.ok(during.every((d) => d.outcome === 'allow' || d.code === 'store.unreachable'), 'nothing else went wrong');
      assert.ok(readFileSync(join(dir, 'spool.jsonl'), 'utf8').length > 0, 'the records wait in the spool');
      rmSync(filler);
      const first = await until('an allow once space is back', async () => {
        const d = await decide(server.url, credential);
        seen.push(d);
        return d.outcome === 'allow' ? d : undefined;
      }, 10_000, 20);
      assert.equal(first.code, 'policy.permit');
      const verified = await http(server.url, '/v1/audit/verify', { token: ADMIN_TOKEN });
      assert.equal(verified.body.ok, true, JSON.stringify(verified.body));
      const rows = await server.plane.store.audit.list({ segment: 'main', limit: 100_000 });
      assertTrailMatches(seen, rows);
    } finally {
      await server.close();
      execFileSync('umount', ['--lazy', disk]);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  verifies('store:sqlite:locked', 'a database locked by another process: refused fast, then allowed once the lock is gone', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mandate-locked-'));
    const file = join(dir, 'mandate.db');
    const server = await startTestServer({ MANDATE_STORE_URL: `file:${file}`, MANDATE_AUDIT_SPOOL_FILE: join(dir, 'spool.jsonl'), MANDATE_STORE_PROBE_MS: '50' });
    const other = new SQLite(file);
    try {
      const { credential } = await grantTask(server.url, 'report-bot', MANDATE);
      const seen: Seen[] = [await decide(server.url, credential)];
      other.exec('BEGIN IMMEDIATE');
      for (let i = 0; i < 5; i++) seen.push(await decide(server.url, credential));
      assert.ok(seen.slice(1).every((d) => d.code === 'store.unreachable'), JSON.stringify(seen.slice(1)));
      // The gateways say the same, as 503 rather than a 401 that would send the agent to re-authenticate.
      const mcp = await http(server.url, '/mcp', { token: credential, body: { jsonrpc: '2.0', id: 1, method: 'tools/list' }, headers: { accept: 'application/json, text/event-stream' } });
      assert.equal(mcp.status, 503);
      assert.match(mcp.text, /store\.unreachable/);
      other.exec('ROLLBACK');
      await until('an allow once the lock is gone', async () => {
        const d = await decide(server.url, credential);
        seen.push(d);
        return d.outcome === 'allow' ? d : undefined;
      }, 10_000, 20);
      assertTrailMatches(seen, await server.plane.store.audit.list({ segment: 'main', limit: 100_000 }));
      assert.equal((await http(server.url, '/v1/audit/verify', { token: ADMIN_TOKEN })).body.ok, true);
      assert.ok(!existsSync(join(dir, 'spool.jsonl')) || readFileSync(join(dir, 'spool.jsonl'), 'utf8') === '');
    } finally {
      other.close();
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
