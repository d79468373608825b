import type { ApprovalRepo, ApproverRepo } from '../approvals/index.js';
import type { AuditRepo } from '../audit/index.js';
import type { ConsoleReads } from '../console/index.js';
import type { ConsoleSessionRepo } from '../console/index.js';
import type { ToolSpec } from '../core/index.js';
import type { DpopReplayCache, RevocationRepo } from '../credentials/index.js';
import type { AgentRepo, JoinTokenRepo, KeyRepo } from '../identity/index.js';
import type { TaskRepo } from '../mandate/index.js';
import type { BehaviourRepo } from '../monitor/index.js';
import type { SecretRepo } from '../secrets/index.js';

export interface SettingsRepo {
  get(key: string): Promise<string | undefined>;
  /** Stores `value` unless the key exists; returns whichever value is stored afterwards. */
  setIfAbsent(key: string, value: string): Promise<string>;
  /** Stores `value`, replacing what the key held. */
  set(key: string, value: string): Promise<void>;
}

/** A change another replica must apply before its next decision. */
export type Change =
  | { kind: 'revocation'; revocation: { id: string; kind: 'credential' | 'task' | 'agent' | 'principal'; subject: string; reason: string; createdAtMs: number; expiresAtMs: number } }
  | { kind: 'task'; taskId: string; /** The replica that made the change; it does not need to re-read it. */ origin?: string }
  | { kind: 'tool'; name: string }
  | { kind: 'policy'; version: number }
  /** A person decided an approval: calls held open for it on other replicas re-read it now. */
  | { kind: 'approval'; id: string }
  /** An MCP session was closed (`DELETE /mcp`): no replica may take it up again. */
  | { kind: 'mcp-session'; id: string }
  /** An agent's answer to a request relayed to it, received by a process other than the one waiting for it. */
  | { kind: 'mcp-answer'; sessionId: string; message: { id: string | number; result?: unknown; error?: { code?: unknown; message?: unknown } } }
  /** The feed was cut and is back: changes may have been missed, so re-read the store. */
  | { kind: 'gap' };

/** A policy set kept in the store, so every replica serves the same version. */
export interface StoredPolicySet {
  version: number;
  files: { name: string; text: string }[];
  hash: string;
  createdAtMs: number;
  createdBy: string;
}

export interface PolicySetRepo {
  /** Stores the next version; fails when another writer took that version first. */
  insert(set: StoredPolicySet): Promise<void>;
  latest(): Promise<StoredPolicySet | undefined>;
  latestVersion(): Promise<number>;
}

/** Tool metadata registered through the API, beside the configured catalog. */
export interface ToolRepo {
  upsert(spec: ToolSpec, atMs: number): Promise<void>;
  list(): Promise<ToolSpec[]>;
}

/**
 * Pushes changes between replicas sharing a store (PostgreSQL LISTEN/NOTIFY).
 * Best effort by design: a missed message is caught up by the periodic re-read.
 */
export interface ChangeFeed {
  publish(change: Change): Promise<void>;
  /** Calls `onChange` for changes published by any replica (this one included). */
  subscribe(onChange: (change: Change) => void): void;
  close(): Promise<void>;
}

/** Every persistence port, as one adapter provides them. */
export interface Store {
  readonly kind: 'sqlite' | 'postgres';
  readonly keys: KeyRepo;
  readonly agents: AgentRepo;
  readonly joinTokens: JoinTokenRepo;
  readonly tasks: TaskRepo;
  readonly revocations: RevocationRepo;
  readonly audit: AuditRepo;
  readonly settings: SettingsRepo;
  readonly secrets: SecretRepo;
  readonly approvals: ApprovalRepo;
  readonly approvers: ApproverRepo;
  readonly behaviour: BehaviourRepo;
  readonly tools: ToolRepo;
  readonly policies: PolicySetRepo;
  /** DPoP proofs seen by any replica (RFC 9449 replay check). */
  readonly dpopProofs: DpopReplayCache & { sweep(nowMs: number): Promise<number> };
  /** The operator console's lists (read only). */
  readonly console: ConsoleReads;
  /** People signed in to the operator console. */
  readonly consoleSessions: ConsoleSessionRepo;
  readonly changes: ChangeFeed;
  /** A cheap round trip: does the store answer? */
  ping(): Promise<void>;
  close(): Promise<void>;
}
