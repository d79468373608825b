// The adapters run inside agents, as the SDK does: at run time they may load
// Mandate's SDK, the shared adapter code and their own framework, and nothing of
// the control plane (no server module, no fastify, pg, better-sqlite3, zod, …).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { test } from 'node:test';
import { ROOT } from '../helpers.js';

const DIST = join(ROOT, 'dist', 'src');

/** The packages each adapter may load, static or on first use. */
const FRAMEWORKS: Record<string, string[]> = {
  'ai-sdk': ['ai', '@ai-sdk/mcp'],
  'openai-agents': ['@openai/agents'],
  // `@langchain/mcp-adapters` is built on the MCP SDK; its client and transport are loaded directly because only they take a `fetch`.
  langchain: ['@langchain/core', '@langchain/mcp-adapters', '@modelcontextprotocol/sdk'],
};

/** Every module specifier the emitted file loads: static imports, re-exports and dynamic imports. */
function specifiersOf(file: string): string[] {
  const code = readFileSync(file, 'utf8');
  const found = [...code.matchAll(/^\s*(?:import|export)\b[^'"]*?\bfrom\s*['"]([^'"]+)['"]|^\s*import\s*['"]([^'"]+)['"]|\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)|\brequire\s*\(/gm)];
  return found.map((m) => m[1] ?? m[2] ?? m[3] ?? 'require(');
}

const packageOf = (s: string) => (s.startsWith('@') ? s.split('/').slice(0, 2).join('/') : s.split('/')[0]!);

for (const [adapter, allowed] of Object.entries(FRAMEWORKS)) {
  test(`mandate/${adapter} loads only the SDK, the shared adapter code and ${allowed.join(', ')}`, () => {
    const seen = new Set<string>();
    const packages = new Set<string>();
    const visit = (file: string) => {
      if (seen.has(file)) return;
      seen.add(file);
      for (const s of specifiersOf(file)) {
        if (s.startsWith('.')) visit(join(dirname(file), s));
        else packages.add(packageOf(s));
      }
    };
    visit(join(DIST, 'adapters', adapter, 'index.js'));
    const modules = [...seen].map((f) => relative(DIST, f).split('\\').join('/'));
    assert.deepEqual(
      modules.filter((m) => !m.startsWith('adapters/') && m !== 'sdk/index.js'),
      [],
      'only files of src/adapters and the SDK',
    );
    assert.deepEqual(
      [...packages].filter((p) => !allowed.includes(p)),
      [],
      'only the framework',
    );
  });
}
