export { VALUE_KINDS, keyOfTarget, keysOfValue, urlKey, hostOfUrl, normaliseEmail, normaliseHost, normaliseIban, normalisePhone, normaliseText, type ValueKind } from './normalise.js';
export { DEFAULT_EXTRACT_LIMITS, extractCounterparties, extractKeys, splitFields, type ExtractLimits } from './extract.js';
export { PROVENANCES, betterTrust, recordSeen, seenHash, targetCounts, targetsOf, type Provenance, type SeenValues, type SourceTrust, type TargetProvenance } from './provenance.js';
