export type { Change, ChangeFeed, PolicySetRepo, SettingsRepo, Store, StoredPolicySet, ToolRepo } from './ports.js';
// For the sqlite/ and postgres/ adapters: one query layer over both dialects.
export { kyselyStore } from './kysely-store.js';
export type { Database } from './tables.js';
export { errorCode, type RepoFactory, type StoreDialect } from './dialect.js';
export { checkpointSharedFile, openSqliteStore, type SqliteStore, type SqliteStoreOptions } from './sqlite/index.js';
export { openPostgresStore } from './postgres/index.js';
export { parseChange } from './change-schema.js';
export { StoreHealth, isStoreFault } from './store-health.js';
export { fileAuditSpool, memoryAuditSpool } from './audit-spool.js';
export { fileAuditWitness } from './audit-witness.js';

import { openPostgresStore } from './postgres/index.js';
import { openSqliteStore, type SqliteStoreOptions } from './sqlite/index.js';
import type { Store } from './ports.js';

/** Opens the store a URL names: `postgres://…` / `postgresql://…`, `file:<path>`, or `:memory:`. */
export function openStore(url: string, options: SqliteStoreOptions & { queryTimeoutMs?: number } = {}): Promise<Store> {
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) return openPostgresStore(url, options);
  if (url === ':memory:') return openSqliteStore(':memory:', options);
  if (url.startsWith('file:')) return openSqliteStore(url.slice('file:'.length), options);
  throw new TypeError(`store.url: expected a file: or postgres:// URL, got \`${url}\``);
}
