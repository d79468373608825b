import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { PresentedProof } from '../../credentials/index.js';

/** The header an agent presents its own SVID in beside a delegated task credential. */
export const SVID_HEADER = 'mandate-svid';

/**
 * What came with a request's task credential to prove its holder: the agent's SVID
 * (`Mandate-SVID`), a DPoP proof (`DPoP`), and the request's method and URL as the
 * client addressed it (for the proof's `htm` and `htu`).
 */
export function presentedProof(req: IncomingMessage): PresentedProof {
  const one = (name: string): string | undefined => {
    const v = req.headers[name];
    return typeof v === 'string' && v !== '' ? v : undefined;
  };
  const scheme = (req.socket as TLSSocket).encrypted ? 'https' : 'http';
  const svid = one(SVID_HEADER);
  const dpop = one('dpop');
  return { ...(svid ? { svid } : {}), ...(dpop ? { dpop } : {}), method: req.method ?? 'GET', url: `${scheme}://${req.headers.host ?? 'localhost'}${req.url ?? '/'}` };
}
