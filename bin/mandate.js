#!/usr/bin/env node
import('../dist/src/cli/main.js').then((m) => m.main(process.argv)).catch((err) => {
  process.stderr.write(`mandate: ${err && err.message ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
