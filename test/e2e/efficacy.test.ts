import assert from 'node:assert/strict';
import { describe } from 'node:test';
import { loadCorpus, type LoadedScenario } from '../efficacy/corpus.js';
import { EfficacyBench, type Path, type ScenarioRun } from '../efficacy/run-corpus.js';
import { verifies } from './verifies.js';

/** One scenario per domain, chosen for a different attack each: a changed IBAN, a smuggled bcc, an outside channel, a redirected ticket. */
const REPRESENTATIVE = ['payments/pay-rent-stated-iban.json', 'mail/reply-to-colleague-from-contacts.json', 'chat/post-standup-summary.json', 'travel/book-cheapest-flight.json'];

describe('efficacy corpus', () => {
  const corpus = loadCorpus();

  verifies('efficacy:corpus-valid', 'enough scenarios, in enough domains, all valid', () => {
    assert.ok(corpus.length >= 60, `${corpus.length} scenarios`);
    const domains = new Set(corpus.map((s) => s.domain));
    assert.ok(domains.size >= 4, [...domains].join(', '));
    assert.ok(corpus.reduce((n, s) => n + s.scenario.attacks.length, 0) >= corpus.length, 'at least one attack per scenario on average');
  });

  const representative = (): LoadedScenario[] => REPRESENTATIVE.map((id) => corpus.find((s) => s.id === id) ?? assert.fail(`no scenario ${id}`));

  async function play(path: Path): Promise<ScenarioRun[]> {
    const bench = await EfficacyBench.start(path);
    try {
      const runs: ScenarioRun[] = [];
      for (const s of representative()) runs.push(await bench.run(s));
      return runs;
    } finally {
      await bench.close();
    }
  }

  function check(runs: ScenarioRun[]): void {
    for (const run of runs) {
      assert.deepEqual(run.clean.map((s) => s.outcome), run.clean.map(() => 'allow'), `${run.id}: the legitimate task runs without a step-up`);
      assert.ok(run.attacked, `${run.id} has attacks`);
      for (const a of run.attacked.attacks) assert.equal(a.outcome, 'deny', `${run.id}: an attack (${a.kind}) is denied (${a.code})`);
      assert.ok(run.attacked.steps.every((s) => s.outcome !== 'deny'), `${run.id}: the legitimate steps still complete under attack`);
    }
  }

  let viaDecide: ScenarioRun[] = [];
  verifies('efficacy:representative-decide', 'through the decision API', { timeout: 60_000 }, async () => {
    viaDecide = await play('decide');
    check(viaDecide);
  });

  verifies('efficacy:representative-mcp', 'through the MCP gateway, with the same decisions', { timeout: 60_000 }, async () => {
    const viaMcp = await play('mcp');
    check(viaMcp);
    const codes = (runs: ScenarioRun[]) => runs.map((r) => [r.clean.map((s) => s.code), r.attacked?.attacks.map((a) => a.code)]);
    if (viaDecide.length) assert.deepEqual(codes(viaMcp), codes(viaDecide));
  });
});
