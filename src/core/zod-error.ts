import type { z } from 'zod';

/** `path: message` for each issue, joined: names exactly what was wrong. */
export function formatZodError(error: z.ZodError): string {
  return error.issues
    .map((i) => {
      const path = i.path.length ? i.path.join('.') : '(root)';
      if (i.code === 'unrecognized_keys') return `${path}: unknown field${i.keys.length > 1 ? 's' : ''} ${i.keys.map((k) => `\`${k}\``).join(', ')}`;
      return `${path}: ${i.message}`;
    })
    .join('; ');
}
