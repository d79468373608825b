/** Where the console lives; a sign-in returns only to a path under it. */
export const CONSOLE_ROOT = '/console/';

/**
 * The path to return to after signing in: `raw` when it is a same-origin path under
 * `/console/`, else `/console/`. Stops open redirects: `//evil.example`, `/\evil`,
 * `https://evil.example`, `/console/../v1` and encoded variants all fall back to the root.
 */
export function safeReturnPath(raw: unknown): string {
  if (typeof raw !== 'string' || raw.length > 2048 || !raw.startsWith(CONSOLE_ROOT)) return CONSOLE_ROOT;
  // Browsers read `\` as `/` and drop tabs and newlines in URLs: refuse rather than guess.
  if (/[\\\s\u0000-\u001f\u007f]/.test(raw)) return CONSOLE_ROOT;
  let parsed: URL;
  try {
    parsed = new URL(raw, 'http://console.invalid');
  } catch {
    return CONSOLE_ROOT;
  }
  if (parsed.origin !== 'http://console.invalid' || !parsed.pathname.startsWith(CONSOLE_ROOT)) return CONSOLE_ROOT;
  const path = `${parsed.pathname}${parsed.search}${parsed.hash}`;
  // Dot segments (also percent-encoded) would leave `/console/` once a server or proxy decodes them.
  if (/(^|\/)(\.|%2e){1,2}(\/|$)/i.test(path) || /%2f|%5c/i.test(parsed.pathname)) return CONSOLE_ROOT;
  return path;
}
