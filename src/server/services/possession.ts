import { verifyDpopProof, type DpopReplayCache, type PresentedProof } from '../../credentials/index.js';
import { CodedError, type Clock } from '../../core/index.js';

/**
 * DPoP (RFC 9449) as the control plane checks it on every request that carries a
 * key-bound token: the proof came with the request, was made for its method and
 * URL, is fresh, was never seen by any replica, hashes the token it came with, and
 * is signed by the bound key. Returns the key's thumbprint.
 * Errors: dpop.*, store.unreachable (the replay check could not be made).
 */
export class PossessionCheck {
  constructor(private readonly d: { replay: DpopReplayCache; clock: Clock }) {}

  async dpop(presented: PresentedProof | undefined, expect: { accessToken?: string; jkt?: string } = {}): Promise<string> {
    if (!presented?.dpop) throw new CodedError('dpop.missing', expect.jkt ? 'this token is bound to a key: send a DPoP proof with it (`DPoP` header)' : 'no DPoP proof was presented');
    const verified = await verifyDpopProof(presented.dpop, { method: presented.method, url: presented.url, ...expect, nowMs: this.d.clock.nowMs() }, this.d.replay);
    return verified.jkt;
  }
}
