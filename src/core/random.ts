import { randomBytes } from 'node:crypto';

/** Randomness enters the domain through this port so tests can fix it. */
export interface Random {
  /** A URL-safe random string carrying `bytes` bytes of entropy. */
  token(bytes: number): string;
}

/**
 * Bytes from the CSPRNG drawn 4 KB at a time: one system call per few hundred ids
 * instead of one each (as `crypto.randomUUID` pools its own). Each byte is handed
 * out once and wiped from the pool.
 */
const POOL_BYTES = 4096;
let pool = Buffer.alloc(0);
let used = 0;

export const systemRandom: Random = {
  token: (bytes) => {
    if (bytes > POOL_BYTES / 8) return randomBytes(bytes).toString('base64url');
    if (used + bytes > pool.length) {
      pool = randomBytes(POOL_BYTES);
      used = 0;
    }
    const token = pool.toString('base64url', used, used + bytes);
    pool.fill(0, used, used + bytes);
    used += bytes;
    return token;
  },
};

/** Deterministic randomness for tests: a counter, never for production. */
export function sequenceRandom(seed = 'test'): Random {
  let n = 0;
  return {
    token: (bytes) => {
      n += 1;
      return `${seed}${String(n).padStart(8, '0')}`.padEnd(Math.ceil((bytes * 4) / 3), 'x');
    },
  };
}
