import pino, { type DestinationStream, type Level, type Logger } from 'pino';

export type { Logger } from 'pino';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const satisfies readonly (Level | 'silent')[];
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * The JSON logger: one object a line, `level` as a word, `time` in ISO 8601,
 * `pid` and `hostname`; request lines add `reqId`. Written synchronously to
 * standard output unless another destination is given (tests collect lines).
 */
export function createLogger(level: LogLevel, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination ?? pino.destination({ fd: 1, sync: true }),
  );
}

/** A logger that writes nothing: the default of an embedded control plane. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
