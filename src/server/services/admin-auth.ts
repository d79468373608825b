import { timingSafeEqual } from 'node:crypto';
import { sha256Hex, type Random } from '../../core/index.js';
import type { SettingsRepo } from '../../store/index.js';

const ADMIN_TOKEN_KEY = 'admin_token_sha256';

/** The admin token: only its hash is kept, compared in constant time. */
export class AdminAuth {
  private constructor(private readonly hash: string) {}

  /**
   * The configured token, or the one stored by an earlier start, or a new one —
   * printed once through `log`, since only its hash is kept.
   */
  static async open(settings: SettingsRepo, configured: string | undefined, random: Random, log: (line: string) => void): Promise<AdminAuth> {
    if (configured) return new AdminAuth(sha256Hex(configured));
    const existing = await settings.get(ADMIN_TOKEN_KEY);
    if (existing) return new AdminAuth(existing);
    const token = `madm_${random.token(32)}`;
    const stored = await settings.setIfAbsent(ADMIN_TOKEN_KEY, sha256Hex(token));
    // Another replica may have stored its own first: then that one holds.
    if (stored === sha256Hex(token)) log(`admin token (shown once, keep it): ${token}`);
    return new AdminAuth(stored);
  }

  isAdmin(token: string | undefined): boolean {
    if (!token) return false;
    const a = Buffer.from(sha256Hex(token), 'hex');
    const b = Buffer.from(this.hash, 'hex');
    return a.length === b.length && timingSafeEqual(a, b);
  }
}
