import { mkdirSync } from 'node:fs';
import { appendFile, open } from 'node:fs/promises';
import { dirname } from 'node:path';
import { z } from 'zod';
import type { AuditWitness, WitnessedCheckpoint } from '../audit/index.js';
import { readJsonLines } from './json-lines.js';

const WitnessedSchema = z.object({
  segment: z.string(),
  fromSeq: z.number().int().min(1),
  seq: z.number().int().min(1),
  headHash: z.string().regex(/^[0-9a-f]{64}$/),
  root: z.string().regex(/^[0-9a-f]{64}$/),
  atMs: z.number(),
  jws: z.string(),
  jwk: z.record(z.string(), z.unknown()),
});

/**
 * A witness as an append-only JSON-lines file, one checkpoint a line, fsynced.
 * Keep it where the database's writers cannot write (another disk, a mount only
 * this process writes, a file shipped off the host): it is what `verify` holds the
 * store against. A line that does not parse is reported by `read`, not skipped:
 * a witness that was edited is itself evidence.
 */
export function fileAuditWitness(file: string): AuditWitness {
  return {
    name: `file:${file}`,
    async append(checkpoint) {
      mkdirSync(dirname(file), { recursive: true });
      await appendFile(file, `${JSON.stringify(checkpoint)}\n`, { mode: 0o600 });
      const h = await open(file, 'r');
      try {
        await h.datasync();
      } finally {
        await h.close();
      }
    },
    async read() {
      return (await readJsonLines(file, WitnessedSchema)).flatMap((l) => {
        if (l.value) return [l.value as WitnessedCheckpoint];
        // Only the very last line may be torn (a crash mid-append, before the checkpoint counted).
        if (l.last) return [];
        throw new Error(`witness ${file}: line ${l.number} is not a checkpoint`);
      });
    },
  };
}
