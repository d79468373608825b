import { errorCode, type StoreDialect } from '../index.js';

export const sqliteDialect: StoreDialect = {
  kind: 'sqlite',
  isUniqueViolation: (err) => errorCode(err) === 'SQLITE_CONSTRAINT_UNIQUE' || errorCode(err) === 'SQLITE_CONSTRAINT_PRIMARYKEY',
};
