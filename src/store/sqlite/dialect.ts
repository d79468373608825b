import { sql } from 'kysely';
import { errorCode, type StoreDialect } from '../index.js';

/**
 * `StoreDialect.auditHashedText`, as SQL for the prepared statement too. SQLite keeps
 * whatever type is written: a text `at_ms` of `5,"data":{…` would put together the
 * text of another row, so every field's type is checked first. `json_quote` escapes
 * as `JSON.stringify` does (checked for every character below U+0800, and a few beyond).
 */
export const AUDIT_HASHED_TEXT = `CASE WHEN typeof(seq) = 'integer' AND typeof(at_ms) = 'integer' AND typeof(id) = 'text' AND typeof(type) = 'text'
    AND typeof(task_id) IN ('text', 'null') AND typeof(agent_id) IN ('text', 'null') AND typeof(data) = 'text' AND typeof(prev_hash) = 'text' AND typeof(segment) = 'text'
  THEN '{"agentId":' || json_quote(agent_id) || ',"atMs":' || at_ms || ',"data":' || data || ',"id":' || json_quote(id) || ',"prevHash":' || json_quote(prev_hash)
    || ',"segment":' || json_quote(segment) || ',"seq":' || seq || ',"taskId":' || json_quote(task_id) || ',"type":' || json_quote(type) || '}' END`;

export const sqliteDialect: StoreDialect = {
  kind: 'sqlite',
  isUniqueViolation: (err) => errorCode(err) === 'SQLITE_CONSTRAINT_UNIQUE' || errorCode(err) === 'SQLITE_CONSTRAINT_PRIMARYKEY',
  // `->>` returns SQL text for a JSON string, as PostgreSQL's does (SQLite 3.38+).
  jsonText: (column, field) => sql<string | null>`(${sql.ref(column)} ->> ${`$.${field}`})`,
  auditHashedText: sql.raw<string | null>(AUDIT_HASHED_TEXT),
};
