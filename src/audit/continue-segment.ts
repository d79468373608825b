import { checkAgainst, type CheckpointFinding } from './checkpoint.js';
import type { AuditRepo, WitnessedCheckpoint } from './ports.js';

export interface SegmentToWrite {
  segment: string;
  /** Set when the configured segment (or its latest restart) no longer holds what was witnessed: why a new one was started. */
  restartedFrom?: { segment: string; finding: CheckpointFinding };
}

/**
 * The segment a writer appends to. Its configured segment, or the latest restart of
 * it (`<segment>:r<n>`), as long as the store still holds what the witnesses last saw
 * of it; otherwise a new restart, so that a trail truncated or rewritten under the
 * writer is never silently continued (which would reuse seqs and make the cut
 * invisible). The old segment stays as it is, for `verify` to report.
 */
export async function segmentToWrite(repo: AuditRepo, configured: string, witnessed: readonly WitnessedCheckpoint[]): Promise<SegmentToWrite> {
  const existing = new Set(await repo.segments());
  const restarts = [...existing].map((s) => restartNumber(configured, s)).filter((n): n is number => n !== undefined);
  const latest = restarts.length === 0 ? configured : `${configured}:r${Math.max(...restarts)}`;
  const finding = await lastCheckpointFinding(repo, latest, witnessed);
  if (!finding) return { segment: latest };
  let n = Math.max(0, ...restarts) + 1;
  while (existing.has(`${configured}:r${n}`)) n += 1;
  return { segment: `${configured}:r${n}`, restartedFrom: { segment: latest, finding } };
}

function restartNumber(configured: string, segment: string): number | undefined {
  const m = segment.startsWith(`${configured}:r`) ? /^\d+$/.exec(segment.slice(configured.length + 2)) : null;
  return m ? Number(m[0]) : undefined;
}

/** What is wrong with a segment against its last witnessed checkpoint (its head must still be there, unchanged). */
async function lastCheckpointFinding(repo: AuditRepo, segment: string, witnessed: readonly WitnessedCheckpoint[]): Promise<CheckpointFinding | undefined> {
  const last = witnessed.filter((c) => c.segment === segment).sort((a, b) => b.seq - a.seq)[0];
  if (!last) return undefined;
  const storedSeq = (await repo.last(segment))?.seq ?? 0;
  if (storedSeq < last.seq) return checkAgainst(last, storedSeq, undefined);
  const [atSeq] = await repo.list({ segment, afterSeq: last.seq - 1, limit: 1, order: 'asc' });
  return atSeq?.seq === last.seq && atSeq.hash === last.headHash ? undefined : { kind: 'altered', segment, fromSeq: last.fromSeq, seq: last.seq };
}
