import cluster, { type Worker } from 'node:cluster';
import { availableParallelism } from 'node:os';
import { ConfigError } from '../core/index.js';
import { checkpointSharedFile, parseChange, type Change, type ChangeFeed } from '../store/index.js';
import type { Config } from './config.js';
import { startServer, type RunningServer } from './serve.js';
import { labelled, type Family, type Logger } from './telemetry/index.js';

/**
 * `mandate serve` on every core: a primary process forks `workers` processes
 * that each run the whole control plane and share the listening port (Node's
 * cluster hands out connections). Each worker is a replica in all but name:
 * it decides from the store, writes its own audit segment, and fails closed on
 * its own. On PostgreSQL they keep in step as replicas do (LISTEN/NOTIFY). On
 * an embedded store file the primary relays their changes (revocations, task
 * changes, policy versions, approvals, closed MCP sessions) to every worker and
 * answers the publisher once all have applied them, so a revocation answered
 * by one worker is in force on every worker; call counts are counted in the
 * file, and the primary runs the WAL checkpoints. A scrape of `/metrics`, which
 * lands on any one worker, is answered with every worker's metrics, each series
 * labelled with its `worker`: the primary gathers them.
 */

/** The environment variable that tells a worker its slot (1…n). */
export const WORKER_SLOT_VARIABLE = 'MANDATE_WORKER';

type ToPrimary =
  | { mandate: 'listening'; url: string; summary: string }
  | { mandate: 'change'; seq: number; change: Change }
  | { mandate: 'applied'; seq: number; from: number }
  | { mandate: 'scrape'; id: number }
  | { mandate: 'families'; id: string; families: Family[] };
type ToWorker =
  | { mandate: 'change'; seq: number; from: number; change: Change }
  | { mandate: 'published'; seq: number }
  | { mandate: 'stop' }
  | { mandate: 'collect'; id: string }
  | { mandate: 'scraped'; id: number; workers: { slot: number; families: Family[] }[] };

/** How long a publisher waits for the other workers to apply a change; past it the periodic catch-up read covers a slow one. */
const APPLY_WAIT_MS = 1000;
/** How long a scrape waits for the other workers' metrics; a worker slower than this is missing from that scrape. */
const COLLECT_WAIT_MS = 1000;

export function workerCount(config: Config): number {
  const n = config.server.workers ?? (config.store.url === ':memory:' ? 1 : availableParallelism());
  if (n > 1 && `${config.audit.segment}.${n}`.length > 64) throw new ConfigError(`audit.segment: too long for ${n} workers: \`<segment>.<n>\` must fit in 64 characters`);
  return n;
}

/** A worker's own audit segment, spool file and sink file: the first keeps the configured ones, so one worker writes what a single process wrote. */
export function workerConfig(config: Config, slot: number): Config {
  if (slot === 1) return config;
  const own = structuredClone(config) as { audit: { segment: string; spoolFile?: string; sink?: { file?: string } } } & Config;
  const slotted = (file: string) => file.replace(/(\.[^./]*)?$/, (ext) => `.${slot}${ext}`);
  own.audit.segment = `${config.audit.segment}.${slot}`;
  if (config.audit.spoolFile) own.audit.spoolFile = slotted(config.audit.spoolFile);
  // Two processes appending to one file could interleave a line; each worker's sink file holds its own segment.
  if (own.audit.sink?.file) own.audit.sink.file = slotted(own.audit.sink.file);
  return own;
}

export const isWorker = (): boolean => cluster.isWorker;

/** The store file several processes write, or undefined when the store is not an embedded file. */
function sharedFile(config: Config): string | undefined {
  return config.store.url.startsWith('file:') ? config.store.url.slice('file:'.length) : undefined;
}

/**
 * The primary: forks the first worker (it creates the store, keys and admin
 * token), then the others; relays changes; restarts a worker that dies after it
 * started; stops them all on SIGINT or SIGTERM. Resolves with the URL once all listen.
 */
export async function runPrimary(config: Config, n: number, log: Logger): Promise<{ url: string; summary: string }> {
  const file = sharedFile(config);
  const workers = new Map<number, Worker>();
  const pending = new Map<string, { from: number; waiting: Set<number>; timer: NodeJS.Timeout }>();
  const scrapes = new Map<string, { from: number; id: number; waiting: Set<number>; got: { slot: number; families: Family[] }[]; timer: NodeJS.Timeout }>();
  let stopping = false;
  let checkpoints: ReturnType<typeof checkpointSharedFile> | undefined;

  const finishPublish = (key: string) => {
    const p = pending.get(key);
    if (!p) return;
    pending.delete(key);
    clearTimeout(p.timer);
    send(workers.get(p.from), { mandate: 'published', seq: Number(key.split(':')[1]) });
  };
  const finishScrape = (key: string) => {
    const s = scrapes.get(key);
    if (!s) return;
    scrapes.delete(key);
    clearTimeout(s.timer);
    send(workers.get(s.from), { mandate: 'scraped', id: s.id, workers: s.got.sort((a, b) => a.slot - b.slot) });
  };
  const onMessage = (slot: number, m: ToPrimary) => {
    if (m?.mandate === 'change' && file) {
      const change = parseChange(m.change);
      if (!change) return;
      const key = `${slot}:${m.seq}`;
      const timer = setTimeout(() => finishPublish(key), APPLY_WAIT_MS);
      pending.set(key, { from: slot, waiting: new Set(workers.keys()), timer });
      for (const w of workers.values()) send(w, { mandate: 'change', seq: m.seq, from: slot, change });
    } else if (m?.mandate === 'applied') {
      const key = `${m.from}:${m.seq}`;
      const p = pending.get(key);
      p?.waiting.delete(slot);
      if (p && p.waiting.size === 0) finishPublish(key);
    } else if (m?.mandate === 'scrape') {
      const key = `${slot}:${m.id}`;
      scrapes.set(key, { from: slot, id: m.id, waiting: new Set(workers.keys()), got: [], timer: setTimeout(() => finishScrape(key), COLLECT_WAIT_MS) });
      for (const w of workers.values()) send(w, { mandate: 'collect', id: key });
    } else if (m?.mandate === 'families') {
      const s = scrapes.get(m.id);
      if (!s || !s.waiting.delete(slot)) return;
      s.got.push({ slot, families: m.families });
      if (s.waiting.size === 0) finishScrape(m.id);
    }
  };
  const fork = (slot: number): Promise<{ url: string; summary: string }> =>
    new Promise((resolve, reject) => {
      const worker = cluster.fork({ [WORKER_SLOT_VARIABLE]: String(slot) });
      workers.set(slot, worker);
      let listening = false;
      worker.on('message', (m: ToPrimary) => {
        if (m?.mandate === 'listening' && !listening) {
          listening = true;
          resolve({ url: m.url, summary: m.summary });
        } else onMessage(slot, m);
      });
      worker.once('exit', (code, signal) => {
        if (workers.get(slot) === worker) workers.delete(slot);
        // A change it was to apply is not waited for.
        for (const [key, p] of pending) if (p.waiting.delete(slot) && p.waiting.size === 0) finishPublish(key);
        for (const [key, s] of scrapes) if (s.waiting.delete(slot) && s.waiting.size === 0) finishScrape(key);
        if (!listening) return reject(new Error(`worker ${slot} exited with ${code ?? signal} before it listened`));
        if (stopping) return;
        log.warn(`mandate: worker ${slot} exited with ${code ?? signal}; starting it again`);
        void fork(slot).catch((err: Error) => log.error(`mandate: ${err.message}`));
      });
    });

  const stop = async () => {
    if (stopping) return;
    stopping = true;
    const exits = [...workers.values()].map((w) => new Promise<void>((resolve) => (w.isDead() ? resolve() : w.once('exit', () => resolve()))));
    for (const w of workers.values()) send(w, { mandate: 'stop' });
    const deadline = setTimeout(() => {
      for (const w of workers.values()) w.process.kill('SIGKILL');
    }, 10_000);
    await Promise.all(exits);
    clearTimeout(deadline);
    await checkpoints?.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop());
  process.once('SIGTERM', () => void stop());

  try {
    const first = await fork(1);
    if (file) checkpoints = checkpointSharedFile(file);
    await Promise.all(Array.from({ length: n - 1 }, (_, i) => fork(i + 2)));
    return first;
  } catch (err) {
    stopping = true;
    for (const w of workers.values()) w.process.kill('SIGTERM');
    await checkpoints?.close();
    throw err;
  }
}

/** A worker: the whole control plane on its slot's segment, started and stopped by the primary. */
export async function runWorker(config: Config, logger: Logger): Promise<RunningServer> {
  const slot = Number(process.env[WORKER_SLOT_VARIABLE]);
  if (!Number.isInteger(slot) || slot < 1) throw new ConfigError(`${WORKER_SLOT_VARIABLE} must be a worker slot, got \`${process.env[WORKER_SLOT_VARIABLE]}\``);
  let collect: () => Promise<Family[]> = async () => [];
  const scrape = ipcScrape(slot, () => collect());
  const server = await startServer(workerConfig(config, slot), {
    logger: logger.child({ worker: slot }),
    sharedStore: sharedFile(config) ? { changes: ipcChangeFeed() } : undefined,
    metricsOfWorkers: scrape,
  });
  collect = async () => (await server.plane.telemetry.metrics?.collect()) ?? [];
  let closing: Promise<void> | undefined;
  const stop = () => {
    closing ??= server.close().then(() => process.exit(0));
  };
  process.on('message', (m: ToWorker) => {
    if (m?.mandate === 'stop') stop();
  });
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return server;
}

/** Tells the primary the worker listens (after the start-up lines are written). */
export function reportListening(url: string, summary: string): void {
  process.send?.({ mandate: 'listening', url, summary } satisfies ToPrimary);
}

/**
 * Every worker's metrics, gathered by the primary, each series labelled with its
 * worker; this worker also answers the primary's requests with its own. Without
 * an answer in time, this worker's alone.
 */
function ipcScrape(slot: number, own: () => Promise<Family[]>): () => Promise<Family[]> {
  const waiting = new Map<number, (workers: { slot: number; families: Family[] }[]) => void>();
  let seq = 0;
  process.on('message', (m: ToWorker) => {
    if (m?.mandate === 'collect') {
      void own().then(
        (families) => process.send?.({ mandate: 'families', id: m.id, families } satisfies ToPrimary),
        () => undefined,
      );
    } else if (m?.mandate === 'scraped') {
      waiting.get(m.id)?.(m.workers);
      waiting.delete(m.id);
    }
  });
  return async () => {
    const id = ++seq;
    const workers = await new Promise<{ slot: number; families: Family[] }[] | undefined>((resolve) => {
      const timer = setTimeout(() => {
        waiting.delete(id);
        resolve(undefined);
      }, COLLECT_WAIT_MS * 2);
      waiting.set(id, (w) => {
        clearTimeout(timer);
        resolve(w);
      });
      process.send?.({ mandate: 'scrape', id } satisfies ToPrimary);
    });
    return labelled((workers ?? [{ slot, families: await own() }]).map((w) => ({ label: 'worker', value: String(w.slot), families: w.families })));
  };
}

/** Changes between the workers of one embedded store, relayed by the primary; `publish` resolves once every worker applied it (or after APPLY_WAIT_MS). */
function ipcChangeFeed(): ChangeFeed {
  const listeners: ((c: Change) => void)[] = [];
  const waiting = new Map<number, () => void>();
  let seq = 0;
  const onMessage = (m: ToWorker) => {
    if (m?.mandate === 'change') {
      const change = parseChange(m.change);
      if (change) for (const l of listeners) l(change);
      process.send?.({ mandate: 'applied', seq: m.seq, from: m.from } satisfies ToPrimary);
    } else if (m?.mandate === 'published') {
      waiting.get(m.seq)?.();
      waiting.delete(m.seq);
    }
  };
  process.on('message', onMessage);
  return {
    publish: (change) =>
      new Promise<void>((resolve, reject) => {
        const n = ++seq;
        waiting.set(n, resolve);
        process.send!({ mandate: 'change', seq: n, change } satisfies ToPrimary, undefined, undefined, (err) => {
          if (!err) return;
          waiting.delete(n);
          reject(err);
        });
      }),
    subscribe: (l) => void listeners.push(l),
    close: async () => {
      process.off('message', onMessage);
      listeners.splice(0);
      for (const resolve of waiting.values()) resolve();
      waiting.clear();
    },
  };
}

function send(worker: Worker | undefined, m: ToWorker): void {
  if (worker && worker.isConnected()) worker.send(m, undefined, () => undefined);
}
