import type { ErrorCode } from '../core/index.js';

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

/** The one table from error code to exit code; exhaustive, so a new code does not compile until it is placed. */
export function exitCodeOf(code: ErrorCode): number {
  switch (code) {
    case 'request.invalid':
    case 'request.too_large':
    case 'mandate.invalid':
      return EXIT.usage;
    case 'request.unauthorized':
    case 'credential.missing':
    case 'credential.invalid':
    case 'credential.expired':
    case 'credential.revoked':
    case 'identity.svid_invalid':
    case 'identity.svid_expired':
    case 'identity.join_token_invalid':
    case 'identity.oidc_untrusted':
    case 'identity.oidc_no_match':
      return EXIT.unauthorized;
    case 'identity.agent_disabled':
    case 'approval.not_allowed':
    case 'monitor.drift.undeclared_tools':
    case 'monitor.drift.arg_violations':
    case 'monitor.drift.repeated_denials':
    case 'monitor.drift.forbidden_secret':
    case 'monitor.drift.rate_burst':
    case 'monitor.drift.plan_deviation':
    case 'approval.approved':
    case 'approval.denied':
    case 'approval.expired':
    case 'mandate.refused':
    case 'mandate.parent_invalid':
    case 'mandate.tool_unknown':
    case 'mandate.tool_not_declared':
    case 'mandate.arg_constraint':
    case 'mandate.limit_exceeded':
    case 'policy.forbid':
    case 'policy.no_permit':
    case 'policy.evaluation_error':
    case 'policy.none_loaded':
    case 'policy.permit':
    case 'gateway.route_unmapped':
      return EXIT.deny;
    case 'policy.step_up':
      return EXIT.stepUp;
    case 'request.not_found':
    case 'identity.agent_unknown':
    case 'identity.agent_exists':
    case 'request.conflict':
    case 'approval.not_pending':
    case 'gateway.session_invalid':
      return EXIT.notFound;
    case 'request.unreachable':
    case 'store.unreachable':
    case 'gateway.upstream_unavailable':
    case 'gateway.upstream_timeout':
    case 'gateway.secret_unavailable':
      return EXIT.unavailable;
    case 'gateway.upstream_error':
    case 'gateway.upstream_protocol_error':
    case 'gateway.result_too_large':
    case 'internal.error':
      return EXIT.error;
  }
}
