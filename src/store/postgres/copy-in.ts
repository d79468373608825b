/**
 * `COPY … FROM STDIN` as one pg submittable: the statement and its rows go out in
 * a single write, without waiting for the server's CopyInResponse, so a COPY costs
 * one round trip like any other statement. Safe: a server that refuses the
 * statement before reading the rows ignores CopyData and CopyDone outside a COPY
 * (the protocol says so, for exactly this case).
 */
export class CopyIn {
  readonly done: Promise<number>;
  private sent = false;
  private rows = 0;
  private failure: unknown;
  private settle!: { resolve: (rows: number) => void; reject: (err: unknown) => void };

  constructor(
    private readonly text: string,
    private readonly payload: Buffer,
  ) {
    this.done = new Promise((resolve, reject) => (this.settle = { resolve, reject }));
    this.done.catch(() => undefined);
  }

  submit(connection: CopyConnection): void {
    // Corked as pg corks its own extended queries: three messages, one write.
    connection.stream.cork();
    try {
      connection.query(this.text);
      this.send(connection);
    } finally {
      connection.stream.uncork();
    }
  }

  handleCopyInResponse(connection: CopyConnection): void {
    this.send(connection);
  }

  handleCommandComplete(msg: { text?: string }): void {
    const n = /(\d+)$/.exec(msg.text ?? '');
    this.rows = n ? Number(n[1]) : 0;
  }

  handleReadyForQuery(): void {
    if (this.failure === undefined) this.settle.resolve(this.rows);
  }

  handleError(err: unknown): void {
    this.failure ??= err;
    this.settle.reject(err);
  }

  handleRowDescription(): void {}
  handleDataRow(): void {}
  handleEmptyQuery(): void {}
  handlePortalSuspended(): void {}
  handleCopyData(): void {}

  private send(connection: CopyConnection): void {
    if (this.sent) return;
    this.sent = true;
    connection.sendCopyFromChunk(this.payload);
    connection.endCopyFrom();
  }
}

/** The part of pg's (undocumented but stable) Connection a submittable writes to. */
interface CopyConnection {
  stream: { cork(): void; uncork(): void };
  query(text: string): void;
  sendCopyFromChunk(chunk: Buffer): void;
  endCopyFrom(): void;
}

/** A field of COPY's text format: backslash, tab, newline and carriage return escaped; null as `\\N`. */
export function copyField(value: string | number | null): string {
  if (value === null) return '\\N';
  if (typeof value === 'number') return String(value);
  // `includes` scans far faster than a regular expression, and these characters are rare.
  if (!(value.includes('\\') || value.includes('\t') || value.includes('\n') || value.includes('\r'))) return value;
  return value.replace(ESCAPES, (ch) => ESCAPED[ch]!);
}

const ESCAPES = /[\\\t\n\r]/g;
const ESCAPED: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };
