export * from './model.js';
export type { AgentRepo, IssuerDirectory, JoinTokenRepo, KeyRepo } from './ports.js';
export { KeyRing, describeJoseError, type VerifyOptions } from './key-ring.js';
export { OidcTrust, readClaim, matchesClaim, type TrustedIssuer } from './oidc-trust.js';
export { IdentityService, RegisterAgentSchema, SVID_TYP, type IdentityDeps, type IssuedSvid, type RegisterAgentInput } from './identity-service.js';
export { PrincipalTrust, type PrincipalIssuer, type VerifiedPrincipal } from './principal-trust.js';
