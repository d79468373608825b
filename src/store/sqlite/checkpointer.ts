import { Worker } from 'node:worker_threads';
import type SQLite from 'better-sqlite3';

/**
 * WAL checkpoints off the event loop.
 *
 * A checkpoint copies the WAL into the database, fsyncing the WAL first and the
 * database last. With `synchronous = NORMAL` nothing else fsyncs the WAL, so a
 * checkpoint flushes everything written since the previous one. Left to SQLite,
 * it runs inside the commit that crosses `wal_autocheckpoint`, synchronously on
 * the event loop: at 500 decisions/s the 64 MB between two checkpoints took
 * 80–160 ms to flush, and every call in flight waited, every five to six seconds.
 *
 * Here a worker thread checkpoints every `intervalMs`, PASSIVE: it never blocks
 * the writer and the writer never waits on it. But a checkpoint cannot catch up
 * with a writer that keeps committing, and the WAL only starts over from its
 * beginning once all of it has been copied. So once the WAL has grown to
 * `restartFrames`, the worker asks the writer to checkpoint just after one of its
 * own runs. The writer then copies only the frames of the last few tens of
 * milliseconds, and flushes them and the database pages the worker copied since
 * the WAL last started over (SQLite fsyncs the database only at the end of a
 * checkpoint that caught up): 5–10 ms on the project's machine, once per
 * `restartFrames`. Its next commit starts the WAL over. `wal_autocheckpoint`
 * stays the bound should the worker fall behind.
 *
 * Without a writer (the workers of one `mandate serve` each write the file, and
 * none can be asked between two of its own transactions), the thread finishes
 * the job itself with a RESTART checkpoint: it takes the write lock, so the
 * workers' commits wait the 5–10 ms it takes, and the next commit starts the WAL over.
 */
export interface Checkpointer {
  /** Stops the worker and closes its connection (before the writer closes, so that the writer's close removes the WAL). */
  close(): Promise<void>;
}

export interface CheckpointerOptions {
  intervalMs: number;
  restartFrames: number;
}

export function startCheckpointer(writer: SQLite.Database | undefined, file: string, { intervalMs, restartFrames }: CheckpointerOptions): Checkpointer {
  const worker = new Worker(new URL('./checkpoint-worker.js', import.meta.url), { workerData: { file, intervalMs, restartFrames, finishHere: writer === undefined } });
  worker.on('message', () => {
    if (!writer) return;
    // Never inside a transaction open on the writer (a Kysely transaction stays open across awaits): the worker asks again.
    if (!writer.open || writer.inTransaction) return;
    try {
      writer.pragma('wal_checkpoint(PASSIVE)');
    } catch {
      // Busy: the worker asks again.
    }
  });
  // A worker that fails leaves checkpoints to the writer's wal_autocheckpoint: slower, never wrong.
  worker.on('error', () => undefined);
  // Never what keeps the process alive while it runs.
  worker.unref();
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  return {
    close: async () => {
      // Held until it has exited: the writer must not close first.
      worker.ref();
      worker.postMessage('close');
      await exited;
    },
  };
}
