import * as jose from 'jose';
import { checkAgainst, MerkleTree, type Checkpoint, type CheckpointFinding } from './checkpoint.js';
import type { AuditRepo, StoredLink, WitnessedCheckpoint } from './ports.js';
import { verifyChain, type ChainReport, type ChainTap } from './verify-chain.js';

export interface TrailReport extends ChainReport {
  /** No event at all: a deployment's trail starts with its first key, so an empty one was emptied. */
  empty: boolean;
  /** Checkpoints the witnesses hold, and what each says is wrong with the store. */
  witnessed: number;
  findings: CheckpointFinding[];
}

/** Checkpoint events read for the cross-check (a million events at the default interval make a thousand). */
const MAX_CHECKPOINTS = 1_000_000;

const isEmpty = (chain: ChainReport) => chain.segments.every((s) => s.events === 0);

/**
 * The whole proof: every segment's chain recomputed (`verifyChain`), and the store
 * held against every witnessed checkpoint, each checked with the key that signed
 * it. Catches what a chain alone cannot: events deleted from the end, a trail
 * emptied or truncated and restarted, a chain edited and recomputed.
 */
export async function verifyTrail(
  repo: AuditRepo,
  witness: { name: string; checkpoints: readonly WitnessedCheckpoint[] } | undefined,
  opts: { incremental?: boolean } = {},
): Promise<TrailReport> {
  const findings: CheckpointFinding[] = [];
  if (witness === undefined) {
    const chain = await verifyChain(repo);
    return { ...chain, ok: chain.ok && !isEmpty(chain), empty: isEmpty(chain), witnessed: 0, findings };
  }
  // Incremental: what each segment's last witnessed checkpoint vouches for was verified when it was made; the chain is recomputed from there.
  const witnessed = opts.incremental ? lastPerSegment(witness.checkpoints) : witness.checkpoints;
  const ordered = [...witnessed].sort((a, b) => a.segment.localeCompare(b.segment) || a.seq - b.seq);
  const signed = new Set<WitnessedCheckpoint>();
  for (const cp of ordered) if (await signatureHolds(cp)) signed.add(cp);
  // One pass: the intervals of the checkpoints the key signed are hashed as the chain reads them.
  const intervals = new IntervalTrees(signed);
  const chain = await verifyChain(repo, opts.incremental ? new Map(witnessed.map((c) => [c.segment, { seq: c.seq, hash: c.headHash }])) : new Map(), intervals);
  // Every checkpoint the chain says this witness was given must still be in it.
  const seen = new Set(witnessed.map((c) => `${c.segment} ${c.seq}`));
  for (const e of opts.incremental ? [] : await repo.list({ type: 'audit.checkpoint', limit: MAX_CHECKPOINTS, order: 'asc' })) {
    const givenTo = Array.isArray(e.data.witnesses) ? e.data.witnesses : [];
    if (givenTo.includes(witness.name) && !seen.has(`${e.segment} ${String(e.data.seq)}`)) findings.push({ kind: 'unwitnessed', segment: e.segment, seq: Number(e.data.seq) });
  }
  const storedSeqs = new Map<string, number>();
  for (const cp of ordered) {
    if (!signed.has(cp)) {
      findings.push({ kind: 'bad_signature', segment: cp.segment, seq: cp.seq });
      continue;
    }
    if (!storedSeqs.has(cp.segment)) storedSeqs.set(cp.segment, (await repo.last(cp.segment))?.seq ?? 0);
    const finding = checkAgainst(cp, storedSeqs.get(cp.segment)!, intervals.held(cp));
    if (finding) findings.push(finding);
  }
  const empty = isEmpty(chain);
  return { ...chain, ok: chain.ok && !empty && findings.length === 0, empty, witnessed: witnessed.length, findings };
}

function lastPerSegment(checkpoints: readonly WitnessedCheckpoint[]): WitnessedCheckpoint[] {
  const last = new Map<string, WitnessedCheckpoint>();
  for (const c of checkpoints) if ((last.get(c.segment)?.seq ?? 0) < c.seq) last.set(c.segment, c);
  return [...last.values()];
}

interface Interval {
  cp: Checkpoint;
  tree: MerkleTree;
  /** The seq the next event must have; an event missing or out of place spoils the interval. */
  next: number;
  whole: boolean;
  done: boolean;
  hashAtSeq?: string;
}

/** What the store holds of each checkpoint's interval (`fromSeq`..`seq`): its Merkle root and head, built from the events as the chain reads them. */
class IntervalTrees implements ChainTap {
  /** Per segment, its intervals by `fromSeq` and the first not yet done: intervals follow each other, so one or two are open at a time. */
  private readonly bySegment = new Map<string, { list: Interval[]; firstOpen: number }>();
  private readonly of = new Map<Checkpoint, Interval>();

  constructor(checkpoints: Iterable<Checkpoint>) {
    for (const cp of checkpoints) {
      // A witness line signed with a key of its own can say anything: an interval that is not one holds nothing.
      if (!Number.isSafeInteger(cp.fromSeq) || !Number.isSafeInteger(cp.seq)) continue;
      const interval: Interval = { cp, tree: new MerkleTree(), next: cp.fromSeq, whole: true, done: false };
      this.of.set(cp, interval);
      const segment = this.bySegment.get(cp.segment) ?? { list: [], firstOpen: 0 };
      segment.list.push(interval);
      this.bySegment.set(cp.segment, segment);
    }
    for (const { list } of this.bySegment.values()) list.sort((a, b) => a.cp.fromSeq - b.cp.fromSeq);
  }

  needs(segment: string): { fromSeq: number; toSeq: number } | undefined {
    const list = this.bySegment.get(segment)?.list;
    return list && { fromSeq: list[0]!.cp.fromSeq, toSeq: list.reduce((max, i) => Math.max(max, i.cp.seq), 0) };
  }

  see(segment: string, link: StoredLink): void {
    const open = this.bySegment.get(segment)!;
    const list = open.list;
    for (let i = open.firstOpen; i < list.length && list[i]!.cp.fromSeq <= link.seq; i++) {
      const interval = list[i]!;
      if (interval.done) continue;
      if (link.seq !== interval.next) interval.whole = false;
      if (link.seq > interval.cp.seq) {
        interval.done = true;
        continue;
      }
      interval.tree.add(link.hash);
      interval.next = link.seq + 1;
      if (link.seq === interval.cp.seq) {
        interval.hashAtSeq = link.hash;
        interval.done = true;
      }
    }
    while (open.firstOpen < list.length && list[open.firstOpen]!.done) open.firstOpen += 1;
  }

  /** The interval's root and the hash at its end as stored; undefined when an event of it is missing. */
  held(cp: Checkpoint): { root: string; hashAtSeq: string } | undefined {
    const interval = this.of.get(cp);
    return interval?.whole && interval.hashAtSeq !== undefined ? { root: interval.tree.root(), hashAtSeq: interval.hashAtSeq } : undefined;
  }
}

/** The JWS is the witness's key's signature over exactly this checkpoint. */
async function signatureHolds(cp: WitnessedCheckpoint): Promise<boolean> {
  try {
    const { payload, protectedHeader } = await jose.compactVerify(cp.jws, await jose.importJWK(cp.jwk as jose.JWK, 'ES256'), { algorithms: ['ES256'] });
    if (protectedHeader.typ !== CHECKPOINT_TYP) return false;
    const signed = JSON.parse(new TextDecoder().decode(payload)) as Record<string, unknown>;
    return (['segment', 'fromSeq', 'seq', 'headHash', 'root', 'atMs'] as const).every((k) => signed[k] === cp[k]);
  } catch {
    return false;
  }
}

/** The JWS `typ` of a checkpoint, so no other token of the trust domain can pass for one. */
export const CHECKPOINT_TYP = 'mandate-checkpoint+jwt';
