import { serveInChild } from './child.js';
import { loadCorpus } from '../test/efficacy/corpus.js';
import { EfficacyBench, type Path, type ScenarioRun } from '../test/efficacy/run-corpus.js';

/** Plays the whole efficacy corpus by one path, on a server of its own, in the process bench/efficacy.ts started for it. */
async function play(path: Path): Promise<ScenarioRun[]> {
  const bench = await EfficacyBench.start(path);
  const runs: ScenarioRun[] = [];
  try {
    for (const s of loadCorpus()) runs.push(await bench.run(s));
  } finally {
    await bench.close();
  }
  return runs;
}

serveInChild(play);
