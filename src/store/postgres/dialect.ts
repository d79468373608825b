import { errorCode, type StoreDialect } from '../index.js';

/** SQLSTATE 23505: unique_violation. */
const UNIQUE_VIOLATION = '23505';

export const postgresDialect: StoreDialect = {
  kind: 'postgres',
  isUniqueViolation: (err) => errorCode(err) === UNIQUE_VIOLATION,
};
