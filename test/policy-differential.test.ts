import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runDifferentialInWorkers } from './policy-differential.js';

// Bounded for the suite; `npm run bench:differential` runs 1,000,000.
const REQUESTS = Number(process.env.MANDATE_DIFFERENTIAL_REQUESTS ?? 100_000);

test(`the decision cache agrees with Cedar on ${REQUESTS} generated requests, over the example policies and generated policy sets`, async () => {
  const r = await runDifferentialInWorkers(REQUESTS);
  assert.equal(r.requests, REQUESTS);
  assert.equal(r.keyedSets, r.policySets, 'every policy set here uses only what the analysis keys');
  assert.ok(r.reused >= REQUESTS / 2, `most requests share a key with an earlier one, so kept answers are put to the test: ${r.reused}`);
  assert.equal(r.disagreements, 0, JSON.stringify(r.examples.slice(0, 2), null, 1));
});
