export * from './model.js';
export type { DpopReplayCache, RevocationRepo } from './ports.js';
export { RevocationSet, type RevocationSubject } from './revocation-set.js';
export { CredentialService, type CredentialDeps, type MintRequest } from './credential-service.js';
export {
  DPOP_ALGORITHMS,
  DPOP_DEFAULT_MAX_AGE_SECONDS,
  DPOP_DEFAULT_MAX_SKEW_SECONDS,
  DPOP_MAX_JTI_CHARS,
  DPOP_PROOF_TYP,
  DpopKeyCache,
  jwkThumbprint,
  normalizedHtu,
  verifyDpopProof,
  type DpopExpectation,
  type VerifiedDpopProof,
} from './dpop.js';
export { MemoryDpopReplayCache, type MemoryDpopReplayCacheOptions } from './dpop-replay-cache.js';
