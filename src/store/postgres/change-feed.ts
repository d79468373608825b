import pg from 'pg';
import { parseChange, type Change, type ChangeFeed } from '../index.js';

const CHANNEL = 'mandate_changes';


/**
 * LISTEN/NOTIFY on one dedicated connection per replica, reconnected with
 * backoff when it drops. A silent connection (packets dropped) is found by a
 * heartbeat query and replaced. After every reconnection subscribers get a
 * `gap` change, so they re-read what they may have missed. Notifications from
 * other schemas (other deployments sharing the database) are ignored; payloads
 * are parsed, never trusted.
 */
export function postgresChangeFeed(pool: pg.Pool, connectionString: string, schema: string | null, applicationName: string, timeoutMs = 5000): ChangeFeed {
  const listeners: ((c: Change) => void)[] = [];
  const scope = schema ?? 'public';
  let client: pg.Client | undefined;
  let closed = false;
  let retryMs = 100;
  let timer: NodeJS.Timeout | undefined;
  let connectedOnce = false;

  const emit = (change: Change) => {
    for (const l of listeners) l(change);
  };
  const connect = async (): Promise<void> => {
    if (closed) return;
    const c = new pg.Client({ connectionString, application_name: applicationName, connectionTimeoutMillis: timeoutMs, keepAlive: true });
    c.on('error', () => undefined);
    c.on('end', () => {
      if (client === c) client = undefined;
      if (!closed) schedule();
    });
    c.on('notification', (msg) => {
      try {
        const parsed = JSON.parse(msg.payload ?? '') as { scope?: unknown; change?: unknown };
        if (parsed.scope !== scope) return;
        const change = parseChange(parsed.change);
        if (change) emit(change);
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
      retryMs = 100;
      if (connectedOnce) emit({ kind: 'gap' });
      connectedOnce = true;
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
    retryMs = Math.min(retryMs * 2, 1000);
  };
  void connect();
  // A dropped-packet outage leaves the connection open and silent: a query that does not come back replaces it.
  const heartbeat = setInterval(() => {
    const c = client;
    if (!c) return;
    let answered = false;
    const deadline = setTimeout(() => {
      if (answered || client !== c) return;
      client = undefined;
      // end() waits on the dead socket; destroying it fires 'end', which reconnects.
      (c as unknown as { connection: { stream: { destroy(): void } } }).connection.stream.destroy();
    }, timeoutMs);
    deadline.unref();
    c.query('SELECT 1').then(
      () => void (answered = true),
      () => undefined,
    );
  }, Math.max(1000, Math.floor(timeoutMs / 2)));
  heartbeat.unref();

  return {
    publish: async (change) => {
      await pool.query('SELECT pg_notify($1, $2)', [CHANNEL, JSON.stringify({ scope, change })]);
    },
    subscribe: (l) => void listeners.push(l),
    close: async () => {
      closed = true;
      if (timer) clearTimeout(timer);
      clearInterval(heartbeat);
      listeners.splice(0);
      await client?.end().catch(() => undefined);
    },
  };
}
