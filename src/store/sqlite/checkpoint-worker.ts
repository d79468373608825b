import { parentPort, workerData } from 'node:worker_threads';
import SQLite from 'better-sqlite3';

/**
 * The embedded store's WAL checkpoints, on a thread of their own (see
 * checkpointer.ts): every `intervalMs`, a PASSIVE checkpoint on a connection of
 * its own, which never waits on the writer nor holds it up. Once the WAL holds
 * `restartFrames` frames, it asks the writer to finish the job, or with
 * `finishHere` (several writing processes) finishes it itself.
 */
const { file, intervalMs, restartFrames, finishHere } = workerData as { file: string; intervalMs: number; restartFrames: number; finishHere: boolean };
// A short busy wait: a RESTART that cannot have the write lock at once degrades to PASSIVE and is tried again next time.
const db = new SQLite(file, { fileMustExist: true, timeout: 20 });

const timer = setInterval(() => {
  try {
    const [r] = db.pragma('wal_checkpoint(PASSIVE)') as { busy: number; log: number; checkpointed: number }[];
    if (!r || r.log < restartFrames) return;
    if (finishHere) db.pragma('wal_checkpoint(RESTART)');
    else parentPort!.postMessage('finish');
  } catch {
    // Busy or failing: the writer's own checkpoint (wal_autocheckpoint) still bounds the WAL.
  }
}, intervalMs);

parentPort!.once('message', () => {
  clearInterval(timer);
  db.close();
  parentPort!.close();
});
