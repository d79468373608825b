import { mkdirSync } from 'node:fs';
import { open, stat, truncate } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { AuditDestination, AuditEvent } from '../../audit/index.js';

/** How an event is written to a sink or an export: one line of JSON, no line break inside. */
export type EncodeEvent = (e: AuditEvent) => string;

/**
 * A file a log shipper reads: each batch appended as JSON lines and fsynced before
 * the cursor moves. A line torn by a crash mid-append is cut off before the first
 * append of a new process: its event was not marked delivered, so it comes again whole.
 */
export function fileAuditDestination(file: string, encode: EncodeEvent): AuditDestination {
  let tailChecked = false;
  return {
    name: `file:${file}`,
    async deliver(events) {
      mkdirSync(dirname(file), { recursive: true });
      if (!tailChecked) {
        await dropTornLine(file);
        tailChecked = true;
      }
      const h = await open(file, 'a', 0o600);
      try {
        await h.writeFile(`${events.map(encode).join('\n')}\n`);
        await h.datasync();
      } finally {
        await h.close();
      }
    },
  };
}

/** Cuts the file back to its last complete line. */
async function dropTornLine(file: string): Promise<void> {
  let size: number;
  try {
    size = (await stat(file)).size;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  const h = await open(file, 'r');
  try {
    const chunk = Buffer.alloc(64 * 1024);
    for (let end = size; end > 0; ) {
      const start = Math.max(0, end - chunk.length);
      const { bytesRead } = await h.read(chunk, 0, end - start, start);
      const newline = chunk.subarray(0, bytesRead).lastIndexOf(0x0a);
      if (newline >= 0) {
        if (start + newline + 1 < size) await truncate(file, start + newline + 1);
        return;
      }
      end = start;
    }
  } finally {
    await h.close();
  }
  await truncate(file, 0);
}

export interface WebhookSinkTarget {
  url: string;
  timeoutMs: number;
  /** The headers to send, secrets resolved. */
  headers(): Promise<Record<string, string>>;
}

/** A SIEM's HTTP collector: each batch posted as JSON lines; anything but a 2xx answer in time is a failure, retried by the forwarder. */
export function webhookAuditDestination(target: WebhookSinkTarget, encode: EncodeEvent): AuditDestination {
  return {
    // Logged with every failure: no user info or query string, which may hold the collector's token.
    name: nameOf(target.url),
    async deliver(events) {
      const res = await fetch(target.url, {
        method: 'POST',
        headers: { 'content-type': 'application/x-ndjson', ...(await target.headers()) },
        body: `${events.map(encode).join('\n')}\n`,
        signal: AbortSignal.timeout(target.timeoutMs),
      });
      await res.arrayBuffer().catch(() => undefined);
      if (!res.ok) throw new Error(`the sink answered HTTP ${res.status}`);
    },
  };
}

function nameOf(url: string): string {
  const u = new URL(url);
  return `${u.protocol}//${u.host}${u.pathname}`;
}
