import { readFileSync, realpathSync } from 'node:fs';
import { extname, join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { CodedError } from '../../core/index.js';
import { errorBody } from '../../gateway/index.js';

/** Where `vite build --config console/vite.config.ts` puts the console: dist/console, beside dist/src. */
export const CONSOLE_DIR = fileURLToPath(new URL('../../../console/', import.meta.url));

/**
 * Scripts, styles and data from this origin only; no inline script or style, so markup an
 * agent manages to put in an argument, a purpose or a name cannot run or restyle the page.
 */
export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const SECURITY_HEADERS = {
  'content-security-policy': CONSOLE_CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
};

const CONTENT_TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
  '.json': 'application/json; charset=utf-8',
};

/** A built asset's name: Vite's `name-hash.ext`, one path segment, no leading dot (so never `..`). */
const ASSET_NAME = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,199}$/;

/**
 * Serves the console's single-page app under /console/: hashed assets cached for a year,
 * index.html for every other page path (the app routes on the path) and never cached.
 * `/console/api/*` paths this does not know stay JSON 404s; specific routes (sign-in,
 * the callback, sign-out) win over the catch-all.
 */
export function registerConsoleStatic(app: FastifyInstance, dir: string = CONSOLE_DIR): void {
  const root = realOrUndefined(dir);
  const assetsDir = root === undefined ? undefined : realOrUndefined(join(root, 'assets'));
  // Read once: assets are immutable by name, and a rebuilt console comes with a restart.
  const assets = new Map<string, Buffer>();
  let index: Buffer | undefined;

  const notBuilt = (reply: FastifyReply) => reply.status(404).send(errorBody(new CodedError('request.not_found', 'the console is not built (`npm run build`)')));
  const notFound = (reply: FastifyReply, path: string) => reply.status(404).send(errorBody(new CodedError('request.not_found', `no route \`GET ${path}\``)));

  const sendIndex = (reply: FastifyReply) => {
    if (root === undefined) return notBuilt(reply);
    index ??= readFileSync(join(root, 'index.html'));
    return reply.headers({ ...SECURITY_HEADERS, 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }).send(index);
  };

  app.get('/console', { schema: { hide: true } }, async (_req, reply) => reply.redirect('/console/', 302));
  app.get('/console/', { schema: { hide: true } }, async (_req, reply) => sendIndex(reply));
  app.get('/console/assets/:name', { schema: { hide: true } }, async (req, reply) => {
    const { name } = req.params as { name: string };
    if (assetsDir === undefined) return notBuilt(reply);
    const type = CONTENT_TYPES[extname(name)];
    if (!ASSET_NAME.test(name) || type === undefined) return notFound(reply, `/console/assets/${name}`);
    let body = assets.get(name);
    if (body === undefined) {
      const file = realOrUndefined(join(assetsDir, name));
      // INVARIANT: only files inside assets/ are read, whatever links the folder holds.
      if (file === undefined || !file.startsWith(assetsDir + sep)) return notFound(reply, `/console/assets/${name}`);
      body = readFileSync(file);
      assets.set(name, body);
    }
    return reply.headers({ ...SECURITY_HEADERS, 'content-type': type, 'cache-control': 'public, max-age=31536000, immutable' }).send(body);
  });
  app.get('/console/*', { schema: { hide: true } }, async (req, reply) => {
    const path = req.url.split('?')[0] ?? '';
    // The API and the assets never fall back to the page: a missing endpoint is a JSON 404 the app can tell apart.
    if (path.startsWith('/console/api/') || path.startsWith('/console/assets/')) return notFound(reply, path);
    return sendIndex(reply);
  });
}

function realOrUndefined(path: string): string | undefined {
  try {
    return realpathSync(path);
  } catch {
    return undefined;
  }
}
