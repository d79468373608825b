import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Actor } from '../audit/index.js';
import type { Role } from '../console/index.js';
import { CodedError, formatZodError } from '../core/index.js';
import * as Api from './api-schemas.js';

/** Who asks, if they hold the role an endpoint needs; refuses (`request.unauthorized`) otherwise. */
export type Authorize = (req: FastifyRequest, needed: Role) => Promise<Actor>;

const Bearer = /^Bearer ([A-Za-z0-9._~+/=-]+)$/;
export function bearer(req: FastifyRequest): string | undefined {
  const header = req.headers.authorization;
  return typeof header === 'string' ? Bearer.exec(header)?.[1] : undefined;
}

/** Validates a request part with zod; the error names the field (`request.invalid`). */
export function parse<T extends z.ZodType>(schema: T, value: unknown, where: string): z.output<T> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new CodedError('request.invalid', `${where}: ${formatZodError(parsed.error)}`);
  return parsed.data;
}

/** JSON Schema for the OpenAPI document, generated from the same zod schema that validates (a request) or describes (a response). */
export function jsonSchema(schema: z.ZodType, io: 'input' | 'output' = 'input'): Record<string, unknown> {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as Record<string, unknown>;
  return rest;
}

export const ErrorSchema = jsonSchema(Api.ErrorBody, 'output');

/** A route's OpenAPI entry: its summary, its responses (every 4xx is the error body) and whatever else it declares. */
export function doc(summary: string, { response = {}, ...extra }: { response?: Record<number, z.ZodType>; [key: string]: unknown } = {}) {
  return { schema: { summary, response: { ...Object.fromEntries(Object.entries(response).map(([status, schema]) => [status, jsonSchema(schema, 'output')])), '4xx': ErrorSchema }, ...extra } };
}
