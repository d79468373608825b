import { sql } from 'kysely';
import { errorCode, type StoreDialect } from '../index.js';

export const sqliteDialect: StoreDialect = {
  kind: 'sqlite',
  isUniqueViolation: (err) => errorCode(err) === 'SQLITE_CONSTRAINT_UNIQUE' || errorCode(err) === 'SQLITE_CONSTRAINT_PRIMARYKEY',
  // `->>` returns SQL text for a JSON string, as PostgreSQL's does (SQLite 3.38+).
  jsonText: (column, field) => sql<string | null>`(${sql.ref(column)} ->> ${`$.${field}`})`,
};
