import { timingSafeEqual } from 'node:crypto';
import { sha256Hex, type Log, type Random } from '../../core/index.js';
import type { SettingsRepo } from '../../store/index.js';

const ADMIN_TOKEN_KEY = 'admin_token_sha256';

/** The admin token, and the metrics token for scrapers: only their hashes are kept, compared in constant time. */
export class AdminAuth {
  private constructor(
    private readonly hash: string,
    private readonly metricsHash: string | undefined,
  ) {}

  /**
   * The configured token, or the one stored by an earlier start, or a new one —
   * logged once (a warning: someone must keep it), since only its hash is kept.
   */
  static async open(settings: SettingsRepo, configured: string | undefined, random: Random, log: Log, metricsToken?: string): Promise<AdminAuth> {
    const metricsHash = metricsToken === undefined ? undefined : sha256Hex(metricsToken);
    if (configured) return new AdminAuth(sha256Hex(configured), metricsHash);
    const existing = await settings.get(ADMIN_TOKEN_KEY);
    if (existing) return new AdminAuth(existing, metricsHash);
    const token = `madm_${random.token(32)}`;
    const stored = await settings.setIfAbsent(ADMIN_TOKEN_KEY, sha256Hex(token));
    // Another replica may have stored its own first: then that one holds.
    if (stored === sha256Hex(token)) log.warn(`admin token (shown once, keep it): ${token}`);
    return new AdminAuth(stored, metricsHash);
  }

  isAdmin(token: string | undefined): boolean {
    return matches(token, this.hash);
  }

  /** The metrics token or the admin token: decision counts and reasons say too much about a deployment to be public. */
  mayReadMetrics(token: string | undefined): boolean {
    return (this.metricsHash !== undefined && matches(token, this.metricsHash)) || this.isAdmin(token);
  }
}

function matches(token: string | undefined, hash: string): boolean {
  if (!token) return false;
  const a = Buffer.from(sha256Hex(token), 'hex');
  const b = Buffer.from(hash, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}
