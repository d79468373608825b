/** Names a browser resolves to this machine only. */
const LOOPBACK_HOST = /^(localhost|127(\.\d{1,3}){3}|\[::1\])$/i;

/**
 * Whether the console's cookies carry `Secure`: always, except when the console is
 * reached over plain http at a loopback address (`http://127.0.0.1:8080`, `localhost`,
 * `[::1]`), where a browser would drop a Secure cookie and nothing leaves the machine.
 * `host` is the `Host` the request was addressed to (or `console.publicUrl`'s), port included.
 */
export function cookieIsSecure(protocol: string, host: string): boolean {
  if (protocol !== 'http') return true;
  const hostname = host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : host.split(':')[0]!;
  return !LOOPBACK_HOST.test(hostname);
}
