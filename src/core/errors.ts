/**
 * The one catalog of error and reason codes. A code is `context.reason`, stable
 * forever, never reused. The same code appears in decisions, API errors, audit
 * records and the CLI. docs/reason-codes.md is checked against this table.
 */
export const ERROR_CODES = {
  // credentials: the task credential presented on a call
  'credential.missing': 'no task credential was presented',
  'credential.invalid': 'the task credential is malformed, has a bad signature, an unknown key, a forbidden algorithm or the wrong audience',
  'credential.expired': 'the task credential is past its expiry',
  'credential.revoked': 'the credential, its task, its agent or its principal was revoked',
  'credential.holder_unproven': 'a delegated task credential was presented without the SVID of the agent it was issued to (`Mandate-SVID` header), or with another agent\'s: it works only for its actor',
  // dpop: proof of possession of the key a task credential is bound to (RFC 9449)
  'dpop.missing': 'the task credential is bound to a key, and no DPoP proof was presented',
  'dpop.invalid': 'the DPoP proof is not one well-formed JWT, or has the wrong `typ`, an algorithm outside the allow-list, a `jwk` that is not a usable public key, a bad signature or a missing or malformed claim',
  'dpop.method_mismatch': 'the DPoP proof was made for another HTTP method (`htm`)',
  'dpop.url_mismatch': 'the DPoP proof was made for another URL (`htu`, compared without query and fragment, after normalising scheme, host and port)',
  'dpop.stale': 'the DPoP proof is older than its window allows or dated further ahead than clock skew allows (`iat`), or is outside its own `exp` or `nbf`',
  'dpop.replayed': 'the DPoP proof was already used (its `jti` was seen within its window)',
  'dpop.ath_mismatch': 'the DPoP proof lacks `ath`, or its `ath` is not the hash of the access token presented with it',
  'dpop.key_mismatch': 'the DPoP proof is signed by a key other than the one the task credential is bound to (`cnf.jkt`)',
  // identity: attestation and SVIDs
  'identity.svid_invalid': 'the SVID is malformed, has a bad signature, an unknown key or the wrong audience',
  'identity.svid_expired': 'the SVID is past its expiry',
  'identity.agent_unknown': 'no agent is registered under that name or SPIFFE ID',
  'identity.agent_disabled': 'the agent was deregistered',
  'identity.agent_exists': 'an agent with that name is already registered',
  'identity.join_token_invalid': 'the join token is unknown, already used or expired',
  'identity.oidc_untrusted': 'the OIDC token does not come from a trusted issuer, or fails its signature, audience or expiry checks',
  'identity.oidc_no_match': 'the OIDC token is valid but no claim rule maps it to an agent',
  'identity.principal_untrusted': 'the person\'s id token is not from a configured identity provider (`principals.issuers`), fails its signature, audience or expiry checks, or lacks the claim that names the person',
  // mandate: the task declaration and its enforcement on each call
  'mandate.invalid': 'the mandate does not match the mandate schema',
  'mandate.refused': 'the ceiling refuses one or more items of the mandate at grant time',
  'mandate.tool_unknown': 'the tool is not in the tool catalog',
  'mandate.tool_not_declared': 'the tool is not declared in the task mandate',
  'mandate.arg_constraint': 'an argument breaks a constraint declared in the mandate, or (at grant time) a constraint names an argument the tool lacks or cannot apply to its type',
  'mandate.limit_exceeded': 'a limit declared in the mandate (calls, rate) is used up',
  'mandate.parent_invalid': 'the parent task is unknown or not active',
  'mandate.principal_unverified': 'the mandate names a person (`onBehalfOf`) no id token of theirs vouched for while `principals.requireToken` is on, or names another person than the id token exchanged for it',
  'mandate.delegation_widens': 'at grant time, a child task declares more than its parent task: a tool the parent does not declare (or, when it plans, does not plan), a data class, egress label or principal the parent lacks, an argument constraint of the parent dropped or loosened, or a limit of the parent dropped or raised',
  'mandate.delegation_unprovable': 'at grant time, a child task\'s argument constraint cannot be shown to be at least as strict as its parent\'s (a different `pattern`, or a `pattern` in place of another kind of constraint): refused, since delegation only ever narrows',
  'mandate.params_unavailable': 'at grant time, a tool\'s argument constraints cannot be checked: its parameters are to be learned from its MCP upstream, which could not list them in time (or does not list the tool); retry, or state the tool\'s `params` in the configuration',
  // delegation: one agent handing part of its task to another (token exchange)
  'delegation.actor_unknown': 'token exchange: the `audience` names no registered agent of this trust domain',
  'delegation.not_permitted': 'the ceiling does not permit the delegating agent to delegate to that agent (Cedar action `delegate`)',
  'delegation.depth_exceeded': 'the child task would sit deeper in its delegation chain than `delegation.maxDepth` allows',
  'delegation.children_exceeded': 'the parent task already has as many live child tasks as `delegation.maxChildren` allows',
  // policy: the organisation's Cedar ceiling
  'policy.permit': 'allowed: the mandate and a permit policy of the ceiling both permit the call',
  'policy.forbid': 'a forbid policy of the ceiling matched',
  'policy.no_permit': 'no permit policy of the ceiling matched',
  'policy.step_up': 'a policy requires a human approval before this action',
  'policy.evaluation_error': 'a policy or the request failed to evaluate; denied rather than skipped',
  'policy.none_loaded': 'no policy is loaded, so nothing is permitted',
  // gateway: the enforcement points in front of upstream tools
  'gateway.upstream_unavailable': 'the upstream server is not running and could not be started, or is backing off after a crash',
  'gateway.upstream_timeout': 'the upstream did not answer within its timeout',
  'gateway.upstream_error': 'the upstream failed the call or answered with something that is not a valid result',
  'gateway.upstream_protocol_error': 'the upstream broke the MCP protocol (wrote a line that is not a JSON-RPC message); its calls in flight fail at once and it is restarted',
  'gateway.result_too_large': 'the result is larger than the mandate allows (limits.maxResultBytes)',
  'gateway.secret_unavailable': 'a secret the upstream needs is not stored or does not decrypt; the upstream is not started',
  'gateway.session_invalid': 'the MCP session is unknown, closed, or belongs to another task',
  'gateway.cancelled': 'the client cancelled the call while it ran; the upstream was told to stop',
  'gateway.origin_forbidden': 'a browser page from an origin not in server.allowedOrigins called the MCP gateway (DNS rebinding protection)',
  'gateway.route_unmapped': 'no action of the HTTP API gateway maps this method and path; unmapped routes are denied',
  // approvals: step-up requests bound to one exact action
  'approval.approved': 'allowed: a person approved this exact call (same task, tool and arguments)',
  'approval.denied': 'a person denied this exact call',
  'approval.expired': 'the approval request expired before anyone decided',
  'approval.not_pending': 'the approval request was already decided, consumed or expired, or was cancelled because its task ended',
  'approval.not_allowed': 'this approver may not decide this request (not among its approvers, or the principal under separation of duties)',
  // monitor: behaviour compared with the declared mandate
  'monitor.drift.undeclared_tools': 'the task tried tools its mandate does not declare; its configured response applies',
  'monitor.drift.arg_violations': 'the task broke its argument constraints; its configured response applies',
  'monitor.drift.repeated_denials': 'the task was denied repeatedly within a minute; its configured response applies (by default it is tightened: calls to untrusted or unseen targets are refused)',
  'monitor.drift.forbidden_secret': 'the task reached for a secret it may not have; its configured response applies',
  'monitor.drift.rate_burst': 'the task went over its declared rate; its configured response applies',
  'monitor.drift.plan_deviation': 'the task used its tools out of the order its mandate planned; its configured response applies',
  'monitor.suspended': 'an operator suspended the task (`POST /v1/tasks/{id}/suspend`); every call is refused until a person resumes it',
  // console: people signing in to the operator console with the organisation's identity provider
  'console.not_configured': 'console sign-in is not configured (`console.oidc` is absent)',
  'console.sign_in_failed': 'a console sign-in was refused: no sign-in in progress in this browser, a `state` that does not match, an error from the identity provider, a code the token endpoint refused (replayed, expired, another client\'s), or an id token that fails its signature, issuer, audience, expiry or `nonce` checks',
  'console.no_role': 'the person signed in, but none of their identity provider groups gives a console role (`console.roles`)',
  'console.signed_out': 'no console session: the session cookie is missing, unknown, signed out or expired',
  'console.csrf': 'an unsafe request (POST, PUT, PATCH, DELETE) with a console session lacks the session\'s `x-csrf-token` header, or comes from another origin',
  'console.forbidden': 'the person signed in to the console lacks the role this endpoint needs',
  // requests and resources at the API
  'request.conflict': 'a resource with that name already exists',
  'request.invalid': 'the request body, parameters or headers are malformed or break the schema',
  'request.too_large': 'the request body is larger than the configured limit',
  'request.unauthorized': 'the admin token is missing or wrong',
  'request.not_found': 'no such resource or route',
  'request.unreachable': 'the CLI or SDK could not reach the control plane; nothing was decided',
  'request.too_many_streams': 'this replica already serves `console.maxStreams` live decision streams; try again later or on another replica',
  'store.unreachable': 'this replica cannot use its store now (a lost or black-holed connection, a store call slower than its bound, a full disk, a read-only or locked file), or has not read it for too long to know recent revocations; denied',
  'internal.error': 'an unexpected error; denied',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

/** Bad input from outside, or a refusal: carries a stable code and a message safe to show. */
export class CodedError extends Error {
  constructor(
    readonly code: ErrorCode,
    readonly publicMessage: string,
    readonly detail: Record<string, unknown> = {},
    options?: { cause?: unknown },
  ) {
    super(`${code}: ${publicMessage}`, options);
    this.name = 'CodedError';
  }
}

/** A configuration or start-up mistake: raised early and never caught to carry on. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

export function assertNever(value: never): never {
  throw new TypeError(`unexpected value ${JSON.stringify(value)}`);
}
