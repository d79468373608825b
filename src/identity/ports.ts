import type { JWTVerifyGetKey } from 'jose';
import type { AgentId } from '../core/index.js';
import type { Agent, JoinTokenRecord, SigningKeyRecord } from './model.js';

export interface KeyRepo {
  list(): Promise<SigningKeyRecord[]>;
  insert(key: SigningKeyRecord): Promise<void>;
  retire(kid: string, retiredAtMs: number, dropAtMs: number): Promise<void>;
}

export interface AgentRepo {
  /** Fails with `identity.agent_exists` when the name is taken. */
  insert(agent: Agent): Promise<void>;
  get(id: AgentId): Promise<Agent | undefined>;
  getByName(name: string): Promise<Agent | undefined>;
  list(): Promise<Agent[]>;
  /** How many agents are registered, and how many of them are disabled, counted by the store. */
  count(): Promise<{ registered: number; disabled: number }>;
  disable(id: AgentId, atMs: number): Promise<void>;
  /** The thumbprint of the key the agent last attested with; its task credentials are bound to it. */
  setDpopJkt(id: AgentId, jkt: string | null): Promise<void>;
}

export interface JoinTokenRepo {
  insert(token: JoinTokenRecord): Promise<void>;
  /**
   * Marks the token used if it exists, is unused and unexpired, atomically, and
   * returns it; otherwise undefined. INVARIANT: at most one caller ever wins.
   */
  consume(tokenHash: string, nowMs: number): Promise<JoinTokenRecord | undefined>;
}

/** The network side of OIDC federation; the fetch-based adapter is in `server/adapters`. */
export interface IssuerDirectory {
  /** The JSON document at `url` (an issuer's `/.well-known/openid-configuration`). Throws identity.oidc_untrusted on a non-2xx answer. */
  fetchJson(url: string): Promise<unknown>;
  /** The keys published at `jwksUri`: fetched on demand, cached, refreshed when an unknown `kid` appears. */
  remoteKeys(jwksUri: URL): JWTVerifyGetKey;
}
