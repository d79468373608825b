import { sql } from 'kysely';
import { errorCode, type StoreDialect } from '../index.js';

/** SQLSTATE 23505: unique_violation. */
const UNIQUE_VIOLATION = '23505';

export const postgresDialect: StoreDialect = {
  kind: 'postgres',
  isUniqueViolation: (err) => errorCode(err) === UNIQUE_VIOLATION,
  // JSON columns are text (one data model for both databases): cast, then take the field as text.
  jsonText: (column, field) => sql<string | null>`(${sql.ref(column)}::jsonb ->> ${field})`,
  // Columns hold only their declared types; `to_json` of text escapes as `JSON.stringify` does (checked for every character below U+0800).
  auditHashedText: sql<string | null>`('{"agentId":' || coalesce(to_json(agent_id)::text, 'null') || ',"atMs":' || at_ms || ',"data":' || data || ',"id":' || to_json(id)::text
    || ',"prevHash":' || to_json(prev_hash)::text || ',"segment":' || to_json(segment)::text || ',"seq":' || seq || ',"taskId":' || coalesce(to_json(task_id)::text, 'null')
    || ',"type":' || to_json(type)::text || '}')`,
};
