import { storedHashHolds } from './chain.js';
import { GENESIS_HASH } from './model.js';
import type { AuditRepo } from './ports.js';

export interface BrokenLink {
  segment: string;
  seq: number;
  reason: 'hash_mismatch' | 'prev_hash_mismatch' | 'seq_gap';
}

export interface ChainReport {
  ok: boolean;
  segments: { segment: string; events: number; headHash: string }[];
  /** The first broken link found, in segment order. */
  broken: BrokenLink | null;
}

const PAGE = 5000;

/** Recomputes every segment's chain from its genesis and reports the first broken link. */
export async function verifyChain(repo: AuditRepo): Promise<ChainReport> {
  const report: ChainReport = { ok: true, segments: [], broken: null };
  for (const segment of await repo.segments()) {
    let expectedSeq = 1;
    let prevHash = GENESIS_HASH;
    for (;;) {
      const page = await repo.scan(segment, expectedSeq - 1, PAGE);
      for (const e of page) {
        const broken: BrokenLink['reason'] | null =
          e.seq !== expectedSeq ? 'seq_gap' : e.prevHash !== prevHash ? 'prev_hash_mismatch' : !storedHashHolds(e) ? 'hash_mismatch' : null;
        if (broken) {
          report.ok = false;
          report.broken = { segment, seq: broken === 'seq_gap' ? expectedSeq : e.seq, reason: broken };
          report.segments.push({ segment, events: expectedSeq - 1, headHash: prevHash });
          return report;
        }
        prevHash = e.hash;
        expectedSeq += 1;
      }
      if (page.length < PAGE) break;
    }
    report.segments.push({ segment, events: expectedSeq - 1, headHash: prevHash });
  }
  return report;
}
