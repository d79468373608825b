import { mkdirSync } from 'node:fs';
import { appendFile, open, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { z } from 'zod';
import type { AuditWitness, WitnessedCheckpoint } from '../audit/index.js';

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
      let text: string;
      try {
        text = await readFile(file, 'utf8');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
        throw err;
      }
      const lines = text.split('\n');
      const out: WitnessedCheckpoint[] = [];
      lines.forEach((line, i) => {
        if (line === '') return;
        let parsed;
        try {
          parsed = WitnessedSchema.safeParse(JSON.parse(line));
        } catch {
          parsed = undefined;
        }
        // Only the very last line may be torn (a crash mid-append, before the checkpoint counted).
        if (!parsed?.success) {
          if (i === lines.length - 1) return;
          throw new Error(`witness ${file}: line ${i + 1} is not a checkpoint`);
        }
        out.push(parsed.data as WitnessedCheckpoint);
      });
      return out;
    },
  };
}
