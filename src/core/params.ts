import { z } from 'zod';

/** The parameter types a tool catalog can state (a JSON-Schema subset). */
export const PARAM_TYPES = ['string', 'number', 'integer', 'boolean', 'array', 'object'] as const;
export type ParamType = (typeof PARAM_TYPES)[number];

/** How deep `items` and `properties` may nest in a parameter description. */
export const MAX_PARAM_DEPTH = 6;

/** One parameter of a tool; a missing `type` means any value (the name is known, its shape is not). */
export interface ParamSpec {
  type?: ParamType;
  /** The items of an array. */
  items?: ParamSpec;
  /** The fields of an object; when given, a mandate may constrain only these. */
  properties?: Record<string, ParamSpec>;
  required?: string[];
  description?: string;
}

const PARAM_NAME = z.string().min(1).max(128);

// Built to a fixed depth rather than recursively: parsing stays bounded and the JSON Schema stays flat.
function paramSpecSchema(level: number): z.ZodType<ParamSpec> {
  const inner = level + 1 < MAX_PARAM_DEPTH ? paramSpecSchema(level + 1) : z.never({ error: `parameters nest at most ${MAX_PARAM_DEPTH} levels deep` });
  return z
    .object({
      type: z.enum(PARAM_TYPES).optional(),
      items: inner.optional(),
      properties: z.record(PARAM_NAME, inner).optional(),
      required: z.array(PARAM_NAME).max(256).optional(),
      description: z.string().max(1000).optional(),
    })
    .strict()
    .superRefine((p, ctx) => {
      if (p.items !== undefined && p.type !== 'array') ctx.addIssue({ code: 'custom', path: ['items'], message: '`items` needs `type: array`' });
      if (p.properties !== undefined && p.type !== 'object') ctx.addIssue({ code: 'custom', path: ['properties'], message: '`properties` needs `type: object`' });
      if (p.required !== undefined && p.type !== 'object') ctx.addIssue({ code: 'custom', path: ['required'], message: '`required` needs `type: object`' });
    }) as z.ZodType<ParamSpec>;
}

/** A tool's parameters by name: `{ to: { type: "array", items: { type: "string" } }, subject: { type: "string" } }`. */
export const ToolParamsSchema = z.record(PARAM_NAME, paramSpecSchema(0));
export type ToolParams = Record<string, ParamSpec>;
