import { sql } from 'kysely';
import { errorCode, type StoreDialect } from '../index.js';

/** SQLSTATE 23505: unique_violation. */
const UNIQUE_VIOLATION = '23505';

export const postgresDialect: StoreDialect = {
  kind: 'postgres',
  isUniqueViolation: (err) => errorCode(err) === UNIQUE_VIOLATION,
  // JSON columns are text (one data model for both databases): cast, then take the field as text.
  jsonText: (column, field) => sql<string | null>`(${sql.ref(column)}::jsonb ->> ${field})`,
};
