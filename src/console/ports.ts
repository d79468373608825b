import type { ConsoleSession } from './model.js';
import type { TaskId } from '../core/index.js';
import type { Agent } from '../identity/index.js';
import type { Task } from '../mandate/index.js';
import type { Signal } from '../monitor/index.js';

/** What the console's task list filters on. `active` means live: not ended and not past its expiry; `expired` is the rest of `active` rows. */
export type TaskListStatus = 'active' | 'expired' | 'completed' | 'revoked';

export interface TaskListQuery {
  agentId?: string;
  principal?: string;
  status?: TaskListStatus;
  parentTaskId?: TaskId;
  /** The purpose contains this text, case folded. */
  purposeContains?: string;
  /** Only tasks older than this one, in list order (newest first): the next page. */
  before?: { createdAtMs: number; id: string };
  limit: number;
  nowMs: number;
}

/** The monitor's stored summary of a task: what it was at the last change every replica sees (signals, suspension). */
export interface StoredDrift {
  score: number;
  signals: Signal[];
  /** A signal, or `operator` when a person suspended the task. */
  suspendedBy: string | null;
}

export interface TaskListing {
  task: Task;
  /** null: the monitor has stored nothing for the task yet. */
  drift: StoredDrift | null;
}

export interface AgentListing {
  agent: Agent;
  /** The newest audit event naming the agent (attestation, grant, decision, result), null when none. */
  lastSeenMs: number | null;
  /** Tasks it holds that have not ended and are not past their expiry. */
  activeTasks: number;
}

/**
 * Read models for the operator console: one query a page, whatever the number of
 * tasks, answered from indexes. Nothing here changes the store.
 */
export interface ConsoleReads {
  tasks(q: TaskListQuery): Promise<TaskListing[]>;
  /** The task and its descendants through the parent links, breadth first, at most `maxNodes`. */
  taskTree(root: TaskId, maxNodes: number): Promise<TaskListing[]>;
  /** Agents by name, after `afterName`. */
  agents(q: { afterName?: string; limit: number; nowMs: number }): Promise<AgentListing[]>;
}


/** Console sessions in the store every replica shares, so a sign-out on one ends the session on all. */
export interface ConsoleSessionRepo {
  insert(s: ConsoleSession): Promise<void>;
  /** The session with this id hash, whatever its expiry. */
  get(idHash: string): Promise<ConsoleSession | undefined>;
  touch(idHash: string, lastSeenAtMs: number): Promise<void>;
  /** Returns whether a session was deleted. */
  delete(idHash: string): Promise<boolean>;
  /** Deletes sessions past their expiry; returns how many. */
  sweep(nowMs: number): Promise<number>;
}

/**
 * Posts a form to the identity provider's token endpoint (RFC 6749 §4.1.3) and returns
 * the JSON it answers, whatever the status: an OAuth error body is an answer too.
 * With `basic`, the client authenticates with HTTP Basic (`client_secret_basic`).
 * The HTTP adapter is in `server/adapters`.
 */
export type TokenEndpoint = (url: string, form: Record<string, string>, basic?: { clientId: string; clientSecret: string }) => Promise<{ status: number; body: unknown }>;
