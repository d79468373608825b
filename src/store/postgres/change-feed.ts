import pg from 'pg';
import { z } from 'zod';
import type { Change, ChangeFeed } from '../ports.js';

const CHANNEL = 'mandate_changes';

const ChangeSchema = z.union([
  z.object({
    kind: z.literal('revocation'),
    revocation: z.object({ id: z.string(), kind: z.enum(['credential', 'task', 'agent', 'principal']), subject: z.string(), reason: z.string(), createdAtMs: z.number(), expiresAtMs: z.number() }),
  }),
  z.object({ kind: z.literal('task'), taskId: z.string(), origin: z.string().optional() }),
  z.object({ kind: z.literal('tool'), name: z.string() }),
  z.object({ kind: z.literal('policy'), version: z.number() }),
]);

/**
 * LISTEN/NOTIFY on one dedicated connection per replica, reconnected with
 * backoff when it drops. Notifications from other schemas (other deployments
 * sharing the database) are ignored; payloads are parsed, never trusted.
 */
export function postgresChangeFeed(pool: pg.Pool, connectionString: string, schema: string | null, applicationName: string): ChangeFeed {
  const listeners: ((c: Change) => void)[] = [];
  const scope = schema ?? 'public';
  let client: pg.Client | undefined;
  let closed = false;
  let retryMs = 250;
  let timer: NodeJS.Timeout | undefined;

  const connect = async (): Promise<void> => {
    if (closed) return;
    const c = new pg.Client({ connectionString, application_name: applicationName });
    c.on('error', () => undefined);
    c.on('end', () => {
      if (client === c) client = undefined;
      if (!closed) schedule();
    });
    c.on('notification', (msg) => {
      try {
        const parsed = JSON.parse(msg.payload ?? '') as { scope?: unknown; change?: unknown };
        if (parsed.scope !== scope) return;
        const change = ChangeSchema.safeParse(parsed.change);
        if (change.success) for (const l of listeners) l(change.data as Change);
      } catch {
        // a garbled notification is dropped; the catch-up read covers it
      }
    });
    try {
      await c.connect();
      await c.query(`LISTEN ${CHANNEL}`);
      if (closed) {
        // Closed while connecting (a store that failed to open): nothing may keep this connection.
        await c.end().catch(() => undefined);
        return;
      }
      client = c;
      retryMs = 250;
    } catch {
      await c.end().catch(() => undefined);
      schedule();
    }
  };
  const schedule = () => {
    if (closed || timer) return;
    timer = setTimeout(() => {
      timer = undefined;
      void connect();
    }, retryMs);
    timer.unref();
    retryMs = Math.min(retryMs * 2, 5000);
  };
  void connect();

  return {
    publish: async (change) => {
      await pool.query('SELECT pg_notify($1, $2)', [CHANNEL, JSON.stringify({ scope, change })]);
    },
    subscribe: (l) => void listeners.push(l),
    close: async () => {
      closed = true;
      if (timer) clearTimeout(timer);
      listeners.splice(0);
      await client?.end().catch(() => undefined);
    },
  };
}
