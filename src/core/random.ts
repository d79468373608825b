import { randomBytes } from 'node:crypto';

/** Randomness enters the domain through this port so tests can fix it. */
export interface Random {
  /** A URL-safe random string carrying `bytes` bytes of entropy. */
  token(bytes: number): string;
}

export const systemRandom: Random = {
  token: (bytes) => randomBytes(bytes).toString('base64url'),
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
