import type { ErrorCode } from '../core/index.js';
import { httpStatusOf } from '../gateway/index.js';

/**
 * The CLI's exit codes. A decision exits by its outcome (0 allow, 3 deny, 4
 * step_up); an error exits by its code through `exitCodeOf`, so a script can
 * tell "try again later" from "fix your token" without parsing stderr.
 */
export const EXIT = {
  ok: 0,
  /** An unexpected or upstream failure. */
  error: 1,
  /** The command line, the configuration or the request body is wrong. */
  usage: 2,
  deny: 3,
  stepUp: 4,
  /** A policy test, a demo step or the audit chain did not match. */
  mismatch: 5,
  /** The admin token, credential, SVID or join token was refused. */
  unauthorized: 6,
  /** The named resource does not exist, or already exists. */
  notFound: 7,
  /** The control plane, its store or an upstream cannot answer now; retrying later may work. */
  unavailable: 8,
} as const;

/**
 * From error code to exit code, through the one table of HTTP statuses (the CLI
 * reports what the API answered), with the two codes the statuses cannot tell apart.
 */
export function exitCodeOf(code: ErrorCode): number {
  if (code === 'policy.step_up') return EXIT.stepUp;
  // 502 is both an upstream's failure and the control plane out of reach; only the second is worth retrying as is.
  if (code === 'request.unreachable') return EXIT.unavailable;
  const status = httpStatusOf(code);
  if (status === 400 || status === 413) return EXIT.usage;
  if (status === 401) return EXIT.unauthorized;
  if (status === 403) return EXIT.deny;
  if (status === 404 || status === 409) return EXIT.notFound;
  if (status === 503 || status === 504) return EXIT.unavailable;
  return EXIT.error;
}
