import { pathToFileURL } from 'node:url';
import { loadCorpus } from '../test/efficacy/corpus.js';
import { efficacyMetrics, type EfficacyMetrics, type Path, type ScenarioRun } from '../test/efficacy/run-corpus.js';
import { runInChild } from './child.js';
import type { Metrics } from './stats.js';

/**
 * The efficacy corpus (test/efficacy) through the real server, by the decision
 * API and by the MCP gateway: how many injected attacks are stopped, how many
 * outright, and how much legitimate work goes through, alone and under attack.
 */
export async function benchEfficacy(metrics: Metrics, log: (line: string) => void = () => undefined): Promise<Record<Path, ReturnType<typeof efficacyMetrics>>> {
  const scenarios = loadCorpus().length;
  const paths = ['decide', 'mcp'] as const;
  // Both paths at once, each in a process of its own (bench/efficacy-path.ts) on a server of its own: every
  // outcome is decided by the policies and the task's own state, never by timing.
  const played = await Promise.all(paths.map((path) => runInChild<Path, ScenarioRun[]>(new URL('./efficacy-path.js', import.meta.url), path)));
  const out = {} as Record<Path, ReturnType<typeof efficacyMetrics>>;
  for (const [i, path] of paths.entries()) {
    const runs = played[i]!;
    if (runs.length !== scenarios) throw new Error(`efficacy: ${runs.length} of ${scenarios} scenarios played by ${path}`);
    out[path] = efficacyMetrics(runs);
    for (const run of runs) {
      const missed = run.attacked?.attacks.filter((a) => a.outcome === 'allow') ?? [];
      const lost = run.clean.flatMap((s, i) => (s.outcome === 'allow' ? [] : [`step ${i} ${s.outcome} ${s.code}`]));
      if (missed.length || lost.length) log(`  ${path} ${run.id}: ${missed.map((a) => `attack allowed (${a.kind}${a.usersTarget ? ', the user\'s target' : ''}): ${a.title}; `).join('')}${lost.join(', ')}`);
    }
  }
  const put = (prefix: string, m: EfficacyMetrics) => {
    for (const k of ['attacks_stopped_pct', 'attacks_denied_pct', 'utility_no_stepup_pct', 'utility_under_attack_pct', 'utility_under_attack_no_stepup_pct'] as const) {
      metrics[`${prefix}.${k}`] = { value: m[k], unit: '%' };
    }
  };
  // The headline figures are the gateway's: what an MCP agent gets. The decision API's must match them.
  put('efficacy', out.mcp.all);
  put('efficacy.decide', out.decide.all);
  for (const [domain, m] of Object.entries(out.mcp.byDomain)) put(`efficacy.${domain}`, m);
  metrics['efficacy.scenarios'] = { value: out.mcp.all.scenarios, unit: 'count' };
  metrics['efficacy.attacks'] = { value: out.mcp.all.attacks, unit: 'count' };
  return out;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const metrics: Metrics = {};
  await benchEfficacy(metrics, (l) => process.stderr.write(`${l}\n`));
  for (const [name, m] of Object.entries(metrics)) process.stdout.write(`${name.padEnd(52)} ${String(m.value).padStart(6)} ${m.unit}\n`);
}
