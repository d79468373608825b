import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError } from '../../core/index.js';
import { loadConfig } from '../../server/index.js';
import { exposedName } from './tool-names.js';

/** Loads a configuration with these upstreams from a file, as `mandate serve` would. */
function loadWithUpstreams(upstreams: Record<string, unknown>): void {
  const dir = mkdtempSync(join(tmpdir(), 'mandate-names-'));
  try {
    writeFileSync(join(dir, 'mandate.json'), JSON.stringify({ upstreams }));
    loadConfig(join(dir, 'mandate.json'), {});
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('exposed tool names', () => {
  it('are `<upstream>_<tool>` by default, with any character model providers refuse turned into `_`', () => {
    assert.equal(exposedName('fs', 'read_text_file', { separator: '_' }), 'fs_read_text_file');
    assert.equal(exposedName('web', 'fetch.page', { separator: '_' }), 'web_fetch_page');
    assert.equal(exposedName('web', 'get', { prefix: 'browser', separator: '__' }), 'browser__get');
    assert.equal(exposedName('everything', 'echo', { prefix: '', separator: '_' }), 'echo');
  });

  it('that would clash are refused when the configuration loads, naming both tools', () => {
    const tool = { kind: 'read' };
    const load = () =>
      loadWithUpstreams({
        a: { transport: 'http', url: 'http://127.0.0.1:1/mcp', expose: { prefix: '' }, tools: { echo: tool } },
        b: { transport: 'http', url: 'http://127.0.0.1:2/mcp', expose: { prefix: '' }, tools: { echo: tool } },
      });
    assert.throws(load, (err: Error) => err instanceof ConfigError && /`b\.echo` and `a\.echo` would both be exposed as `echo`/.test(err.message));
    // A prefix on one of them is enough.
    loadWithUpstreams({
      a: { transport: 'http', url: 'http://127.0.0.1:1/mcp', expose: { prefix: '' }, tools: { echo: tool } },
      b: { transport: 'http', url: 'http://127.0.0.1:2/mcp', tools: { echo: tool } },
    });
  });

  it('longer than 64 characters are refused', () => {
    const load = () => loadWithUpstreams({ a: { transport: 'http', url: 'http://127.0.0.1:1/mcp', expose: { prefix: 'p'.repeat(32) }, tools: { ['t'.repeat(40)]: { kind: 'read' } } } });
    assert.throws(load, /longer than the 64 characters model providers allow/);
  });
});
