import { sha256Hex } from '../core/index.js';
import { hashEvent, storedHashHolds } from './chain.js';
import { GENESIS_HASH, type AuditEvent } from './model.js';
import type { AuditRepo, StoredEvent, StoredLink } from './ports.js';

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

/**
 * Another reader of the events the chain reads (`verifyTrail`'s Merkle roots), so
 * that a verify reads each event once. It is given, in seq order, every event of
 * the range it needs of a segment, read also where the chain is not checked:
 * before an incremental verify's start, and past a broken link.
 */
export interface ChainTap {
  /** The seqs of a segment it needs, inclusive; undefined for none. */
  needs(segment: string): { fromSeq: number; toSeq: number } | undefined;
  see(segment: string, link: StoredLink): void;
}

/** Links read a page: pages of 5,000 and more measured slower (more of each page outlives the young generation). */
const PAGE = 2000;

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
 * Each event is read as the text its hash covers, put together by the store.
 */
export async function verifyChain(repo: AuditRepo, from: ReadonlyMap<string, { seq: number; hash: string }> = new Map(), tap?: ChainTap): Promise<ChainReport> {
  const report: ChainReport = { ok: true, segments: [], broken: null };
  for (const segment of await repo.segments()) {
    // Once a link is broken the report is made; later segments are read only for the tap.
    const checked = report.broken === null;
    const needs = tap?.needs(segment);
    if (!checked && !needs) continue;
    const startSeq = from.get(segment)?.seq ?? 0;
    let expectedSeq = startSeq + 1;
    let prevHash = from.get(segment)?.hash ?? GENESIS_HASH;
    let checking = checked;
    const readTo = needs?.toSeq ?? 0;
    const fieldsHold = fieldReader(repo, segment);
    let after = Math.min(checking ? startSeq : Infinity, needs ? needs.fromSeq - 1 : Infinity);
    read: for (;;) {
      const page = await repo.links(segment, after, PAGE);
      for (const l of page) {
        // Events before an incremental start are read for the tap alone.
        if (checking && !(l.seq <= startSeq)) {
          let reason = brokenLink(l, expectedSeq, prevHash, () => l.hashed !== null && sha256Hex(l.hashed) === l.hash);
          if (reason === 'hash_mismatch' && (await fieldsHold(l))) reason = null;
          if (reason !== null) {
            report.ok = false;
            report.broken = { segment, seq: reason === 'seq_gap' ? expectedSeq : l.seq, reason };
            checking = false;
          } else {
            prevHash = l.hash;
            expectedSeq += 1;
          }
        }
        if (needs) tap!.see(segment, l);
        if (!checking && !(l.seq < readTo)) break read;
      }
      if (page.length < PAGE) break;
      after = page[page.length - 1]!.seq;
    }
    if (checked) report.segments.push({ segment, events: expectedSeq - 1, headHash: prevHash });
  }
  return report;
}

/**
 * Whether the event at a link hashes to its hash, from its fields as `scan` reads
 * them (`storedHashHolds`): for a link whose text the store could not put together,
 * or whose text does not hash (data stored otherwise by an older version; such
 * events come in runs, so a page of them is read at once).
 */
function fieldReader(repo: AuditRepo, segment: string): (l: StoredLink) => Promise<boolean> {
  let page: StoredEvent[] = [];
  return async (l) => {
    let e = page.length > 0 ? page[l.seq - page[0]!.seq] : undefined;
    if (e?.seq !== l.seq) {
      page = await repo.scan(segment, l.seq - 1, PAGE);
      e = page[0];
    }
    return e !== undefined && e.seq === l.seq && e.prevHash === l.prevHash && e.hash === l.hash && storedHashHolds(e);
  };
}
