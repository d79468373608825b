import { hashEvent, storedHashHolds } from './chain.js';
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

const PAGE = 5000;

/**
 * What is wrong with `e` as the link after `prevHash` at `expectedSeq`, if anything:
 * the one check every verification runs, on the store or on an exported file.
 * `hashHolds` says whether the event hashes to its hash (computed only when the links hold).
 */
export function brokenLink(e: { seq: number; prevHash: string }, expectedSeq: number, prevHash: string, hashHolds: () => boolean): BrokenLink['reason'] | null {
  return e.seq !== expectedSeq ? 'seq_gap' : e.prevHash !== prevHash ? 'prev_hash_mismatch' : !hashHolds() ? 'hash_mismatch' : null;
}

/** Whether an event, as exported or read, hashes to its hash. */
export const eventHashHolds = (e: AuditEvent) => () => hashEvent(e) === e.hash;

/**
 * Recomputes every segment's chain and reports the first broken link: from its
 * genesis, or from a point already proven (`from`: a seq and the hash of the event
 * there, e.g. a witnessed checkpoint verified before), for an incremental verify.
 */
export async function verifyChain(repo: AuditRepo, from: ReadonlyMap<string, { seq: number; hash: string }> = new Map()): Promise<ChainReport> {
  const report: ChainReport = { ok: true, segments: [], broken: null };
  for (const segment of await repo.segments()) {
    let expectedSeq = (from.get(segment)?.seq ?? 0) + 1;
    let prevHash = from.get(segment)?.hash ?? GENESIS_HASH;
    for (;;) {
      const page = await repo.scan(segment, expectedSeq - 1, PAGE);
      for (const e of page) {
        const broken = brokenLink(e, expectedSeq, prevHash, () => storedHashHolds(e));
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
