import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ROOT } from '../helpers.js';
import { KNOWN_GAPS, REQUIREMENTS } from './requirements.js';

const DIR = join(ROOT, 'test', 'e2e');
const SELF = 'requirements.test.ts';

/** The requirement ids a test file cites: the first argument of each `verifies(` call. */
export function citedIds(source: string): string[] {
  return [...source.matchAll(/\bverifies\(\s*(['"`])([^'"`]*)\1/g)].map((m) => m[2]!);
}

/** The `*.test.ts` files of this folder, read from the repository, each with the ids it cites. */
function citations(): Map<string, string[]> {
  const files = readdirSync(DIR).filter((f) => f.endsWith('.test.ts') && f !== SELF).sort();
  return new Map(files.map((f) => [f, citedIds(readFileSync(join(DIR, f), 'utf8'))]));
}

describe('end-to-end requirements', () => {
  it('extracts the cited ids from source, whatever the quotes and line breaks', () => {
    const fixture = [
      "  verifies('gateway:mcp:deny-before-upstream', 'a title', async () => {});",
      '  verifies(\n    "store:outage:answer-within-bound",\n    `title`, { timeout: 1 }, () => {});',
      "  verifies(`replicas:revocation-pushed`, 'x', () => {});",
      "  it('not a citation', () => {}); notverifies('approvals:audited', 'x');",
      "  // verifies(id, title, fn) with an identifier is not a citation",
    ].join('\n');
    assert.deepEqual(citedIds(fixture), ['gateway:mcp:deny-before-upstream', 'store:outage:answer-within-bound', 'replicas:revocation-pushed']);
  });

  it('every requirement is verified by a test, or listed as a known gap', () => {
    const cited = new Set([...citations().values()].flat());
    const gaps = new Set(KNOWN_GAPS.map((g) => g.id));
    const missing = Object.keys(REQUIREMENTS).filter((id) => !cited.has(id) && !gaps.has(id as never));
    assert.deepEqual(missing, [], 'requirements without a test');
  });

  it('every cited id is a requirement', () => {
    const unknown = [...citations()].flatMap(([file, ids]) => ids.filter((id) => !Object.hasOwn(REQUIREMENTS, id)).map((id) => `${file}: ${id}`));
    assert.deepEqual(unknown, []);
  });

  it('a known gap that has gained a test is taken off the list', () => {
    const cited = new Set([...citations().values()].flat());
    assert.deepEqual(KNOWN_GAPS.filter((g) => cited.has(g.id)).map((g) => g.id), [], 'remove these from KNOWN_GAPS');
    for (const gap of KNOWN_GAPS) assert.ok(gap.reason.trim(), `${gap.id} needs a reason`);
    assert.equal(new Set(KNOWN_GAPS.map((g) => g.id)).size, KNOWN_GAPS.length, 'a gap is listed once');
  });

  it('every test file cites its requirements through verifies, never a bare it', () => {
    const bare = [...citations().keys()].filter((f) => /^\s*it(\.\w+)?\(/m.test(readFileSync(join(DIR, f), 'utf8')));
    assert.deepEqual(bare, []);
    for (const [file, ids] of citations()) assert.ok(ids.length > 0, `${file} cites no requirement`);
  });
});
