import { z } from 'zod';
import { canonicalJson } from '../core/index.js';
import { GENESIS_HASH, type AuditEvent } from './model.js';
import { brokenLink, eventHashHolds } from './verify-chain.js';

/**
 * One line of an exported trail (`mandate audit export --format jsonl`, the file
 * sink): an event exactly as stored. Unknown fields are refused; the type is any
 * string, so a trail written by a newer release still verifies.
 */
export const ExportedEventSchema = z
  .object({
    segment: z.string().min(1),
    seq: z.number().int().min(1),
    id: z.string().min(1),
    type: z.string().min(1),
    atMs: z.number().int(),
    taskId: z.string().nullable(),
    agentId: z.string().nullable(),
    data: z.record(z.string(), z.unknown()),
    prevHash: z.string(),
    hash: z.string(),
  })
  .strict();

export interface ExportedSegment {
  segment: string;
  fromSeq: number;
  toSeq: number;
  events: number;
  /** Runs of seqs missing between the first and the last event (a filtered export has them). */
  gaps: number;
  /** The export starts at the segment's first event, so its first link was checked against genesis too. */
  fromGenesis: boolean;
  headHash: string;
}

export interface ExportBreak {
  segment: string;
  seq: number;
  /** The line of the file holding the event at fault (1-based); for a gap, the line after it. */
  line: number;
  reason: 'hash_mismatch' | 'prev_hash_mismatch' | 'seq_gap' | 'seq_repeated';
}

export interface ExportReport {
  ok: boolean;
  segments: ExportedSegment[];
  /** The first broken link found, in segment order. */
  broken: ExportBreak | null;
}

/**
 * Recomputes the hash chain of every segment an exported file holds: each event's
 * hash over its own fields, and each link to the event before it. The events of a
 * segment may come in any order and start at any seq (an export from `--since`);
 * a seq missing in between is a break unless `gapsAllowed` (an export filtered by
 * task, agent or outcome), in which case each event still proves itself and every
 * unbroken run its links. The same line twice (a sink delivers at least once) counts
 * once; two different events at one seq are a break.
 */
export function verifyExport(lines: readonly { line: number; event: AuditEvent }[], opts: { gapsAllowed: boolean }): ExportReport {
  const bySegment = new Map<string, { line: number; event: AuditEvent }[]>();
  for (const l of lines) {
    const list = bySegment.get(l.event.segment) ?? [];
    list.push(l);
    bySegment.set(l.event.segment, list);
  }
  const report: ExportReport = { ok: true, segments: [], broken: null };
  for (const segment of [...bySegment.keys()].sort()) {
    const events = bySegment.get(segment)!.sort((a, b) => a.event.seq - b.event.seq || a.line - b.line);
    const first = events[0]!.event;
    const summary: ExportedSegment = { segment, fromSeq: first.seq, toSeq: first.seq, events: 0, gaps: 0, fromGenesis: first.seq === 1, headHash: first.prevHash };
    let prev: AuditEvent | undefined;
    let broken: ExportBreak | null = null;
    for (const { line, event } of events) {
      if (prev && event.seq === prev.seq) {
        if (sameEvent(event, prev)) continue;
        broken = { segment, seq: event.seq, line, reason: 'seq_repeated' };
        break;
      }
      // The first event of a segment exported from its middle links to an event outside the file: only seq 1 has a known predecessor.
      let expectedSeq = prev ? prev.seq + 1 : event.seq;
      let prevHash = prev ? prev.hash : event.seq === 1 ? GENESIS_HASH : event.prevHash;
      if (prev && event.seq > expectedSeq && opts.gapsAllowed) {
        summary.gaps += 1;
        expectedSeq = event.seq;
        prevHash = event.prevHash;
      }
      const reason = brokenLink(event, expectedSeq, prevHash, eventHashHolds(event));
      if (reason) {
        broken = { segment, seq: reason === 'seq_gap' ? expectedSeq : event.seq, line, reason };
        break;
      }
      summary.events += 1;
      summary.toSeq = event.seq;
      summary.headHash = event.hash;
      prev = event;
    }
    report.segments.push(summary);
    if (broken) {
      report.ok = false;
      report.broken = broken;
      return report;
    }
  }
  return report;
}

/** Two lines at one seq are the same event only if every field is: the stored hash alone could be copied onto an edited line. */
function sameEvent(a: AuditEvent, b: AuditEvent): boolean {
  return canonicalJson(a) === canonicalJson(b);
}
