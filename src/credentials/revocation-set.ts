import type { Revocation } from './model.js';

export interface RevocationSubject {
  credentialId: string;
  taskId: string;
  agentId: string;
  principal: string | null;
  /** When the task was granted: agent and principal revocations cut what was granted up to them. */
  grantedAtMs: number;
}

/**
 * The in-memory revocation set the decision path consults on every call. It is
 * loaded at start and updated on every revocation, so checking it never waits on
 * the store; entries are forgotten once nothing they could cut is still valid.
 */
export class RevocationSet {
  private readonly credentials = new Map<string, number>();
  private readonly tasks = new Map<string, number>();
  /** subject -> [revokedAtMs, expiresAtMs] */
  private readonly agents = new Map<string, [number, number]>();
  private readonly principals = new Map<string, [number, number]>();

  add(r: Revocation): void {
    switch (r.kind) {
      case 'credential':
        this.credentials.set(r.subject, r.expiresAtMs);
        return;
      case 'task':
        this.tasks.set(r.subject, r.expiresAtMs);
        return;
      case 'agent':
        keepLatest(this.agents, r);
        return;
      case 'principal':
        keepLatest(this.principals, r);
        return;
    }
  }

  /** The kind of revocation that cuts this credential, or undefined. */
  revokedBy(s: RevocationSubject): Revocation['kind'] | undefined {
    if (this.credentials.has(s.credentialId)) return 'credential';
    if (this.tasks.has(s.taskId)) return 'task';
    const agent = this.agents.get(s.agentId);
    if (agent && s.grantedAtMs <= agent[0]) return 'agent';
    if (s.principal !== null) {
      const principal = this.principals.get(s.principal);
      if (principal && s.grantedAtMs <= principal[0]) return 'principal';
    }
    return undefined;
  }

  /** Drops entries past their expiry. */
  prune(nowMs: number): void {
    for (const map of [this.credentials, this.tasks]) for (const [k, exp] of map) if (exp <= nowMs) map.delete(k);
    for (const map of [this.agents, this.principals]) for (const [k, [, exp]] of map) if (exp <= nowMs) map.delete(k);
  }

  get size(): number {
    return this.credentials.size + this.tasks.size + this.agents.size + this.principals.size;
  }
}

function keepLatest(map: Map<string, [number, number]>, r: Revocation): void {
  const current = map.get(r.subject);
  if (!current || current[0] < r.createdAtMs) map.set(r.subject, [r.createdAtMs, Math.max(r.expiresAtMs, current?.[1] ?? 0)]);
}
