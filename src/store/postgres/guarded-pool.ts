import type { PostgresPool, PostgresPoolClient } from 'kysely';
import type pg from 'pg';
import { CopyIn } from './copy-in.js';

/**
 * The pool Kysely sees. pg emits `error` on a pooled client whose connection
 * drops (`pg_terminate_backend`, a restart, a failover, an idle timeout); with
 * no listener Node turns that into an uncaught exception and the replica dies.
 * Here every client has a listener while it is idle and while it is checked
 * out, a query that does not answer within `queryTimeoutMs` fails, and a client
 * that saw a connection error or a timeout is destroyed on release instead of
 * going back to the pool, so the next query gets a fresh connection.
 */
export interface GuardedPool extends PostgresPool {
  /**
   * `COPY … FROM STDIN` of `payload` on a pooled connection, under the same timeout and error handling; the rows copied.
   * With `then`, that statement runs after the COPY in the same transaction.
   */
  copyIn(text: string, payload: Buffer, then?: { text: string; values: unknown[] }): Promise<number>;
}

export function guardedPool(pool: pg.Pool, queryTimeoutMs: number): GuardedPool {
  // An idle client lost its connection: the pool has already dropped it, and the next checkout connects afresh.
  pool.on('error', () => undefined);
  const states = new WeakMap<pg.PoolClient, { broken: Error | undefined }>();
  // Attached once per client and never removed. On the pool's `connect` event, not after `pool.connect()`
  // resolves: a backend terminated right after it connected sends its error in the same packet as the
  // end of the handshake, before the caller's continuation could attach anything.
  const watch = (client: pg.PoolClient) => {
    let state = states.get(client);
    if (!state) {
      const fresh: { broken: Error | undefined } = { broken: undefined };
      client.on('error', (err) => void (fresh.broken = err));
      states.set(client, fresh);
      state = fresh;
    }
    return state;
  };
  pool.on('connect', (client) => void watch(client));
  /** Runs `running` on `client` within the timeout; marks the client broken on a timeout or a connection error. */
  const guard = async <T>(current: { broken: Error | undefined }, running: Promise<T>): Promise<T> => {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        current.broken = new Error(`query timeout: no answer from PostgreSQL within ${queryTimeoutMs} ms`);
        reject(current.broken);
      }, queryTimeoutMs);
    });
    running.catch(() => undefined);
    try {
      return await Promise.race([running, timeout]);
    } catch (err) {
      // A server-side refusal (a SQLSTATE outside the connection classes) leaves the connection usable.
      const code = (err as { code?: unknown }).code;
      if (!(typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) && !/^(08|57|58)/.test(code))) current.broken ??= err as Error;
      throw err;
    } finally {
      clearTimeout(timer);
    }
  };
  return {
    async connect(): Promise<PostgresPoolClient> {
      const client = await pool.connect();
      const current = watch(client);
      const query = (async (text: unknown, parameters?: readonly unknown[]) => {
        if (typeof text !== 'string') return client.query(text as never);
        return guard(current, client.query(text, parameters as unknown[]));
      }) as unknown as PostgresPoolClient['query'];
      return {
        query,
        // Destroyed, not pooled, after a connection error or a timeout.
        release: () => client.release(current.broken),
      };
    },
    async copyIn(text, payload, then) {
      const client = await pool.connect();
      const current = watch(client);
      try {
        if (then) await guard(current, client.query('BEGIN'));
        const copy = new CopyIn(text, payload);
        // pg's types know no copy methods on the connection a submittable writes to; pg has them.
        client.query(copy as unknown as pg.Submittable);
        const copied = await guard(current, copy.done);
        if (then) {
          await guard(current, client.query(then.text, then.values));
          await guard(current, client.query('COMMIT'));
        }
        return copied;
      } catch (err) {
        // A client still usable is handed back outside the failed transaction; a broken one is destroyed anyway.
        if (then && current.broken === undefined) await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      } finally {
        client.release(current.broken);
      }
    },
    end: () => pool.end(),
  };
}
