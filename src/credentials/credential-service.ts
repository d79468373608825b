import type { Actor, AuditSink } from '../audit/index.js';
import { CodedError, Lru, sha256Hex, type AgentId, type Clock, type CredentialId, type Random, type TaskId } from '../core/index.js';
import type { KeyRing } from '../identity/index.js';
import type { DelegationLink } from '../mandate/index.js';
import { TASK_CREDENTIAL_TYP, type Revocation, type RevocationKind, type TaskCredentialClaims } from './model.js';
import type { RevocationRepo } from './ports.js';
import { RevocationSet } from './revocation-set.js';

export interface CredentialDeps {
  keys: KeyRing;
  /** The `aud` every task credential carries: the enforcement points of this deployment. */
  audience: string;
  /** Longest a task can live; agent and principal revocations are kept this long. */
  maxTaskTtlSeconds: number;
  revocations: RevocationRepo;
  audit: AuditSink;
  clock: Clock;
  random: Random;
  /** Verified credentials kept in memory (signature checks cost ~100 µs; a hit costs nothing). */
  cacheSize?: number;
  /** Tells the other replicas at once (they also catch up periodically). */
  publish?: (revocation: Revocation) => Promise<void>;
}

export interface MintRequest {
  credentialId: CredentialId;
  taskId: TaskId;
  agentId: AgentId;
  spiffeId: string;
  principal: string | null;
  /** The tasks this one was delegated from, its parent first: the `act` chain. */
  chain: readonly DelegationLink[];
  /** What the presenter must prove (`cnf`); absent for a bearer credential. */
  confirm?: { spiffeId?: string; jkt?: string };
  expiresAtMs: number;
}

/** Mints and verifies task credentials and owns the revocation set. */
export class CredentialService {
  readonly revocationSet = new RevocationSet();
  private readonly verified: Lru<string, TaskCredentialClaims>;

  constructor(private readonly d: CredentialDeps) {
    this.verified = new Lru(d.cacheSize ?? 100_000);
  }

  /** Verified credentials held in memory. */
  get cachedCount(): number {
    return this.verified.size;
  }

  /**
   * Drops verified credentials that expired or were revoked (their task ended);
   * returns how many. A revoked one is refused by the revocation set whether cached
   * or not: this only frees the memory.
   */
  sweep(nowMs: number): number {
    return this.verified.prune(
      (c) => c.expiresAtMs <= nowMs || this.revocationSet.revokedBy({ credentialId: c.jti, taskId: c.taskId, agentId: c.agentId, principal: c.principal, grantedAtMs: c.issuedAtMs }) !== undefined,
    );
  }

  /** Loads revocations that can still cut a credential; call at start and on catch-up. */
  async loadRevocations(): Promise<void> {
    const now = this.d.clock.nowMs();
    // Merged, never replaced: a revocation pushed while this read was in flight must not be dropped by it.
    for (const r of await this.d.revocations.listActive(now)) this.revocationSet.add(r);
    this.revocationSet.prune(now);
  }

  async mint(m: MintRequest): Promise<string> {
    const nowS = Math.floor(this.d.clock.nowMs() / 1000);
    return this.d.keys.sign(
      {
        sub: m.spiffeId,
        aud: this.d.audience,
        jti: m.credentialId,
        task: m.taskId,
        agt: m.agentId,
        iat: nowS,
        exp: Math.floor(m.expiresAtMs / 1000),
        ...(m.principal !== null ? { principal: m.principal } : {}),
        ...(m.chain.length > 0 ? { act: actClaim(m.chain) } : {}),
        ...(m.confirm ? { cnf: { ...(m.confirm.spiffeId ? { spiffe_id: m.confirm.spiffeId } : {}), ...(m.confirm.jkt ? { jkt: m.confirm.jkt } : {}) } } : {}),
      },
      TASK_CREDENTIAL_TYP,
    );
  }

  /**
   * Verifies a task credential: signature, `typ`, audience, expiry. Signature
   * results are cached per token; expiry is re-checked on every call.
   * Errors: credential.invalid, credential.expired.
   */
  async verify(token: string): Promise<TaskCredentialClaims> {
    // Keyed by the token's hash, not the token: a tenth of the memory per live task.
    const key = sha256Hex(token);
    const cached = this.verified.get(key);
    if (cached) {
      if (cached.expiresAtMs <= this.d.clock.nowMs()) {
        this.verified.delete(key);
        throw new CodedError('credential.expired', 'task credential has expired');
      }
      return cached;
    }
    const p = await this.d.keys.verify(token, {
      typ: TASK_CREDENTIAL_TYP,
      audience: this.d.audience,
      invalidCode: 'credential.invalid',
      expiredCode: 'credential.expired',
    });
    if (typeof p.jti !== 'string' || typeof p.task !== 'string' || typeof p.agt !== 'string' || typeof p.sub !== 'string') {
      throw new CodedError('credential.invalid', 'task credential lacks `jti`, `task`, `agt` or `sub`');
    }
    const claims: TaskCredentialClaims = {
      jti: p.jti as CredentialId,
      taskId: p.task as TaskId,
      agentId: p.agt as AgentId,
      spiffeId: p.sub,
      principal: principalOf(p),
      confirm: confirmOf(p.cnf),
      issuedAtMs: (p.iat ?? 0) * 1000,
      expiresAtMs: (p.exp ?? 0) * 1000,
    };
    this.verified.set(key, claims);
    return claims;
  }

  /** Records a revocation and applies it to this process at once. */
  async revoke(kind: RevocationKind, subject: string, reason: string, by: Actor, credentialExpiresAtMs?: number): Promise<Revocation> {
    const now = this.d.clock.nowMs();
    const revocation: Revocation = {
      id: `rvk_${this.d.random.token(12)}`,
      kind,
      subject,
      reason,
      createdAtMs: now,
      expiresAtMs: credentialExpiresAtMs ?? now + this.d.maxTaskTtlSeconds * 1000,
    };
    await this.d.revocations.insert(revocation);
    this.revocationSet.add(revocation);
    // A lost notification is caught up by the periodic re-read, so a failed push does not fail the revocation.
    await this.d.publish?.(revocation).catch(() => undefined);
    await this.d.audit.record({
      type: 'revocation',
      taskId: kind === 'task' ? (subject as TaskId) : null,
      agentId: kind === 'agent' ? (subject as AgentId) : null,
      data: { kind, subject, reason, revocationId: revocation.id, by },
    });
    return revocation;
  }
}

/**
 * The delegation chain as RFC 8693 `act` claims: the agent that delegated to the
 * holder outermost, each earlier one nested inside it (the least recent deepest).
 * `sub` stays the holder, as for any workload credential; `task` names the task each
 * delegator held.
 */
export function actClaim(chain: readonly DelegationLink[]): ActClaim | undefined {
  let act: ActClaim | undefined;
  for (let i = chain.length - 1; i >= 0; i--) act = { sub: chain[i]!.spiffeId, task: chain[i]!.taskId, ...(act ? { act } : {}) };
  return act;
}

export interface ActClaim {
  sub: string;
  task: string;
  act?: ActClaim;
}

/** The principal claim; a credential minted before it existed carried the principal as `act.sub` with no `task`. */
function principalOf(p: Record<string, unknown>): string | null {
  if (typeof p.principal === 'string') return p.principal;
  const act = p.act as { sub?: unknown; task?: unknown } | undefined;
  return typeof act?.sub === 'string' && act.task === undefined ? act.sub : null;
}

/** `cnf` as the presenter must meet it; a confirmation member this release does not know makes the credential unusable. */
function confirmOf(cnf: unknown): TaskCredentialClaims['confirm'] {
  if (cnf === undefined) return null;
  if (cnf === null || typeof cnf !== 'object') throw new CodedError('credential.invalid', 'task credential `cnf` is not an object');
  const c = cnf as Record<string, unknown>;
  const known = new Set(['spiffe_id', 'jkt']);
  if (Object.keys(c).some((k) => !known.has(k)) || Object.keys(c).length === 0) throw new CodedError('credential.invalid', 'task credential `cnf` holds a confirmation method this release does not check');
  if ((c.spiffe_id !== undefined && typeof c.spiffe_id !== 'string') || (c.jkt !== undefined && typeof c.jkt !== 'string')) throw new CodedError('credential.invalid', 'task credential `cnf` is malformed');
  return { ...(typeof c.spiffe_id === 'string' ? { spiffeId: c.spiffe_id } : {}), ...(typeof c.jkt === 'string' ? { jkt: c.jkt } : {}) };
}
