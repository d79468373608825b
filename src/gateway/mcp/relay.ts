/**
 * What an upstream sends about one call while it runs, passed back to the agent
 * that made it: progress and log messages, and requests the upstream makes of the
 * client (sampling, elicitation, roots), each decided before the agent sees it.
 * Cancelling the agent's request aborts `signal`.
 */
export interface CallRelay {
  /** A notification about this call (`notifications/progress`, `notifications/message`). */
  notify(method: string, params: Record<string, unknown>): void;
  /** A request the upstream makes of the client during this call: the agent's result, or an McpError. */
  ask(method: string, params: Record<string, unknown>): Promise<unknown>;
  signal: AbortSignal;
  /** The agent's progress token: progress is relayed only to an agent that asked for it. */
  progressToken: string | number | undefined;
}

/** Server-to-client requests the gateway relays, and the action each is decided as (`<upstream>.<action>`). */
export const CLIENT_REQUESTS: Readonly<Record<string, 'sampling' | 'elicitation' | 'roots'>> = {
  'sampling/createMessage': 'sampling',
  'elicitation/create': 'elicitation',
  'roots/list': 'roots',
};
