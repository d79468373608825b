import { z } from 'zod';
import type { Change } from './ports.js';

const ChangeSchema = z.union([
  z.object({
    kind: z.literal('revocation'),
    revocation: z.object({ id: z.string(), kind: z.enum(['credential', 'task', 'agent', 'principal']), subject: z.string(), reason: z.string(), createdAtMs: z.number(), expiresAtMs: z.number() }),
  }),
  z.object({ kind: z.literal('task'), taskId: z.string(), origin: z.string().optional() }),
  z.object({ kind: z.literal('tool'), name: z.string() }),
  z.object({ kind: z.literal('policy'), version: z.number() }),
  z.object({ kind: z.literal('approval'), id: z.string() }),
  z.object({ kind: z.literal('mcp-session'), id: z.string() }),
  z.object({
    kind: z.literal('mcp-answer'),
    sessionId: z.string(),
    message: z.object({ id: z.union([z.string(), z.number()]), result: z.unknown().optional(), error: z.object({ code: z.unknown().optional(), message: z.unknown().optional() }).optional() }),
  }),
]);

/** A change that came from outside this process (a notification, another worker), parsed, never trusted; undefined when it is not one. */
export function parseChange(value: unknown): Change | undefined {
  const parsed = ChangeSchema.safeParse(value);
  return parsed.success ? (parsed.data as Change) : undefined;
}
