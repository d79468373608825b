import assert from 'node:assert/strict';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe } from 'node:test';
import YAML from 'yaml';
import { loadConfig, startServer, type ApiAuditPage, type RunningServer } from '../../src/server/index.js';
import { ADMIN_TOKEN, EXAMPLE_CONFIG, ROOT, grantTask, http, runCli, startTestServer, until } from '../helpers.js';
import { verifies } from './verifies.js';

type AuditEvent = ApiAuditPage['events'][number];

/**
 * A SIEM's collector on 127.0.0.1 that is not always there: `flaky` refuses every
 * third post (503) and answers one too late (after the sender's timeout, having
 * kept the batch: a duplicate on the way); `down` refuses everything; `hang` holds
 * every post until let go. It keeps the events of each post it took, in order.
 */
class Collector {
  mode: 'flaky' | 'down' | 'hang' = 'flaky';
  /** The `x-collector-token` every post must carry, when set. */
  token: string | undefined;
  readonly problems: string[] = [];
  posts = 0;
  refused = 0;
  readonly received: AuditEvent[] = [];
  private held: (() => void)[] = [];
  private server: Server | undefined;
  url = '';

  async start(): Promise<void> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/collect`;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let body = '';
    for await (const chunk of req) body += chunk;
    this.posts += 1;
    if (req.headers['content-type'] !== 'application/x-ndjson' || (this.token !== undefined && req.headers['x-collector-token'] !== this.token)) {
      this.problems.push(`post ${this.posts}: content-type ${req.headers['content-type']}, token ${req.headers['x-collector-token']}`);
      res.writeHead(401).end();
      return;
    }
    if (this.mode === 'down' || (this.mode === 'flaky' && this.posts % 3 === 0)) {
      this.refused += 1;
      res.writeHead(503).end();
      return;
    }
    if (this.mode === 'hang') await new Promise<void>((resolve) => this.held.push(resolve));
    this.received.push(...body.trimEnd().split('\n').map((l) => JSON.parse(l) as AuditEvent));
    // Kept, but answered after the sender gave up: it will send these again.
    if (this.mode === 'flaky' && this.posts === 4) await new Promise((r) => setTimeout(r, 600));
    res.writeHead(200).end();
  }

  release(): void {
    for (const go of this.held.splice(0)) go();
  }

  /** Seqs of `segment` in the order they first arrived. */
  firstArrivals(segment: string): number[] {
    const seen = new Set<number>();
    for (const e of this.received) if (e.segment === segment && !seen.has(e.seq)) seen.add(e.seq);
    return [...seen];
  }

  async close(): Promise<void> {
    this.release();
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }
}

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function storeDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'mandate-sink-'));
  dirs.push(dir);
  return dir;
}

/** Every stored event, oldest first. */
async function stored(server: RunningServer): Promise<AuditEvent[]> {
  const events: AuditEvent[] = [];
  for (let cursor: string | null = null; ; ) {
    const res = await http(server.url, `/v1/audit?order=asc&limit=1000${cursor ? `&cursor=${cursor}` : ''}`, { token: ADMIN_TOKEN });
    events.push(...(res.body.events as AuditEvent[]));
    cursor = res.body.nextCursor;
    if (!cursor) return events;
  }
}

/** Seqs 1..n of the segment, which is what every delivery must add up to. */
const oneTo = (n: number) => Array.from({ length: n }, (_, i) => i + 1);

async function decideMany(server: RunningServer, n: number): Promise<void> {
  const { credential } = await grantTask(server.url, 'report-bot', { purpose: 'read reports', tools: ['files.read'], ttlSeconds: 600 });
  const calls = Array.from({ length: n }, (_, i) => http(server.url, '/v1/decide', { body: { credential, tool: i % 4 === 3 ? 'files.write' : 'files.read', args: { path: `/srv/reports/q${i}.csv` } } }));
  for (const res of await Promise.all(calls)) assert.equal(res.status, 200, JSON.stringify(res.body));
}

describe('the audit sink', () => {
  const collector = new Collector();
  before(() => collector.start());
  after(() => collector.close());

  const webhookEnv = (dir: string) => ({
    MANDATE_STORE_URL: `file:${join(dir, 'mandate.db')}`,
    MANDATE_SECRETS_KEY_FILE: join(dir, 'secrets.key'),
    MANDATE_AUDIT_SINK_WEBHOOK_URL: collector.url,
    MANDATE_AUDIT_SINK_WEBHOOK_TIMEOUT_MS: '300',
    MANDATE_AUDIT_SINK_BATCH_EVENTS: '5',
    MANDATE_AUDIT_SINK_BACKOFF_MS: '10',
    MANDATE_AUDIT_SINK_MAX_BACKOFF_MS: '100',
  });

  verifies('audit:sink', 'a webhook that fails some requests gets every event at least once, in order; a stalled one holds up no decision', { timeout: 60_000 }, async () => {
    const dir = storeDir();
    const env = { ...webhookEnv(dir), MANDATE_SERVER_PORT: '0', MANDATE_SERVER_ADMIN_TOKEN: ADMIN_TOKEN, MANDATE_POLICY_WATCH: 'false' };
    delete (env as Record<string, string>).MANDATE_AUDIT_SINK_WEBHOOK_URL;
    // The collector's token is a brokered secret, stored before the sink is configured.
    const setup = await startTestServer({ MANDATE_STORE_URL: env.MANDATE_STORE_URL, MANDATE_SECRETS_KEY_FILE: env.MANDATE_SECRETS_KEY_FILE });
    try {
      assert.equal((await http(setup.url, '/v1/secrets/collector', { method: 'PUT', token: ADMIN_TOKEN, body: { value: 'c0ll3ct' } })).status, 201);
    } finally {
      await setup.close();
    }
    const example = YAML.parse(readFileSync(EXAMPLE_CONFIG, 'utf8'));
    example.policy.dir = join(ROOT, 'examples', 'policies');
    example.audit = { sink: { webhook: { url: collector.url, headers: { 'x-collector-token': { secret: 'collector' } } } } };
    const config = join(dir, 'mandate.yaml');
    writeFileSync(config, YAML.stringify(example));
    collector.token = 'c0ll3ct';
    const live = await startServer(loadConfig(config, env));
    try {
      await decideMany(live, 24);
      const all = await until('every event delivered', async () => {
        const events = await stored(live);
        return collector.firstArrivals('main').length >= events.length ? events : undefined;
      });
      assert.ok(collector.refused >= 2, `refused posts were retried (${collector.refused} refused of ${collector.posts})`);
      assert.deepEqual(collector.firstArrivals('main'), oneTo(all.length), 'each seq arrives, first in seq order');
      assert.ok(collector.received.length > all.length, 'a post answered too late was sent again: at least once, not exactly once');
      for (const e of all) assert.deepEqual(collector.received.find((r) => r.segment === e.segment && r.seq === e.seq), e, 'as stored');

      // The collector stalls: decisions go on at their own pace, and the backlog follows once it answers.
      collector.mode = 'hang';
      const started = Date.now();
      await decideMany(live, 8);
      assert.ok(Date.now() - started < 5_000, 'decisions do not wait on the sink');
      collector.mode = 'flaky';
      collector.release();
      const now = await stored(live);
      await until('the backlog delivered', async () => (collector.firstArrivals('main').length >= now.length ? true : undefined));
      assert.deepEqual(collector.firstArrivals('main').slice(0, now.length), oneTo(now.length));
    } finally {
      await live.close();
      collector.token = undefined;
    }
    assert.deepEqual(collector.problems, []);
  });

  verifies('audit:sink', 'after a restart, delivery resumes from the cursor in the store: nothing lost, nothing sent again from the start', { timeout: 60_000 }, async () => {
    collector.received.length = 0;
    collector.mode = 'flaky';
    const dir = storeDir();
    const env = webhookEnv(dir);
    let server = await startTestServer(env);
    let delivered: number;
    try {
      await decideMany(server, 6);
      const first = await stored(server);
      await until('delivered', async () => (collector.firstArrivals('main').length >= first.length ? true : undefined));
      delivered = Math.max(...collector.firstArrivals('main'));
      // The collector goes down: what is recorded now waits in the store.
      collector.mode = 'down';
      await decideMany(server, 6);
    } finally {
      await server.close();
    }
    const beforeRestart = collector.received.length;
    collector.mode = 'flaky';
    server = await startTestServer(env);
    try {
      const all = await stored(server);
      await until('the backlog delivered after the restart', async () => (collector.firstArrivals('main').length >= all.length ? true : undefined));
      const resent = collector.received.slice(beforeRestart).map((e) => e.seq);
      assert.equal(Math.min(...resent), delivered + 1, 'resumed right after the last delivered event');
      assert.deepEqual(collector.firstArrivals('main').slice(0, all.length), oneTo(all.length));
    } finally {
      await server.close();
    }
  });

  verifies('audit:sink', 'a file sink holds the trail as stored, verifies, and resumes after a restart and a torn last line', { timeout: 60_000 }, async () => {
    const dir = storeDir();
    const file = join(dir, 'siem', 'audit.jsonl');
    const env = { MANDATE_STORE_URL: `file:${join(dir, 'mandate.db')}`, MANDATE_AUDIT_SINK_FILE: file };
    const lineCount = () => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean).length : 0);
    let server = await startTestServer(env);
    try {
      await decideMany(server, 10);
      const all = await stored(server);
      await until('the file holds every event', async () => (lineCount() >= all.length ? true : undefined));
    } finally {
      await server.close();
    }
    // A crash in the middle of an append leaves half a line.
    appendFileSync(file, '{"segment":"main","seq":');
    server = await startTestServer(env);
    try {
      await decideMany(server, 4);
      const all = await stored(server);
      await until('the file holds every event again', async () => (lineCount() >= all.length ? true : undefined));
      const lines = readFileSync(file, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l) as AuditEvent);
      assert.deepEqual(lines.map((e) => e.seq), oneTo(all.length), 'every event once, in order, the torn line gone');
      assert.deepEqual(lines, all);
    } finally {
      await server.close();
    }
    const verified = await runCli(['audit', 'verify', '--file', file]);
    assert.equal(verified.code, 0, verified.stdout);
    assert.match(verified.stdout, /ok: every exported chain verifies/);
  });
});
