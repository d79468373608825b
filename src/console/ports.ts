import type { ConsoleSession } from './model.js';

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
