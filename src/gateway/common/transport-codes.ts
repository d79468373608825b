import { CodedError, type ErrorCode } from '../../core/index.js';

/**
 * How each transport carries a code. One table per transport, every code in the
 * catalog listed (the switch is exhaustive, so a new code does not compile until
 * it is placed): HTTP statuses for the /v1 API and the HTTP gateway, JSON-RPC
 * error codes for the MCP gateway. The CLI's exit codes are in src/cli.
 */

/** The one table from error code to HTTP status, for the control-plane API and the HTTP gateway. */
export function httpStatusOf(code: ErrorCode): number {
  switch (code) {
    case 'request.invalid':
    case 'mandate.invalid':
      return 400;
    case 'request.unauthorized':
    case 'credential.missing':
    case 'credential.invalid':
    case 'credential.expired':
    case 'credential.revoked':
    case 'credential.holder_unproven':
    case 'identity.svid_invalid':
    case 'identity.svid_expired':
    case 'identity.join_token_invalid':
    case 'identity.oidc_untrusted':
    case 'identity.oidc_no_match':
    case 'identity.principal_untrusted':
    case 'dpop.missing':
    case 'dpop.invalid':
    case 'dpop.method_mismatch':
    case 'dpop.url_mismatch':
    case 'dpop.stale':
    case 'dpop.replayed':
    case 'dpop.ath_mismatch':
    case 'dpop.key_mismatch':
    case 'console.sign_in_failed':
    case 'console.signed_out':
      return 401;
    case 'identity.agent_disabled':
    case 'approval.not_allowed':
    case 'monitor.drift.undeclared_tools':
    case 'monitor.drift.arg_violations':
    case 'monitor.drift.repeated_denials':
    case 'monitor.drift.forbidden_secret':
    case 'monitor.drift.rate_burst':
    case 'monitor.drift.plan_deviation':
    case 'monitor.suspended':
    case 'approval.approved':
    case 'approval.denied':
    case 'approval.expired':
    case 'mandate.refused':
    case 'mandate.parent_invalid':
    case 'mandate.principal_unverified':
    case 'delegation.not_permitted':
    case 'delegation.depth_exceeded':
    case 'delegation.children_exceeded':
    case 'mandate.delegation_widens':
    case 'mandate.delegation_unprovable':
    case 'mandate.tool_unknown':
    case 'mandate.tool_not_declared':
    case 'mandate.arg_constraint':
    case 'mandate.limit_exceeded':
    case 'policy.forbid':
    case 'policy.no_permit':
    case 'policy.step_up':
    case 'policy.evaluation_error':
    case 'policy.none_loaded':
    case 'policy.permit':
    case 'gateway.origin_forbidden':
    case 'console.no_role':
    case 'console.csrf':
    case 'console.forbidden':
      return 403;
    case 'gateway.cancelled':
      return 409;
    case 'request.not_found':
    case 'console.not_configured':
    case 'identity.agent_unknown':
    case 'delegation.actor_unknown':
      return 404;
    case 'identity.agent_exists':
    case 'request.conflict':
    case 'approval.not_pending':
      return 409;
    case 'request.too_large':
      return 413;
    case 'request.unreachable':
      return 502;
    case 'gateway.session_invalid':
    case 'gateway.route_unmapped':
      return 404;
    case 'gateway.upstream_error':
    case 'gateway.upstream_protocol_error':
    case 'gateway.result_too_large':
      return 502;
    case 'request.too_many_streams':
    case 'gateway.upstream_unavailable':
    case 'mandate.params_unavailable':
    case 'store.unreachable':
    case 'gateway.secret_unavailable':
      return 503;
    case 'gateway.upstream_timeout':
      return 504;
    case 'internal.error':
      return 500;
  }
}

/** The error body every endpoint returns: the code and a message safe to show, never a stack. */
export function errorBody(err: CodedError): { error: { code: ErrorCode; message: string } & Record<string, unknown> } {
  const refused = (err.detail as { refused?: unknown }).refused;
  return { error: { code: err.code, message: err.publicMessage, ...(refused ? { refused } : {}) } };
}

/** JSON-RPC error codes (MCP): -32001 authentication, -32002 a result that is not available, -32003 a refusal; the reason code itself travels in `error.data.code`. */
export function jsonRpcCodeOf(code: ErrorCode): number {
  const status = httpStatusOf(code);
  if (status === 401) return -32001;
  if (code === 'request.invalid') return -32602;
  if (code === 'internal.error') return -32603;
  if (status >= 500) return -32002;
  return -32003;
}
