/**
 * Where operational messages go, by severity. The server passes its JSON logger
 * (src/server/telemetry); the domain and the adapters only ever see this port.
 */
export interface Log {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

/** Drops every message: for embedded use and tests that give no logger. */
export const silentLog: Log = Object.freeze({ info: () => undefined, warn: () => undefined, error: () => undefined });
