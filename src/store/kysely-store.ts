import { sql, type Kysely } from 'kysely';
import type { StoreDialect } from './dialect.js';
import { migrate } from './migrate.js';
import { agentRepo, approvalRepo, approverRepo, auditRepo, behaviourRepo, consoleReads, consoleSessionRepo, dpopProofRepo, joinTokenRepo, keyRepo, policySetRepo, revocationRepo, secretRepo, settingsRepo, taskRepo, toolRepo } from './repos/index.js';
import type { ChangeFeed, Store } from './ports.js';
import type { Database } from './tables.js';

/** The one query layer: every repository over Kysely, whatever the dialect underneath. Migrates the schema first. */
export async function kyselyStore(db: Kysely<Database>, dialect: StoreDialect, changes: ChangeFeed): Promise<Store> {
  try {
    await migrate(db, dialect.kind);
  } catch (err) {
    // A refused or failed migration must not leave the pool or the listener holding the process open.
    await changes.close().catch(() => undefined);
    await db.destroy().catch(() => undefined);
    throw err;
  }
  return {
    kind: dialect.kind,
    keys: keyRepo(db, dialect),
    agents: agentRepo(db, dialect),
    joinTokens: joinTokenRepo(db, dialect),
    tasks: taskRepo(db, dialect),
    revocations: revocationRepo(db, dialect),
    audit: auditRepo(db, dialect),
    settings: settingsRepo(db, dialect),
    secrets: secretRepo(db, dialect),
    approvals: approvalRepo(db, dialect),
    approvers: approverRepo(db, dialect),
    behaviour: behaviourRepo(db, dialect),
    tools: toolRepo(db, dialect),
    policies: policySetRepo(db, dialect),
    dpopProofs: dpopProofRepo(db, dialect),
    console: consoleReads(db, dialect),
    consoleSessions: consoleSessionRepo(db, dialect),
    changes,
    async ping() {
      await sql`SELECT 1`.execute(db);
    },
    close: async () => {
      await changes.close();
      await db.destroy();
    },
  };
}
