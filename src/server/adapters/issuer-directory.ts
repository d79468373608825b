import * as jose from 'jose';
import { CodedError } from '../../core/index.js';
import type { IssuerDirectory } from '../../identity/index.js';

/** OIDC discovery and remote key sets over HTTP, with a 5 s timeout and a 30 s cooldown between key refetches. */
export const httpIssuerDirectory: IssuerDirectory = {
  async fetchJson(url) {
    const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
    if (!res.ok) throw new CodedError('identity.oidc_untrusted', `issuer metadata answered HTTP ${res.status}`);
    return res.json();
  },
  remoteKeys(jwksUri) {
    return jose.createRemoteJWKSet(jwksUri, { timeoutDuration: 5000, cooldownDuration: 30_000 });
  },
};
