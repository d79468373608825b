/**
 * The downstream side of signed mandates: a service checks the mandate document an
 * agent (or the control plane, for a transaction token's holder) hands it, and reads
 * what the task declared it would do. WebCrypto only, like the rest of the SDK.
 */
import type { MandateDocumentClaims } from '../mandate/index.js';
import { TransactionTokenError, checkTimes, verifySignature, type TrustDomainKeys } from './transaction-token.js';

export type { MandateDocumentClaims } from '../mandate/index.js';

// As the control plane signs them (src/mandate/mandate-document.ts); the SDK imports nothing of the server at run time.
const MANDATE_DOCUMENT_TYP = 'mandate+jwt';
const controlPlaneId = (trustDomain: string) => `spiffe://${trustDomain}/mandate`;

export interface VerifyMandateDocumentOptions extends TrustDomainKeys {
  /** The trust domain whose control plane signed it: `aud` must be it, `iss` its control plane. */
  trustDomain: string;
}

/**
 * Verifies a mandate document (`typ: mandate+jwt`) and returns its claims. Refuses,
 * with the same errors and codes as `verifyTransactionToken`, a document that is
 * malformed, of another type, not signed by a key of the trust domain (an altered
 * mandate), for another trust domain or issuer, or past the task's expiry.
 */
export async function verifyMandateDocument(document: string, opts: VerifyMandateDocumentOptions): Promise<MandateDocumentClaims> {
  const claims = await verifySignature(document, MANDATE_DOCUMENT_TYP, opts);
  checkTimes(claims, opts);
  for (const name of ['sub', 'jti'] as const) {
    if (typeof claims[name] !== 'string' || claims[name] === '') throw new TransactionTokenError('missing_claim', `\`${name}\` is missing or not a string`);
  }
  const mandate = claims['mandate'];
  if (mandate === null || typeof mandate !== 'object' || Array.isArray(mandate)) throw new TransactionTokenError('missing_claim', '`mandate` is missing or not an object');
  if (claims.aud !== opts.trustDomain) throw new TransactionTokenError('wrong_audience', `the document is not for the trust domain ${JSON.stringify(opts.trustDomain)}`);
  if (claims.iss !== controlPlaneId(opts.trustDomain)) throw new TransactionTokenError('wrong_issuer', `\`iss\` is not ${JSON.stringify(controlPlaneId(opts.trustDomain))}`);
  return claims as unknown as MandateDocumentClaims;
}
