import { CEDAR_SCHEMA } from './schema.js';

// Cedar quotes values in backticks, and those values can be tool arguments
// (a path, a token, an e-mail body). Decisions and audit records must not
// carry them, so only names known to be safe survive: schema identifiers,
// policy ids, and entity uids.
const SCHEMA_WORDS = new Set(CEDAR_SCHEMA.match(/[A-Za-z_][A-Za-z0-9_]*/g) ?? []);
const ENTITY_UID = /^(Action|Agent|AgentGroup|Tool|ToolGroup|Task|Principal|Resource)::"[A-Za-z0-9_.:/@-]{0,200}"$/;
const MAX_LENGTH = 300;

/** A Cedar message with request values redacted, for decisions, logs and audit. */
export function safeMessage(message: string, policyIds: ReadonlySet<string>): string {
  const redacted = message.replace(/`([^`]*)`/g, (quoted, inner: string) =>
    SCHEMA_WORDS.has(inner) || policyIds.has(inner) || ENTITY_UID.test(inner) ? quoted : '`…`',
  );
  return redacted.length > MAX_LENGTH ? `${redacted.slice(0, MAX_LENGTH)}…` : redacted;
}
