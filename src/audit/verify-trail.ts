import * as jose from 'jose';
import { checkAgainst, type CheckpointFinding } from './checkpoint.js';
import type { AuditRepo, WitnessedCheckpoint } from './ports.js';
import { verifyChain, type ChainReport } from './verify-chain.js';

export interface TrailReport extends ChainReport {
  /** No event at all: a deployment's trail starts with its first key, so an empty one was emptied. */
  empty: boolean;
  /** Checkpoints the witnesses hold, and what each says is wrong with the store. */
  witnessed: number;
  findings: CheckpointFinding[];
}

const PAGE = 5000;
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
  const chain = await verifyChain(repo, opts.incremental ? new Map(witnessed.map((c) => [c.segment, { seq: c.seq, hash: c.headHash }])) : new Map());
  // Every checkpoint the chain says this witness was given must still be in it.
  const seen = new Set(witnessed.map((c) => `${c.segment} ${c.seq}`));
  for (const e of opts.incremental ? [] : await repo.list({ type: 'audit.checkpoint', limit: MAX_CHECKPOINTS, order: 'asc' })) {
    const givenTo = Array.isArray(e.data.witnesses) ? e.data.witnesses : [];
    if (givenTo.includes(witness.name) && !seen.has(`${e.segment} ${String(e.data.seq)}`)) findings.push({ kind: 'unwitnessed', segment: e.segment, seq: Number(e.data.seq) });
  }
  for (const cp of [...witnessed].sort((a, b) => a.segment.localeCompare(b.segment) || a.seq - b.seq)) {
    if (!(await signatureHolds(cp))) {
      findings.push({ kind: 'bad_signature', segment: cp.segment, seq: cp.seq });
      continue;
    }
    const storedSeq = (await repo.last(cp.segment))?.seq ?? 0;
    const interval = storedSeq >= cp.seq ? await hashesBetween(repo, cp.segment, cp.fromSeq, cp.seq) : undefined;
    const finding = checkAgainst(cp, storedSeq, interval, interval?.[interval.length - 1]);
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

/** The stored hashes of events `from`..`to` of a segment, or undefined when one is missing. */
async function hashesBetween(repo: AuditRepo, segment: string, from: number, to: number): Promise<string[] | undefined> {
  const hashes: string[] = [];
  let after = from - 1;
  while (after < to) {
    const page = await repo.scan(segment, after, PAGE);
    for (const e of page) {
      if (e.seq > to) break;
      if (e.seq !== after + 1) return undefined;
      hashes.push(e.hash);
      after = e.seq;
    }
    if (page.length < PAGE && after < to) return undefined;
  }
  return hashes;
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
