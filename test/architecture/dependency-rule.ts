// The dependency rule of STYLE.md, checked from the TypeScript sources.
import { builtinModules } from 'node:module';
import { posix } from 'node:path';

/** The bounded contexts: no I/O, no edge folders; time, randomness, keys and files arrive through ports. */
export const DOMAIN_CONTEXTS = ['core', 'identity', 'mandate', 'credentials', 'policy', 'decision', 'approvals', 'monitor', 'provenance', 'audit', 'secrets', 'report'] as const;

/** Folders at the edge: a domain context never imports them (adapters live in `server/adapters`, `store/*`). */
export const EDGE_FOLDERS = ['server', 'gateway', 'cli', 'store', 'sdk', 'adapters'] as const;

/**
 * The only packages a domain context may import, each with the reason. Everything
 * else (Node builtins, database drivers, HTTP servers and clients, `yaml`) stays at the edge.
 */
export const DOMAIN_PACKAGES: Readonly<Record<string, string>> = {
  zod: 'schemas for mandates, tools and policy tests: pure validation',
  jose: 'JWT, JWS and JWK handling for SVIDs and credentials; remote key sets come through a port',
  '@cedar-policy/cedar-wasm': 'policy evaluation, in-process and without I/O',
  // Hashes, HMAC, AES-GCM and signature checks are computation, not I/O, and the
  // synchronous Node implementation is what the hot path is measured with (WebCrypto is async only).
  'node:crypto': 'hashing, HMAC, AES-GCM and signature checks (DPoP proofs): pure computation, no I/O',
};

const NODE_BUILTINS = new Set(builtinModules.filter((m) => !m.startsWith('_')));
const DATABASE_DRIVERS = new Set(['better-sqlite3', 'pg', 'kysely']);
const HTTP_LIBRARIES = new Set(['fastify', 'undici']);

export interface SourceText {
  /** Repository-relative, forward slashes: `src/policy/engine.ts`. */
  path: string;
  text: string;
}

export interface ImportRef {
  specifier: string;
  line: number;
}

export interface Violation {
  file: string;
  line: number;
  specifier: string;
  reason: string;
}

/** `src/decision/decide.ts → ../audit/model.js`: how KNOWN names an import. */
export function keyOf(v: Pick<Violation, 'file' | 'specifier'>): string {
  return `${v.file} → ${v.specifier}`;
}

export function describe(v: Violation): string {
  return `${v.file}:${v.line}: imports '${v.specifier}': ${v.reason}`;
}

/**
 * Every module specifier `text` imports or re-exports, type-only ones included:
 * `import … from`, `import '…'`, `export … from`, `import('…')`. Comments and
 * template literals are blanked first, so an import quoted in either is not one.
 */
export function importsOf(text: string): ImportRef[] {
  const code = blankCommentsAndTemplates(text);
  const found: { index: number; specifier: string }[] = [];
  const statement = /^[ \t]*(?:import|export)\b(?:\s+type\b)?(?:[\s\w$*{},]*?\bfrom)?\s*(['"])([^'"\n]+)\1/gm;
  for (const m of code.matchAll(statement)) found.push({ index: m.index, specifier: m[2]! });
  const dynamic = /\bimport\s*\(\s*(['"])([^'"\n]+)\1\s*\)/g;
  for (const m of code.matchAll(dynamic)) found.push({ index: m.index, specifier: m[2]! });
  return found
    .sort((a, b) => a.index - b.index)
    .map((f) => ({ specifier: f.specifier, line: code.slice(0, f.index).split('\n').length }));
}

/** Comments and template literal contents become spaces (line breaks kept); strings stay. */
function blankCommentsAndTemplates(text: string): string {
  const out = text.split('');
  const blank = (from: number, to: number) => {
    for (let k = from; k < to; k++) if (out[k] !== '\n') out[k] = ' ';
  };
  // Each open template records the brace depth its `${` started at.
  const templates: number[] = [];
  let depth = 0;
  let i = 0;
  const inTemplateText = () => templates.length > 0 && templates[templates.length - 1] === depth;
  while (i < text.length) {
    const c = text[i]!;
    if (inTemplateText()) {
      const start = i;
      while (i < text.length && text[i] !== '`' && !(text[i] === '$' && text[i + 1] === '{')) i += text[i] === '\\' ? 2 : 1;
      blank(start, i);
      if (text[i] === '`') {
        templates.pop();
        i++;
      } else if (i < text.length) {
        depth++;
        i += 2;
      }
      continue;
    }
    if (c === '/' && text[i + 1] === '/') {
      const end = text.indexOf('\n', i);
      const stop = end === -1 ? text.length : end;
      blank(i, stop);
      i = stop;
    } else if (c === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2);
      const stop = end === -1 ? text.length : end + 2;
      blank(i, stop);
      i = stop;
    } else if (c === "'" || c === '"') {
      i++;
      while (i < text.length && text[i] !== c && text[i] !== '\n') i += text[i] === '\\' ? 2 : 1;
      i++;
    } else if (c === '`') {
      templates.push(depth);
      i++;
    } else {
      if (c === '{') depth++;
      else if (c === '}') depth--;
      i++;
    }
  }
  return out.join('');
}

/** The src folder a file is in: `src/gateway/mcp/x.ts` → `gateway/mcp`. */
function folderOf(path: string): string {
  return posix.dirname(path).replace(/^src\/?/, '');
}

function packageOf(specifier: string): string {
  if (specifier.startsWith('node:')) return specifier.split('/')[0]!;
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
}

/** Why a domain file may not import this package, or undefined when it may. */
function packageProblem(pkg: string): string | undefined {
  if (Object.hasOwn(DOMAIN_PACKAGES, pkg)) return undefined;
  if (pkg.startsWith('node:') || NODE_BUILTINS.has(pkg)) return 'a Node builtin in a domain context (I/O belongs behind a port)';
  if (DATABASE_DRIVERS.has(pkg)) return 'a database driver in a domain context (persistence goes through the store ports)';
  if (HTTP_LIBRARIES.has(pkg) || pkg.startsWith('@fastify/')) return 'an HTTP library in a domain context';
  return `a package not allowed in a domain context (allowed: ${Object.keys(DOMAIN_PACKAGES).join(', ')})`;
}

/** Every import in `files` that breaks the dependency rule. */
export function violations(files: readonly SourceText[]): Violation[] {
  const out: Violation[] = [];
  for (const file of files) {
    const folder = folderOf(file.path);
    const context = folder.split('/')[0]!;
    const isDomain = (DOMAIN_CONTEXTS as readonly string[]).includes(context);
    for (const { specifier, line } of importsOf(file.text)) {
      const add = (reason: string) => out.push({ file: file.path, line, specifier, reason });
      if (!specifier.startsWith('.')) {
        const problem = isDomain ? packageProblem(packageOf(specifier)) : undefined;
        if (problem) add(problem);
        continue;
      }
      const target = posix.normalize(posix.join(posix.dirname(file.path), specifier));
      const targetFolder = folderOf(target);
      const targetTop = targetFolder.split('/')[0]!;
      if (isDomain && targetTop !== context && (EDGE_FOLDERS as readonly string[]).includes(targetTop)) {
        add(`a domain context importing \`${targetTop}\` (the edge depends on the domain, never the reverse)`);
      }
      if (targetFolder !== folder && posix.basename(target) !== 'index.js') {
        add(`reaches into \`${targetFolder || 'src'}\` past its index.ts (import from \`${posix.relative(posix.dirname(file.path), `src/${targetFolder}/index.js`)}\`)`);
      }
    }
  }
  return out;
}
