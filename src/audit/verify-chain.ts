import { hashEvent } from './chain.js';
import { GENESIS_HASH, type AuditEvent } from './model.js';
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

const PAGE = 1000;

/**
 * What is wrong with `e` as the link after `prevHash` at `expectedSeq`, if anything:
 * the one check every verification runs, on the store or on an exported file.
 */
export function brokenLink(e: AuditEvent, expectedSeq: number, prevHash: string): BrokenLink['reason'] | null {
  return e.seq !== expectedSeq ? 'seq_gap' : e.prevHash !== prevHash ? 'prev_hash_mismatch' : hashEvent(e) !== e.hash ? 'hash_mismatch' : null;
}

/** Recomputes every segment's chain from its genesis and reports the first broken link. */
export async function verifyChain(repo: AuditRepo): Promise<ChainReport> {
  const report: ChainReport = { ok: true, segments: [], broken: null };
  for (const segment of await repo.segments()) {
    let expectedSeq = 1;
    let prevHash = GENESIS_HASH;
    for (;;) {
      const page = await repo.list({ segment, afterSeq: expectedSeq - 1, limit: PAGE, order: 'asc' });
      for (const e of page) {
        const broken = brokenLink(e, expectedSeq, prevHash);
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
