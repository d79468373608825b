// Policy directories are configuration read at start-up and on change, not
// domain state: the policy context sees them only through its PolicySource port.
import { readdirSync, readFileSync, statSync, watch } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../../core/index.js';
import type { PolicySource, SourceFile } from '../../policy/index.js';

/** The policies and policy tests of a directory on disk. */
export function policyDirectory(dir: string): PolicySource {
  return {
    name: dir,
    readPolicies: () => readCedarFiles(dir),
    readTests: () => readTestFiles(dir),
    watch: (onChange, debounceMs) => watchCedarDir(dir, onChange, debounceMs),
  };
}

/** The `*.cedar` files directly in `dir` (not recursive), sorted by name. */
export function readCedarFiles(dir: string): SourceFile[] {
  return readMatching(dir, '.cedar');
}

/** The `*.json` files in `<dir>/tests`, sorted by name; none when the folder is absent. */
function readTestFiles(dir: string): SourceFile[] {
  const testsDir = join(dir, 'tests');
  try {
    if (!statSync(testsDir).isDirectory()) return [];
  } catch {
    return [];
  }
  return readMatching(testsDir, '.json').map((f) => ({ name: `tests/${f.name}`, text: f.text }));
}

function readMatching(dir: string, suffix: string): SourceFile[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (err) {
    throw new ConfigError(`policy directory \`${dir}\` cannot be read: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  const files: SourceFile[] = [];
  for (const name of names.filter((n) => n.endsWith(suffix)).sort()) {
    const path = join(dir, name);
    try {
      // statSync follows symlinks, so a linked policy file counts; a folder named `x.cedar` does not.
      if (!statSync(path).isFile()) continue;
      files.push({ name, text: readFileSync(path, 'utf8') });
    } catch (err) {
      throw new ConfigError(`${name}: cannot be read: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    }
  }
  return files;
}

/**
 * Calls `onChange` once a burst of changes to `*.cedar` files in `dir` has been
 * quiet for `debounceMs` (editors write a file in several steps). Returns a stop function.
 */
function watchCedarDir(dir: string, onChange: () => void, debounceMs: number): () => void {
  let timer: NodeJS.Timeout | undefined;
  const watcher = watch(dir, { persistent: false }, (_event, filename) => {
    // filename can be null on some platforms: then any change may be a policy change.
    if (filename !== null && !String(filename).endsWith('.cedar')) return;
    if (timer !== undefined) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      onChange();
    }, debounceMs);
  });
  // A watcher error (directory deleted) must not crash the process; the last good set keeps serving.
  watcher.on('error', () => undefined);
  return () => {
    if (timer !== undefined) clearTimeout(timer);
    watcher.close();
  };
}
