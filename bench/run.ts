import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CedarRequest } from '../src/policy/index.js';
import type { RunningServer } from '../src/server/index.js';
import { startBenchServer } from './bench-server.js';
import { FleetProcess } from './fleet.js';
import { runInChild } from './child.js';
import { benchGatewayHttp } from './gateway-http.js';
import { benchGatewayMcp } from './gateway-mcp.js';
import type { MemoryRequest, MemoryResult } from './memory.js';
import { startRevocation, type RevocationBench } from './revocation.js';
import { benchReliability } from './reliability.js';
import { benchEfficacy } from './efficacy.js';
import { benchPeers } from './peers.js';
import { benchAudit } from './audit.js';
import { benchDpop } from './dpop.js';
import { benchTxnToken } from './txn-token.js';
import { freshBehaviour } from '../src/monitor/index.js';
import { extractKeys } from '../src/provenance/index.js';
import { kernelOver, type Decision } from '../src/decision/index.js';
import type { LoadRequest, LoadResult } from './http-load.js';
import { summarize, type Metrics } from './stats.js';

/**
 * `npm run bench`: the decision core's latency, in process and over HTTP, beside
 * the bare Cedar call it is built on. Prints a table and merges its metrics
 * into bench/results.json (other benchmarks add theirs to the same file).
 */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const RESULTS = join(ROOT, 'bench', 'results.json');
const ADMIN = 'bench-admin-token-0123456789';
const INPROC_CALLS = Number(process.env.BENCH_INPROC_CALLS ?? 5000);
const HTTP_RATE = 1000;
const HTTP_SECONDS = Number(process.env.BENCH_HTTP_SECONDS ?? 3);
const MEMORY_TASKS = Number(process.env.BENCH_MEMORY_TASKS ?? 2000);
/** `peers` runs only the side-by-side with Cerbos and mcp-proxy (`npm run bench:peers`). */
const ONLY = process.env.BENCH_ONLY;

const hr = () => Number(process.hrtime.bigint()) / 1000; // µs
const log = (line: string) => process.stderr.write(`${line}\n`);

async function post(url: string, path: string, body: unknown, token?: string): Promise<any> {
  const res = await fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) }, body: JSON.stringify(body) });
  return res.json();
}

const READ_SRV = { name: 'files.read', args: { path: { prefix: '/srv/' } } };

/** An SVID for report-bot over the real API: join token, then attestation. */
async function svidOf(server: RunningServer): Promise<string> {
  const { token } = await post(server.url, '/v1/agents/report-bot/join-tokens', {}, ADMIN);
  return (await post(server.url, '/v1/attest/join-token', { token })).svid as string;
}

/** A task for report-bot over the real API: join token, SVID, mandate. */
async function grant(server: RunningServer, mandate: Record<string, unknown> = { purpose: 'benchmark', tools: [READ_SRV] }): Promise<{ credential: string; taskId: string }> {
  const granted = await post(server.url, '/v1/tasks', { ttlSeconds: 3600, ...mandate }, await svidOf(server));
  return { credential: granted.credential as string, taskId: granted.task.id as string };
}

async function benchInProcess(server: RunningServer, credential: string, metrics: Metrics): Promise<void> {
  const { decide, floor, unmonitored, bare, totalUs } = await measureDecide(server, { credential, tool: 'files.read', args: { path: '/srv/reports/q3.csv' } }, true);
  metrics['decide.inproc.p50_us'] = { value: round(decide.p50), unit: 'us' };
  metrics['decide.inproc.p99_us'] = { value: round(decide.p99), unit: 'us' };
  metrics['decide.inproc.no_telemetry_p50_us'] = { value: round(bare.p50), unit: 'us', note: 'the same kernel without metrics (and traces)' };
  metrics['decide.inproc.no_telemetry_p99_us'] = { value: round(bare.p99), unit: 'us' };
  metrics['decide.telemetry_p99_ratio'] = { value: round(decide.p99 / bare.p99, 3), unit: 'ratio', note: 'p99 with metrics on / off, alternating blocks' };
  metrics['decide.inproc.ops_per_s'] = { value: Math.round((INPROC_CALLS / totalUs) * 1e6), unit: 'ops/s' };
  metrics['cedar.floor.p50_us'] = { value: round(floor.p50), unit: 'us' };
  metrics['decide.overhead_ratio'] = { value: round(decide.p50 / floor.p50, 3), unit: 'ratio' };
  metrics['monitor.added_p50_us'] = { value: round(decide.p50 - unmonitored.p50), unit: 'us' };
}

/** An SVID for `agent` over the real API. */
async function svidFor(server: RunningServer, agent: string): Promise<string> {
  const { token } = await post(server.url, `/v1/agents/${agent}/join-tokens`, {}, ADMIN);
  return (await post(server.url, '/v1/attest/join-token', { token })).svid as string;
}

/**
 * A task three delegations deep (report-bot → billing-bot → report-bot →
 * billing-bot, by token exchange), decided beside a root task in alternating
 * blocks: what a chain costs a decision. The delegated credential works only
 * beside its actor's SVID, so each call also proves the holder.
 */
async function benchDelegated(server: RunningServer, rootCredential: string, metrics: Metrics): Promise<void> {
  const svids = { 'report-bot': await svidFor(server, 'report-bot'), 'billing-bot': await svidFor(server, 'billing-bot') };
  let held = rootCredential;
  let holder: keyof typeof svids = 'report-bot';
  for (const actor of ['billing-bot', 'report-bot', 'billing-bot'] as const) {
    const res = await fetch(`${server.url}/v1/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(held === rootCredential ? {} : { 'mandate-svid': svids[holder] }) },
      body: JSON.stringify({ grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange', subject_token: held, subject_token_type: 'urn:ietf:params:oauth:token-type:jwt', audience: `spiffe://${server.plane.config.trustDomain}/agent/${actor}`, mandate: { purpose: 'benchmark: a delegated step', tools: [READ_SRV] } }),
    });
    const body = (await res.json()) as { access_token?: string };
    if (!body.access_token) throw new Error(`delegating to ${actor}: ${JSON.stringify(body)}`);
    held = body.access_token;
    holder = actor;
  }
  const args = { path: '/srv/reports/q3.csv' };
  const root = { credential: rootCredential, tool: 'files.read', args };
  const deep = { credential: held, tool: 'files.read', args, presented: { svid: svids[holder], method: 'POST', url: `${server.url}/v1/decide` } };
  for (const req of [root, deep]) {
    const d = await server.plane.decide(req);
    if (d.outcome !== 'allow') throw new Error(`benchmark decision is not an allow: ${d.reason.code}`);
    for (let i = 0; i < 500; i++) await server.plane.decide(req);
  }
  const rootUs: number[] = [];
  const deepUs: number[] = [];
  const BLOCK = 250;
  for (let done = 0; done < INPROC_CALLS; done += BLOCK) {
    for (const [req, into] of [[root, rootUs], [deep, deepUs]] as const) {
      for (let i = 0; i < BLOCK; i++) {
        const t0 = hr();
        await server.plane.decide(req);
        into.push(hr() - t0);
      }
    }
  }
  const r = summarize(rootUs);
  const d = summarize(deepUs);
  metrics['decide.inproc.delegated_depth3_p50_us'] = { value: round(d.p50), unit: 'us', note: `root task ${round(r.p50)} µs in the same run` };
  metrics['decide.delegated_depth3_ratio'] = { value: round(d.p50 / r.p50, 3), unit: 'ratio', note: 'p50 of a depth-3 delegated task / a root task, alternating blocks' };
}

/**
 * Argument provenance at its heaviest: a task that has read 1 MB of results
 * naming thousands of addresses, IBANs and hosts, deciding a send whose recipient
 * is among them. Also how fast results are scanned, beside JSON.parse of the
 * same bytes as a floor.
 */
async function benchProvenance(server: RunningServer, metrics: Metrics): Promise<void> {
  const text = syntheticInbox(1024 * 1024);
  const mb = Buffer.byteLength(text) / (1024 * 1024);
  const json = JSON.stringify({ messages: text.split('\n\n') });
  const scanMs: number[] = [];
  const parseMs: number[] = [];
  for (let i = 0; i < 5; i++) {
    let t0 = hr();
    // Uncapped: the figure is the scanning rate, not how soon the per-result cap stops it.
    extractKeys(text, { maxChars: 64 * 1024 * 1024, maxValues: 10_000_000 });
    scanMs.push((hr() - t0) / 1000);
    t0 = hr();
    JSON.parse(json);
    parseMs.push((hr() - t0) / 1000);
  }
  metrics['provenance.extract_mb_per_s'] = { value: round(mb / (summarize(scanMs).p50 / 1000)), unit: 'MB/s' };
  metrics['provenance.json_parse_mb_per_s'] = { value: round(mb / (summarize(parseMs).p50 / 1000)), unit: 'MB/s' };

  const granted = await grant(server, { purpose: 'benchmark: reply after reading a large inbox', tools: [READ_SRV, 'email.send'] });
  // 1 MB read in four results, as a task reading a busy inbox would.
  const quarter = text.length / 4;
  for (let i = 0; i < 4; i++) {
    const res = await fetch(`${server.url}/v1/tasks/${granted.taskId}/results`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${granted.credential}` },
      body: JSON.stringify({ tool: 'files.read', args: { path: '/srv/inbox' }, status: 'ok', content: text.slice(i * quarter, (i + 1) * quarter) }),
    });
    if (res.status !== 202) throw new Error(`reporting the inbox: ${res.status} ${await res.text()}`);
  }
  // Without the floor: only the two figures below are reported.
  const { decide, unmonitored } = await measureDecide(server, { credential: granted.credential, tool: 'email.send', args: { to: 'person1234@corp1234.example', subject: 're' } }, false, (d) => d.targets[0]?.provenance === 'trusted');
  metrics['provenance.decide_p50_us'] = { value: round(decide.p50), unit: 'us' };
  metrics['provenance.monitor_added_p50_us'] = { value: round(decide.p50 - unmonitored.p50), unit: 'us' };
}

/** About `bytes` of e-mail-like text, each message naming a different person, company, IBAN-like number and link. */
function syntheticInbox(bytes: number): string {
  const parts: string[] = [];
  let size = 0;
  for (let i = 0; size < bytes; i++) {
    const m = `From: person${i}@corp${i}.example\nSubject: order ${i}\n\nHello, please see https://portal${i % 97}.example/orders/${i}?ref=mail and call +44 20 7946 ${String(i % 10000).padStart(4, '0')}. Ref ORD-${i}-X. Regards, Person ${i}`;
    parts.push(m);
    size += m.length + 2;
  }
  return parts.join('\n\n');
}

/**
 * In-process decisions of one call, beside the same pipeline with a monitor that does
 * nothing and, with `floor`, the bare Cedar call it builds, in alternating blocks.
 */
async function measureDecide(server: RunningServer, req: { credential: string; tool: string; args: Record<string, unknown> }, floor: boolean, expected: (d: Decision) => boolean = () => true) {
  const plane = server.plane;
  // Capture exactly the Cedar request the pipeline builds, for the floor measurement.
  let captured: CedarRequest | undefined;
  const build = plane.decisionPorts.buildCedarRequest;
  plane.decisionPorts.buildCedarRequest = (facts) => (captured = build(facts));
  const first = await plane.decide(req);
  if (first.outcome !== 'allow' || !expected(first)) throw new Error(`benchmark decision is not the expected allow: ${first.reason.code} ${JSON.stringify(first.targets)}`);
  plane.decisionPorts.buildCedarRequest = build;
  for (let i = 0; i < 500; i++) await plane.decide(req); // warm: verified-token cache, task cache, JIT

  const decideUs: number[] = [];
  const floorUs: number[] = [];
  const unmonitoredUs: number[] = [];
  const bareUs: number[] = [];
  // The kernel without the server's telemetry around it: on minus off is what metrics cost a decision.
  const bare = kernelOver(plane.decisionPorts);
  // The same pipeline with a monitor that does nothing: on minus off is what the monitor costs.
  const monitor = plane.decisionPorts.monitor;
  const quiet = { state: async () => freshBehaviour(), observe: async () => freshBehaviour(), observeResult: async () => undefined, observeValues: async () => undefined, score: () => 0 };
  // Alternating blocks: both see the same machine state, without thrashing each other's caches call by call.
  const BLOCK = 250;
  for (let done = 0; done < INPROC_CALLS; done += BLOCK) {
    for (let i = 0; i < BLOCK; i++) {
      const t0 = hr();
      await plane.decide(req);
      decideUs.push(hr() - t0);
    }
    for (let i = 0; floor && i < BLOCK; i++) {
      const t0 = hr();
      plane.policy.rawAuthorize(captured!);
      floorUs.push(hr() - t0);
    }
    for (let i = 0; floor && i < BLOCK; i++) {
      const t0 = hr();
      await bare.decideRequest(req);
      bareUs.push(hr() - t0);
    }
    plane.decisionPorts.monitor = quiet;
    for (let i = 0; i < BLOCK; i++) {
      const t0 = hr();
      await plane.decide(req);
      unmonitoredUs.push(hr() - t0);
    }
    plane.decisionPorts.monitor = monitor;
  }
  return { decide: summarize(decideUs), floor: summarize(floorUs), unmonitored: summarize(unmonitoredUs), bare: summarize(bareUs), totalUs: decideUs.reduce((a, b) => a + b, 0) };
}

/**
 * Decide cost as what a decision reads grows, in alternating blocks: a task that has
 * read 1,000 labels against one that has read 10, and 1,000 policies (the examples
 * plus per-tool forbids) against the examples alone (a second server in this process).
 */
async function benchScale(server: RunningServer, metrics: Metrics): Promise<void> {
  const plane = server.plane;
  const labels = (n: number) => Array.from({ length: n }, (_, i) => `label-${i}`);
  const [few, many] = [await grant(server), await grant(server)];
  await plane.monitor.observeResult(await plane.tasks.get(few.taskId), labels(10), 0);
  await plane.monitor.observeResult(await plane.tasks.get(many.taskId), labels(1000), 0);
  const call = (credential: string) => () => plane.decide({ credential, tool: 'files.read', args: { path: '/srv/reports/q3.csv' } });
  const [ten, thousand] = await alternating([call(few.credential), call(many.credential)]);
  metrics['decide.scale.labels_1000_ratio'] = { value: round(thousand.p50 / ten.p50, 2), unit: 'ratio', note: `p50 ${round(ten.p50)} µs with 10 labels, ${round(thousand.p50)} µs with 1,000` };

  const policyDir = mkdtempSync(join(tmpdir(), 'mandate-bench-policies-'));
  const examples = join(ROOT, 'examples', 'policies');
  for (const f of readdirSync(examples).filter((f) => f.endsWith('.cedar'))) copyFileSync(join(examples, f), join(policyDir, f));
  const have = readdirSync(policyDir).reduce((n, f) => n + (readFileSync(join(policyDir, f), 'utf8').match(/^@id\(/gm)?.length ?? 0), 0);
  const generated = Array.from({ length: 1000 - have }, (_, i) => `@id("tool-${i}")\nforbid (principal, action in Action::"call_tool", resource == Tool::"generated.tool-${i}")\nwhen { context.task.labels.contains("blocked-${i}") };`);
  writeFileSync(join(policyDir, 'generated.cedar'), `${generated.join('\n\n')}\n`);
  const setup = await startBenchServer(ROOT, ADMIN, (config) => void (config.policy.dir = policyDir));
  const big = setup.server;
  try {
    if (big.plane.policy.loaded?.policies.length !== 1000) throw new Error(`expected 1,000 policies, loaded ${big.plane.policy.loaded?.policies.length}`);
    const onBig = await grant(big);
    const bigCall = () => big.plane.decide({ credential: onBig.credential, tool: 'files.read', args: { path: '/srv/reports/q3.csv' } });
    const [examplesOnly, thousandPolicies] = await alternating([call(few.credential), bigCall]);
    metrics['decide.scale.policies_1000_ratio'] = { value: round(thousandPolicies.p50 / examplesOnly.p50, 2), unit: 'ratio', note: `p50 ${round(examplesOnly.p50)} µs with ${have} policies, ${round(thousandPolicies.p50)} µs with 1,000` };
  } finally {
    await setup.close();
    rmSync(policyDir, { recursive: true, force: true });
  }
}

/** Live tasks for `decide.scale.tasks_100k_*` (`BENCH_SCALE_TASKS`). */
const SCALE_TASKS = Number(process.env.BENCH_SCALE_TASKS ?? 10_000);
/** Grants in flight at once while live tasks are set up (not measured). */
const SETUP_IN_FLIGHT = 64;
/** The last grants on the way to `SCALE_TASKS`, made one at a time and timed: `grant.inproc_per_s`. */
const SEQUENTIAL_GRANTS = 1000;
/** Decisions measured with 1,000 live tasks and with `SCALE_TASKS`, in alternating blocks of 250. */
const SCALE_DECISIONS = 5000;

interface TaskScale {
  /** Starts the servers and grants the live tasks (all but the last 1,000 of `BENCH_SCALE_TASKS`), each decided once: set-up, not measured, so it may share the machine. */
  seed(): Promise<void>;
  /** After `seed()`: the last grants, one at a time (timed), then the measurement. Alone on the machine. */
  finish(metrics: Metrics): Promise<void>;
  close(): Promise<void>;
}

/**
 * Decide p50 and p99 with 1,000 live tasks and with `BENCH_SCALE_TASKS`, each on a
 * server of its own in a process of its own (bench/fleet.ts), decided in process
 * there, in alternating blocks of 250 decisions (20 each, after a warm-up of 5,000
 * each), one at a time, on tasks drawn at random from all the server's live tasks,
 * every one of them decided once before. Grants go through the control plane in
 * process: `seed()` starts both and grants the 1,000 and all but the last 1,000 of
 * the rest, 64 in flight, deciding each once as it comes; `finish()` grants those
 * 1,000 one at a time (`grant.inproc_per_s`), decides each once, and measures.
 */
function taskScale(): TaskScale {
  const total = SCALE_TASKS;
  if (!(total >= 1000)) throw new Error(`BENCH_SCALE_TASKS must be at least 1,000, not ${process.env.BENCH_SCALE_TASKS}`);
  const sequential = Math.min(SEQUENTIAL_GRANTS, total - 1000);
  const fleets: FleetProcess[] = [];
  return {
    close: async () => void (await Promise.all(fleets.map((f) => f.close()))),
    seed: async () => {
      const started = await Promise.allSettled([FleetProcess.start(), FleetProcess.start()]);
      for (const s of started) if (s.status === 'fulfilled') fleets.push(s.value);
      for (const s of started) if (s.status === 'rejected') throw s.reason;
      const [few, many] = fleets as [FleetProcess, FleetProcess];
      const seconds = await Promise.all([few.request({ op: 'grant', upTo: 1000, width: SETUP_IN_FLIGHT, warm: true }), many.request({ op: 'grant', upTo: total - sequential, width: SETUP_IN_FLIGHT, warm: true })]);
      log(`  1,000 and ${(total - sequential).toLocaleString('en-US')} live tasks granted and decided once, ${SETUP_IN_FLIGHT} in flight, in ${seconds.map((s) => s.toFixed(1)).join(' and ')} s`);
    },
    finish: async (metrics) => {
      const [few, many] = fleets as [FleetProcess, FleetProcess];
      const from = await many.request({ op: 'count' });
      const grantS = await many.request({ op: 'grant', upTo: total, width: 1, warm: false });
      await many.request({ op: 'warm', from });
      // Warm-up, as many as are measured: the JIT, the caches, and a heap grown back to its working size in a fleet that
      // sat idle once its tasks were granted.
      for (const fleet of fleets) await fleet.request({ op: 'draw', count: SCALE_DECISIONS });
      const us = fleets.map(() => [] as number[]);
      for (let round = 0; round < SCALE_DECISIONS / 250; round++) {
        // Who goes first alternates too.
        for (const k of round % 2 === 0 ? [0, 1] : [1, 0]) us[k]!.push(...(await fleets[k]!.request({ op: 'draw', count: 250 })));
      }
      const [small, large] = us.map((u) => summarize(u)) as [ReturnType<typeof summarize>, ReturnType<typeof summarize>];
      metrics['decide.scale.tasks_100k_p99_ratio'] = { value: round(large.p99 / small.p99, 2), unit: 'ratio', note: `p50/p99 ${round(small.p50)}/${round(small.p99)} µs with 1,000 live tasks, ${round(large.p50)}/${round(large.p99)} µs with ${total}` };
      metrics['decide.scale.tasks_100k_p50_ratio'] = { value: round(large.p50 / small.p50, 2), unit: 'ratio' };
      metrics['decide.scale.tasks_live'] = { value: total, unit: 'tasks' };
      if (sequential > 0) metrics['grant.inproc_per_s'] = { value: Math.round(sequential / grantS), unit: 'grants/s', note: `one at a time, from ${total - sequential} to ${total} live tasks` };
    },
  };
}

/** Runs each call in turn in blocks of 250, 8 rounds, after a warm-up; every answer must be an allow. */
async function alternating(calls: [() => Promise<Decision>, () => Promise<Decision>]): Promise<[{ p50: number; p99: number }, { p50: number; p99: number }]> {
  for (const c of calls) for (let i = 0; i < 300; i++) if ((await c()).outcome !== 'allow') throw new Error('benchmark decision is not an allow');
  const samples = calls.map(() => [] as number[]);
  for (let round = 0; round < 8; round++) {
    for (const [n, c] of calls.entries()) {
      for (let i = 0; i < 250; i++) {
        const t0 = hr();
        await c();
        samples[n]!.push(hr() - t0);
        if (i % 100 === 0) await new Promise((r) => setImmediate(r));
      }
    }
  }
  return [summarize(samples[0]!), summarize(samples[1]!)];
}

async function benchHttp(server: RunningServer, credential: string, metrics: Metrics): Promise<void> {
  const request: LoadRequest = {
    url: `${server.url}/v1/decide`,
    body: JSON.stringify({ credential, tool: 'files.read', args: { path: '/srv/reports/q3.csv' } }),
    ratePerSecond: HTTP_RATE,
    seconds: HTTP_SECONDS,
    warmup: 500,
    expect: '"outcome":"allow"',
  };
  const result = await runInChild<LoadRequest, LoadResult>(new URL('./http-load.js', import.meta.url), request);
  const { latenciesMs, ok, total } = result;
  if (ok !== total) throw new Error(`only ${ok} of ${total} HTTP decisions were allows`);
  const s = summarize(latenciesMs);
  metrics['decide.http.p50_ms'] = { value: round(s.p50, 3), unit: 'ms' };
  metrics['decide.http.p99_ms'] = { value: round(s.p99, 3), unit: 'ms' };
}

/** Heap per live task, measured in a child process that can force garbage collection. */
async function benchMemory(metrics: Metrics): Promise<void> {
  const request: MemoryRequest = { root: ROOT, adminToken: ADMIN, tasks: MEMORY_TASKS, decisionsPerTask: 3 };
  const result = await runInChild<MemoryRequest, MemoryResult>(new URL('./memory.js', import.meta.url), request, ['--expose-gc']);
  metrics['memory.per_task_kb'] = { value: round(result.perTaskKb, 2), unit: 'KB' };
  process.stderr.write(`  heap ${round(result.heapBeforeMb)} MB → ${round(result.heapAfterMb)} MB for ${MEMORY_TASKS} tasks; held: ${JSON.stringify(result.held)}\n`);
}

function round(v: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

const TARGETS: Record<string, [string, (v: number) => boolean]> = {
  'decide.inproc.p50_us': ['<= 50', (v) => v <= 50],
  'decide.inproc.p99_us': ['<= 200', (v) => v <= 200],
  'decide.overhead_ratio': ['<= 1.5', (v) => v <= 1.5],
  'decide.telemetry_p99_ratio': ['<= 1.1', (v) => v <= 1.1],
  'decide.http.p99_ms': ['<= 3', (v) => v <= 3],
  'gateway.mcp.added_p50_ms': ['<= 1', (v) => v <= 1],
  'gateway.mcp.added_p99_ms': ['<= 5', (v) => v <= 5],
  'gateway.mcp.stream_first_byte_added_ms': ['<= 1', (v) => v <= 1],
  'audit.append_per_s.sqlite': ['>= 50000', (v) => v >= 50_000],
  'audit.append_per_s.postgres': ['>= 50000', (v) => v >= 50_000],
  'audit.verify_per_s': ['>= 200000', (v) => v >= 200_000],
  'dpop.verify_p50_us': ['<= 80', (v) => v <= 80],
  'decide.delegated_depth3_ratio': ['<= 1.1', (v) => v <= 1.1],
  'gateway.txn_token_mint_us': ['<= 50', (v) => v <= 50],
  'gateway.http.added_p50_ms': ['<= 1', (v) => v <= 1],
  'gateway.http.added_p99_ms': ['<= 5', (v) => v <= 5],
  'revocation.propagation_p99_ms': ['<= 100', (v) => v <= 100],
  'monitor.added_p50_us': ['<= 20', (v) => v <= 20],
  'reliability.outage_answer_p99_ms': ['<= 300', (v) => v <= 300],
  'reliability.recovery_ms': ['<= 1000', (v) => v <= 1000],
  'memory.per_task_kb': ['<= 4', (v) => v <= 4],
  'decide.scale.labels_1000_ratio': ['<= 1.5', (v) => v <= 1.5],
  'decide.scale.policies_1000_ratio': ['<= 1.5', (v) => v <= 1.5],
  'decide.scale.tasks_100k_p99_ratio': ['<= 1.5', (v) => v <= 1.5],
  'provenance.monitor_added_p50_us': ['<= 20', (v) => v <= 20],
  'efficacy.attacks_stopped_pct': ['>= 99', (v) => v >= 99],
  'efficacy.attacks_denied_pct': ['>= 99', (v) => v >= 99],
  'efficacy.utility_no_stepup_pct': ['>= 90', (v) => v >= 90],
  'efficacy.utility_under_attack_pct': ['>= 95', (v) => v >= 95],
};

const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

/** CPU seconds (user + system) of this process and of its children that have ended, from /proc (0 where there is none). */
function cpuSpent(): number {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / CLK_TCK;
  } catch {
    return 0;
  }
}

/** Runs one part of the benchmark, saying on stderr what it is, how long it took and the CPU time it and its processes used. */
async function part<T>(what: string, run: () => Promise<T>): Promise<T> {
  log(`${what}…`);
  const t0 = hr();
  const cpu0 = cpuSpent();
  try {
    return await run();
  } finally {
    log(`  (${what}: ${((hr() - t0) / 1e6).toFixed(1)} s, ${(cpuSpent() - cpu0).toFixed(1)} CPU-s, load ${loadavg()[0]!.toFixed(1)})`);
  }
}

/** Runs `runs` at once; once all have settled, fails with the first failure. */
async function together(runs: Promise<unknown>[]): Promise<void> {
  const failed = (await Promise.allSettled(runs)).find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
}

/** Work done while the live tasks are set up: figures that do not depend on timing, or set-up of later parts that nothing times. */
interface Alongside {
  what: string;
  run(): Promise<void>;
}

/**
 * The live-task scale: its live tasks set up with `alongside` at the same time,
 * then its measurement. Everything timed runs alone.
 */
async function benchTaskScale(metrics: Metrics, alongside: Alongside[] = []): Promise<void> {
  const also = alongside.map((o) => o.what).join(', ');
  const tasks = SCALE_TASKS.toLocaleString('en-US');
  const scale = taskScale();
  try {
    const t0 = hr();
    const timed = async (what: string, run: () => Promise<void>) => {
      await run();
      log(`  (${what}: done after ${((hr() - t0) / 1e6).toFixed(1)} s)`);
    };
    await part(`setting up 1,000 and ${tasks} live tasks${also ? `; meanwhile ${also}` : ''}`, () => together([timed('live tasks', () => scale.seed()), ...alongside.map((o) => timed(o.what, () => o.run()))]));
    await part(`decide with 1,000 and ${tasks} live tasks`, () => scale.finish(metrics));
  } finally {
    await scale.close();
  }
}

/**
 * Everything: Mandate's own benchmarks and the peers. The parts that time
 * something run one at a time; while the live tasks for the task scale are set up,
 * the efficacy and memory benchmarks run (their figures do not depend on timing)
 * and the two replicas of the revocation benchmark start.
 * `metrics` is filled in the order of the printed table.
 */
async function benchAll(metrics: Metrics): Promise<void> {
  const m = { core: {}, http: {}, tasks: {}, gatewayMcp: {}, gatewayHttp: {}, revocation: {}, outage: {}, memory: {}, efficacy: {}, peers: {}, audit: {}, dpop: {}, txn: {} } satisfies Record<string, Metrics>;
  try {
    const setup = await startBenchServer(ROOT, ADMIN, () => undefined);
    const server = setup.server;
    try {
      const { credential } = await grant(server);
      await part('decide in process', () => benchInProcess(server, credential, m.core));
      await part('decide for a task three delegations deep', () => benchDelegated(server, credential, m.core));
      await part('decide as labels and policies grow', () => benchScale(server, m.core));
      await part('argument provenance after a 1 MB read', () => benchProvenance(server, m.core));
      if (ONLY === 'core') return;
      await part('decide over HTTP', () => benchHttp(server, credential, m.http));
    } finally {
      await setup.close();
    }
    let revocation: RevocationBench | undefined;
    try {
      await benchTaskScale(m.tasks, [
        { what: 'the efficacy corpus', run: async () => void (await benchEfficacy(m.efficacy, log)) },
        { what: `memory per live task (${MEMORY_TASKS} tasks)`, run: () => benchMemory(m.memory) },
        { what: 'starting the replicas for the revocation benchmark', run: async () => void (revocation = await startRevocation(ROOT, ADMIN, m.revocation)) },
      ]);
      if (revocation) await part('revocation across replicas', () => revocation!.run(m.revocation));
    } finally {
      await revocation?.stop();
    }
    await part('side by side with Cerbos and mcp-proxy', () => benchPeers(ROOT, ADMIN, m.peers, log));
    await part('MCP gateway', () => benchGatewayMcp(ROOT, ADMIN, m.gatewayMcp));
    await part('HTTP API gateway', () => benchGatewayHttp(ROOT, ADMIN, m.gatewayHttp));
    await part('store outage on PostgreSQL', () => benchReliability(ROOT, ADMIN, m.outage));
    await part('audit trail', () => benchAudit(m.audit, process.env.MANDATE_TEST_POSTGRES_URL, log));
    await part('DPoP proofs', () => benchDpop(m.dpop));
    await part('transaction tokens', () => benchTxnToken(m.txn));
  } finally {
    for (const section of Object.values(m)) Object.assign(metrics, section);
  }
}

async function main(): Promise<void> {
  const metrics: Metrics = {};
  const started = hr();
  if (ONLY === 'tasks') await benchTaskScale(metrics);
  else if (ONLY === 'peers') await part('side by side with Cerbos and mcp-proxy', () => benchPeers(ROOT, ADMIN, metrics, log));
  else if (ONLY === 'mcp') await part('MCP gateway', () => benchGatewayMcp(ROOT, ADMIN, metrics));
  else if (ONLY === 'audit') await part('audit trail', () => benchAudit(metrics, process.env.MANDATE_TEST_POSTGRES_URL, log));
  else if (ONLY === 'dpop') await part('DPoP proofs', () => benchDpop(metrics));
  else if (ONLY === 'txn') await part('transaction tokens', () => benchTxnToken(metrics));
  else await benchAll(metrics);
  log(`(all: ${((hr() - started) / 1e6).toFixed(1)} s)`);
  const previous = existsSync(RESULTS) ? (JSON.parse(readFileSync(RESULTS, 'utf8')) as { metrics?: Metrics }).metrics ?? {} : {};
  writeFileSync(RESULTS, `${JSON.stringify({ metrics: { ...previous, ...metrics } }, null, 2)}\n`);
  const rows = Object.entries(metrics).map(([name, m]) => {
    const target = TARGETS[name];
    return `${name.padEnd(40)} ${String(m.value).padStart(10)} ${m.unit.padEnd(6)} ${target ? `${target[0].padEnd(8)} ${target[1](m.value) ? 'met' : 'MISSED'}` : ''}`;
  });
  const own = `in-process: ${INPROC_CALLS} sequential decisions on the example policies, SQLite store; HTTP: ${HTTP_RATE}/s for ${HTTP_SECONDS} s; live tasks: 1,000 beside ${SCALE_TASKS.toLocaleString('en-US')}, alternating blocks; MCP and HTTP gateways: 500 calls/s each, interleaved direct/via; memory: ${MEMORY_TASKS} live tasks decided 3 times each; `;
  process.stdout.write(`${'metric'.padEnd(40)} ${'value'.padStart(10)} unit   target\n${rows.join('\n')}\n(${ONLY === 'peers' ? '' : own}peers: alternating blocks, each listed above with the machine's load)\nwrote ${RESULTS}\n`);
}

await main();
