import { z } from 'zod';
import type { Actor, AuditSink } from '../audit/index.js';
import { CodedError, formatZodError, newId, sha256Hex, type AgentId, type Clock, type Random } from '../core/index.js';
import type { KeyRing } from './key-ring.js';
import { AGENT_NAME, type Agent, type SvidClaims } from './model.js';
import { matchesClaim, readClaim, type OidcTrust } from './oidc-trust.js';
import type { AgentRepo, JoinTokenRepo } from './ports.js';

export const SVID_TYP = 'JWT';

export const RegisterAgentSchema = z
  .object({
    name: z.string().regex(AGENT_NAME, 'expected lowercase letters, digits, `-` or `_`, at most 63'),
    groups: z.array(z.string().regex(/^[A-Za-z0-9_-]{1,64}$/)).max(16).default(['agents']),
    attestation: z
      .object({
        joinToken: z.boolean().default(true),
        oidc: z
          .array(
            z
              .object({
                issuer: z.string().url(),
                claims: z.record(z.string().min(1), z.string().min(1)).refine((c) => Object.keys(c).length > 0, 'at least one claim matcher'),
              })
              .strict(),
          )
          .max(16)
          .default([]),
      })
      .strict()
      .default({ joinToken: true, oidc: [] }),
  })
  .strict();
export type RegisterAgentInput = z.input<typeof RegisterAgentSchema>;

export interface IdentityDeps {
  trustDomain: string;
  /** The audience SVIDs are minted for: the control plane itself. */
  svidAudience: string;
  svidTtlSeconds: number;
  keys: KeyRing;
  agents: AgentRepo;
  joinTokens: JoinTokenRepo;
  oidc: OidcTrust;
  audit: AuditSink;
  clock: Clock;
  random: Random;
}

export interface IssuedSvid {
  svid: string;
  spiffeId: string;
  expiresAtMs: number;
}

/** Agent registry, attestors and JWT-SVIDs of one trust domain. */
export class IdentityService {
  constructor(private readonly d: IdentityDeps) {}

  spiffeIdFor(name: string): string {
    return `spiffe://${this.d.trustDomain}/agent/${name}`;
  }

  /** Errors: request.invalid, identity.agent_exists. */
  async registerAgent(input: unknown, by: Actor): Promise<Agent> {
    const parsed = RegisterAgentSchema.safeParse(input);
    if (!parsed.success) throw new CodedError('request.invalid', formatZodError(parsed.error));
    const agent: Agent = {
      id: newId('agent', this.d.random),
      name: parsed.data.name,
      spiffeId: this.spiffeIdFor(parsed.data.name),
      groups: parsed.data.groups,
      attestation: parsed.data.attestation,
      createdAtMs: this.d.clock.nowMs(),
      disabledAtMs: null,
      dpopJkt: null,
    };
    await this.d.agents.insert(agent);
    await this.d.audit.record({ type: 'agent.registered', agentId: agent.id, data: { name: agent.name, spiffeId: agent.spiffeId, groups: agent.groups, by } });
    return agent;
  }

  listAgents(): Promise<Agent[]> {
    return this.d.agents.list();
  }

  agentById(id: AgentId): Promise<Agent | undefined> {
    return this.d.agents.get(id);
  }

  /** Errors: identity.agent_unknown. */
  async agentByName(name: string): Promise<Agent> {
    const agent = await this.d.agents.getByName(name);
    if (!agent) throw new CodedError('identity.agent_unknown', `no agent named \`${name}\``);
    return agent;
  }

  async deregisterAgent(name: string, by: Actor): Promise<Agent> {
    const agent = await this.agentByName(name);
    await this.d.agents.disable(agent.id, this.d.clock.nowMs());
    await this.d.audit.record({ type: 'agent.deregistered', agentId: agent.id, data: { name, by } });
    return { ...agent, disabledAtMs: this.d.clock.nowMs() };
  }

  /** A one-time join token for an agent. Only its hash is stored. Errors: identity.agent_unknown. */
  async createJoinToken(agentName: string, ttlSeconds: number, by: Actor): Promise<{ token: string; expiresAtMs: number }> {
    const agent = this.usableAgent(await this.agentByName(agentName));
    if (!agent.attestation.joinToken) throw new CodedError('request.invalid', `agent \`${agentName}\` does not accept join-token attestation`);
    const token = `mjt_${this.d.random.token(32)}`;
    const now = this.d.clock.nowMs();
    const id = newId('joinToken', this.d.random);
    await this.d.joinTokens.insert({ id, tokenHash: sha256Hex(token), agentId: agent.id, createdAtMs: now, expiresAtMs: now + ttlSeconds * 1000, usedAtMs: null });
    await this.d.audit.record({ type: 'join_token.created', agentId: agent.id, data: { joinTokenId: id, ttlSeconds, by } });
    return { token, expiresAtMs: now + ttlSeconds * 1000 };
  }

  /** Errors: identity.join_token_invalid, identity.agent_disabled. */
  async attestWithJoinToken(token: string, jkt?: string): Promise<IssuedSvid> {
    const record = await this.d.joinTokens.consume(sha256Hex(token), this.d.clock.nowMs());
    if (!record) return this.failAttestation('join_token', new CodedError('identity.join_token_invalid', 'join token is unknown, already used or expired'));
    const agent = await this.d.agents.get(record.agentId);
    if (!agent) return this.failAttestation('join_token', new CodedError('identity.agent_unknown', 'the join token names no registered agent'));
    if (agent.disabledAtMs !== null) return this.failAttestation('join_token', disabled(agent), agent.id);
    return this.issueSvid(agent, 'join_token', {}, jkt);
  }

  /** Errors: identity.oidc_untrusted, identity.oidc_no_match, identity.agent_disabled. */
  async attestWithOidc(token: string, jkt?: string): Promise<IssuedSvid> {
    let claims;
    try {
      claims = await this.d.oidc.verify(token);
    } catch (err) {
      return this.failAttestation('oidc', err);
    }
    const candidates = (await this.d.agents.list()).filter((a) =>
      a.attestation.oidc.some((rule) => rule.issuer === claims.iss && Object.entries(rule.claims).every(([name, expected]) => matchesClaim(readClaim(claims, name), expected))),
    );
    // INVARIANT: one token maps to exactly one agent; an ambiguous mapping grants nothing.
    if (candidates.length !== 1) {
      const message = candidates.length === 0 ? 'no attestation rule matches the token claims' : 'the token claims match more than one agent';
      return this.failAttestation('oidc', new CodedError('identity.oidc_no_match', message, { issuer: claims.iss, sub: claims.sub }));
    }
    const agent = candidates[0]!;
    if (agent.disabledAtMs !== null) return this.failAttestation('oidc', disabled(agent), agent.id);
    return this.issueSvid(agent, 'oidc', { issuer: claims.iss, sub: claims.sub }, jkt);
  }

  /**
   * A fresh SVID for the holder of a still-valid one, as a SPIFFE agent renews:
   * join tokens are single use, so renewal is how a joined agent stays attested.
   * Errors: identity.svid_invalid, identity.svid_expired, identity.agent_disabled.
   */
  async renewSvid(svid: string, proveKey?: (claims: SvidClaims) => Promise<void>): Promise<IssuedSvid> {
    let agent;
    let claims;
    try {
      ({ agent, claims } = await this.verifySvid(svid));
      // A key-bound SVID renews only with a proof of its key; the new one stays bound to it.
      if (claims.jkt) await (proveKey ?? noKeyProof)(claims);
    } catch (err) {
      return this.failAttestation('renewal', err);
    }
    return this.issueSvid(agent, 'renewal', {}, claims.jkt);
  }

  /** Errors: identity.svid_invalid, identity.svid_expired, identity.agent_unknown, identity.agent_disabled. */
  async verifySvid(svid: string): Promise<{ claims: SvidClaims; agent: Agent }> {
    const payload = await this.d.keys.verify(svid, {
      typ: SVID_TYP,
      audience: this.d.svidAudience,
      invalidCode: 'identity.svid_invalid',
      expiredCode: 'identity.svid_expired',
    });
    const prefix = `spiffe://${this.d.trustDomain}/agent/`;
    const sub = payload.sub ?? '';
    if (!sub.startsWith(prefix)) throw new CodedError('identity.svid_invalid', 'SVID subject is not an agent of this trust domain');
    const agent = this.usableAgent(await this.agentByName(sub.slice(prefix.length)));
    const aud = payload.aud;
    return {
      agent,
      claims: {
        spiffeId: sub,
        agentId: agent.id,
        agentName: agent.name,
        audience: Array.isArray(aud) ? aud : aud ? [aud] : [],
        issuedAtMs: (payload.iat ?? 0) * 1000,
        expiresAtMs: (payload.exp ?? 0) * 1000,
        ...(jktOf(payload.cnf) ? { jkt: jktOf(payload.cnf) } : {}),
      },
    };
  }

  /** An SVID for the agent; attested with a key (DPoP), it is bound to it (`cnf.jkt`), and so are the agent's task credentials from then on. */
  private async issueSvid(agent: Agent, method: string, detail: Record<string, unknown> = {}, jkt?: string): Promise<IssuedSvid> {
    const nowS = Math.floor(this.d.clock.nowMs() / 1000);
    const exp = nowS + this.d.svidTtlSeconds;
    const svid = await this.d.keys.sign({ sub: agent.spiffeId, aud: [this.d.svidAudience], iat: nowS, exp, jti: this.d.random.token(12), ...(jkt ? { cnf: { jkt } } : {}) }, SVID_TYP);
    if ((agent.dpopJkt ?? undefined) !== jkt) await this.d.agents.setDpopJkt(agent.id, jkt ?? null);
    await this.d.audit.record({ type: 'attestation.succeeded', agentId: agent.id, data: { method, spiffeId: agent.spiffeId, expiresAtMs: exp * 1000, ...detail, ...(jkt ? { jkt } : {}) } });
    return { svid, spiffeId: agent.spiffeId, expiresAtMs: exp * 1000 };
  }

  private usableAgent(agent: Agent): Agent {
    if (agent.disabledAtMs !== null) throw disabled(agent);
    return agent;
  }

  /** Every refused attestation is recorded, naming the agent when one was identified. */
  private async failAttestation(method: string, err: unknown, agentId?: AgentId): Promise<never> {
    const code = err instanceof CodedError ? err.code : 'internal.error';
    await this.d.audit.record({ type: 'attestation.failed', agentId: agentId ?? null, data: { method, code } });
    throw err;
  }
}

function jktOf(cnf: unknown): string | undefined {
  const jkt = cnf !== null && typeof cnf === 'object' ? (cnf as { jkt?: unknown }).jkt : undefined;
  return typeof jkt === 'string' && jkt !== '' ? jkt : undefined;
}

async function noKeyProof(): Promise<never> {
  throw new CodedError('dpop.missing', 'this SVID is bound to a key: renew it with a DPoP proof');
}

function disabled(agent: Agent): CodedError {
  return new CodedError('identity.agent_disabled', `agent \`${agent.name}\` was deregistered`);
}

