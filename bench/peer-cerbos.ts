import { createRequire } from 'node:module';
import { join } from 'node:path';
import { runInChild } from './child.js';
import type { Block, BlockResult, PeerLoadRequest } from './peer-load.js';
import { describeBlock, freePorts, pinning, spawnServer, startBoth, startMandate, stopChild, totals, waitForHttp, type PeerSide, type ServerProcess } from './peer-process.js';
import { summarize, type Metrics } from './stats.js';

const SECONDS = Number(process.env.BENCH_PEER_SECONDS ?? 1);
const ROUNDS = Number(process.env.BENCH_PEER_ROUNDS ?? 3);
/** Short: a server that cannot keep up takes as long again to drain what was sent. */
const OPEN_SECONDS = 2;
/** Enough calls in flight to keep either server busy while one answers. */
const CONCURRENCY = Number(process.env.BENCH_PEER_CONCURRENCY ?? 32);
const OPEN_RATE = 2000;

const READ = { tool: 'files.read', args: { path: '/srv/reports/q3.csv' } };

/** The Cerbos request for the same decision: the agent as principal, the tool as resource, its argument as attribute. */
function cerbosCheck(path: string): string {
  return JSON.stringify({
    principal: { id: 'report-bot', roles: ['agent'], attr: { groups: ['agents'] } },
    resources: [{ resource: { kind: 'tool', id: 'files.read', attr: { path, kind: 'read', risk: 'low' } }, actions: ['files.read'] }],
  });
}

/**
 * The decision API beside Cerbos, each in its own process on the same core,
 * deciding the same allow over HTTP on 127.0.0.1 from one load generator, in
 * alternating blocks: throughput at saturation (closed loop), decisions per
 * second of the server's CPU time, and p99 at a fixed 2,000 requests/s. Starts
 * both servers (at once); `run` measures. Undefined (and the metrics say skipped)
 * where there is no Cerbos binary.
 */
export async function startCerbosSide(root: string, adminToken: string, metrics: Metrics, log: (line: string) => void): Promise<PeerSide | undefined> {
  let binary: string;
  try {
    binary = createRequire(import.meta.url).resolve('@cerbos/cerbos-linux-x64');
  } catch {
    log('Cerbos: skipped (@cerbos/cerbos-linux-x64 is not installed: it exists for Linux x64 only)');
    for (const name of ['peer.cerbos.max_rps', 'peer.cerbos.per_cpu_s']) metrics[name] = { value: Number.NaN, unit: '', note: 'skipped: no Cerbos binary' };
    return undefined;
  }
  const pin = pinning();
  const [mandate, cerbos] = await startBoth(startMandate(root, adminToken, (config) => delete config.upstreams, pin?.server), startCerbos(binary, join(root, 'bench', 'fixtures', 'cerbos'), pin?.server));
  return {
    run: (metrics) => benchCerbos(mandate, cerbos, pin, metrics, log),
    stop: async () => void (await Promise.all([cerbos.stop(), mandate.stop()])),
  };
}

async function benchCerbos(mandate: Awaited<ReturnType<typeof startMandate>>, cerbos: ServerProcess, pin: ReturnType<typeof pinning>, metrics: Metrics, log: (line: string) => void): Promise<void> {
  log(pin ? `  servers on core ${pin.server}, the load generator on core ${pin.client}` : '  not pinned to cores');
  const credential = await mandate.grant([{ name: 'files.read', args: { path: { prefix: '/srv/' } } }]);
  const decide = (args: unknown) => JSON.stringify({ credential, tool: READ.tool, args });
  // Both must decide as the benchmark says: allow under /srv/, deny elsewhere. Checked before any load.
  await expectAnswer(`${mandate.url}/v1/decide`, decide(READ.args), '"outcome":"allow"');
  await expectAnswer(`${mandate.url}/v1/decide`, decide({ path: '/etc/passwd' }), '"outcome":"deny"');
  await expectAnswer(`${cerbos.url}/api/check/resources`, cerbosCheck(READ.args.path), '"files.read":"EFFECT_ALLOW"');
  await expectAnswer(`${cerbos.url}/api/check/resources`, cerbosCheck('/etc/passwd'), '"files.read":"EFFECT_DENY"');

  const blocks: Block[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    // Who goes first alternates too, so neither always runs on the heels of the other.
    const order = r % 2 === 0 ? ['mandate', 'cerbos'] : ['cerbos', 'mandate'];
    for (const target of order) blocks.push({ target, mode: 'max', seconds: SECONDS });
  }
  for (const target of ['mandate', 'cerbos']) blocks.push({ target, mode: 'rate', rate: OPEN_RATE, seconds: OPEN_SECONDS });
  const results = await runInChild<PeerLoadRequest, BlockResult[]>(new URL('./peer-load.js', import.meta.url), {
    targets: {
      mandate: { target: { kind: 'http', url: `${mandate.url}/v1/decide`, body: decide(READ.args), expect: '"outcome":"allow"' }, pid: mandate.pid },
      cerbos: { target: { kind: 'http', url: `${cerbos.url}/api/check/resources`, body: cerbosCheck(READ.args.path), expect: '"files.read":"EFFECT_ALLOW"' }, pid: cerbos.pid },
    },
    blocks,
    concurrency: CONCURRENCY,
    warmup: 2000,
    cpu: pin?.client,
  });
  for (const b of results) log(describeBlock(b));

  const m = totals(results, 'mandate', 'max');
  const c = totals(results, 'cerbos', 'max');
  const mOpen = totals(results, 'mandate', 'rate');
  const cOpen = totals(results, 'cerbos', 'rate');
  for (const [name, t] of Object.entries({ mandate: m, cerbos: c, 'mandate at 2,000/s': mOpen, 'cerbos at 2,000/s': cOpen })) {
    if (t.errors > 0) throw new Error(`${name}: ${t.errors} of ${t.calls + t.errors} decisions were not the expected allow`);
  }
  const round = (v: number, digits = 0) => Math.round(v * 10 ** digits) / 10 ** digits;
  metrics['decide.http.max_rps'] = { value: round(m.perSecond), unit: 'req/s' };
  metrics['decide.http.per_cpu_s'] = { value: round(m.perCpuSecond), unit: 'req/CPU-s' };
  metrics['peer.cerbos.max_rps'] = { value: round(c.perSecond), unit: 'req/s' };
  metrics['peer.cerbos.per_cpu_s'] = { value: round(c.perCpuSecond), unit: 'req/CPU-s' };
  metrics['decide.http.vs_cerbos_ratio'] = { value: round(m.perSecond / c.perSecond, 3), unit: 'ratio' };
  metrics['decide.http.vs_cerbos_per_cpu_ratio'] = { value: round(m.perCpuSecond / c.perCpuSecond, 3), unit: 'ratio' };
  metrics['decide.http.p99_ms_at_2000'] = { value: round(summarize(mOpen.latenciesMs).p99, 3), unit: 'ms' };
  metrics['peer.cerbos.p99_ms_at_2000'] = { value: round(summarize(cOpen.latenciesMs).p99, 3), unit: 'ms' };
}

/** `cerbos server` with the benchmark's configuration and disk policy store (bench/fixtures/cerbos). */
async function startCerbos(binary: string, dir: string, cpu: number | undefined): Promise<ServerProcess> {
  const [httpPort, grpcPort] = await freePorts(2);
  const args = ['server', '--config=config.yaml', `--set=server.httpListenAddr=127.0.0.1:${httpPort}`, `--set=server.grpcListenAddr=127.0.0.1:${grpcPort}`, '--log-level=error'];
  const child = spawnServer(binary, args, { cpu, cwd: dir, env: { CERBOS_NO_TELEMETRY: '1' } });
  child.stdout!.resume();
  const url = `http://127.0.0.1:${httpPort}`;
  await waitForHttp(`${url}/_cerbos/health`, child);
  return { pid: child.pid!, url, stop: () => stopChild(child) };
}

async function expectAnswer(url: string, body: string, expect: string): Promise<void> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  const text = await res.text();
  if (res.status !== 200 || !text.includes(expect)) throw new Error(`${url} answered ${res.status} ${text.slice(0, 300)}, not ${expect}`);
}
