import { mkdirSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { z } from 'zod';
import { readJsonLines } from './json-lines.js';
import { AUDIT_EVENT_TYPES, type AuditSpool, type SpooledEntry } from '../audit/index.js';

const SpooledEntrySchema = z
  .object({
    id: z.string(),
    atMs: z.number(),
    type: z.enum(AUDIT_EVENT_TYPES),
    taskId: z.string().nullable(),
    agentId: z.string().nullable(),
    data: z.record(z.string(), z.unknown()),
    afterSeq: z.number().int().min(0),
  })
  .strict();

/**
 * The audit spool as a JSON-lines file, fsynced before a caller resumes, so a
 * decision answered while the store was out of reach survives kill -9. The file
 * is created on first use: a process that never loses its store writes nothing.
 */
export function fileAuditSpool(file: string): AuditSpool {
  let handle: FileHandle | undefined;
  const writable = async (): Promise<FileHandle> => {
    if (!handle) {
      mkdirSync(dirname(file), { recursive: true });
      handle = await open(file, 'a+', 0o600);
      // A torn last line must not swallow the next record: start on a fresh line.
      const { size } = await handle.stat();
      if (size > 0) {
        const last = Buffer.alloc(1);
        await handle.read(last, 0, 1, size - 1);
        if (last[0] !== 0x0a) await handle.write('\n');
      }
    }
    return handle;
  };
  return {
    async append(entries) {
      const h = await writable();
      await h.write(entries.map((e) => `${JSON.stringify(e)}\n`).join(''));
      await h.datasync();
    },
    async read() {
      // A line that does not parse was torn by a crash during its write, before its caller was answered.
      return (await readJsonLines(file, SpooledEntrySchema)).flatMap((l) => (l.value ? [l.value as SpooledEntry] : []));
    },
    async clear() {
      const h = await writable();
      await h.truncate(0);
      await h.datasync();
    },
  };
}

/** For the in-memory store, which nothing outlives anyway. */
export function memoryAuditSpool(): AuditSpool {
  let entries: SpooledEntry[] = [];
  return {
    append: async (more) => void entries.push(...more),
    read: async () => [...entries],
    clear: async () => void (entries = []),
  };
}
