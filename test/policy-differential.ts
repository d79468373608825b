import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import type { ToolSpec } from '../src/core/index.js';
import { buildCedarRequest, PolicyEngine, type SourceFile } from '../src/policy/index.js';
import { keyerFor } from '../src/policy/decision-key.js';
import type { CallFacts, PolicyEvaluation } from '../src/policy/model.js';
import { ROOT } from './helpers.js';

/**
 * The decision cache against Cedar: generated requests decided by an engine that
 * keeps answers by decision key and by one that asks Cedar every time, over the
 * example policies and over generated policy sets. Any difference is a disagreement.
 * Small value domains on purpose: many requests share a key, so kept answers are
 * reused for requests that differ in what the key leaves out.
 */
export interface DifferentialResult {
  requests: number;
  policySets: number;
  /** Policy sets the analysis could key (the rest are decided by Cedar alone, trivially equal). */
  keyedSets: number;
  disagreements: number;
  /** Requests whose decision key an earlier request of the same set had: answered from the cache. */
  reused: number;
  /** Up to five, for the report. */
  examples: { set: string; facts: CallFacts; expected: PolicyEvaluation; got: PolicyEvaluation }[];
}

export function runDifferential(opts: { requests: number; seed?: number; onProgress?: (done: number) => void }): DifferentialResult {
  const rnd = mulberry32(opts.seed ?? 20261202);
  const result: DifferentialResult = { requests: 0, policySets: 0, keyedSets: 0, disagreements: 0, reused: 0, examples: [] };
  const examplesDir = join(ROOT, 'examples', 'policies');
  const example: SourceFile[] = readdirSync(examplesDir)
    .filter((f) => f.endsWith('.cedar'))
    .map((f) => ({ name: f, text: readFileSync(join(examplesDir, f), 'utf8') }));
  // A quarter of the requests over the example policies, the rest over generated sets of 2,000 requests each.
  const plan: { name: string; files: SourceFile[]; requests: number }[] = [{ name: 'examples', files: example, requests: Math.ceil(opts.requests / 4) }];
  let left = opts.requests - plan[0]!.requests;
  for (let i = 0; left > 0; i++) {
    const n = Math.min(2000, left);
    plan.push({ name: `generated-${i}`, files: [{ name: `g${i}.cedar`, text: generatePolicySet(rnd) }], requests: n });
    left -= n;
  }
  for (const set of plan) {
    const keyed = PolicyEngine.fromFiles(set.files);
    const reference = PolicyEngine.fromFiles(set.files, { decisionCache: 0 });
    if (reference.loaded?.policies.length === 0) throw new Error(`${set.name}: no policy loaded`);
    result.policySets++;
    if (keyed.keyed) result.keyedSets++;
    const keyer = keyerFor(keyed.loaded!.policies.map((p) => p.json));
    const keys = new Set<string | undefined>();
    // Requests are variations of a few base requests: most differ only in facts a policy may or may not read.
    const bases = Array.from({ length: 48 }, () => generateFacts(rnd));
    for (let i = 0; i < set.requests; i++) {
      const facts = vary(rnd, pick(rnd, bases));
      const req = buildCedarRequest(facts);
      const key = keyer?.(req);
      if (key !== undefined && keys.has(key)) result.reused++;
      keys.add(key);
      const expected = reference.evaluate(req);
      const got = keyed.evaluate(req);
      result.requests++;
      if (!isDeepStrictEqual(got, expected)) {
        result.disagreements++;
        if (result.examples.length < 5) result.examples.push({ set: set.files.map((f) => f.text).join('\n'), facts, expected, got });
      }
      if (result.requests % 10_000 === 0) opts.onProgress?.(result.requests);
    }
  }
  return result;
}

/** The same over the machine's cores: each worker its own seed, the results summed. */
export async function runDifferentialInWorkers(total: number, workers = Math.max(1, availableParallelism())): Promise<DifferentialResult> {
  const results = await Promise.all(
    Array.from({ length: workers }, (_, i) => {
      const requests = Math.floor(total / workers) + (i < total % workers ? 1 : 0);
      return new Promise<DifferentialResult>((resolve, reject) => {
        const w = new Worker(fileURLToPath(import.meta.url), { workerData: { differential: { requests, seed: 20261202 + i * 7919 } } });
        w.once('message', resolve);
        w.once('error', reject);
      });
    }),
  );
  const sum = (f: (r: DifferentialResult) => number) => results.reduce((a, r) => a + f(r), 0);
  return {
    requests: sum((r) => r.requests),
    policySets: sum((r) => r.policySets),
    keyedSets: sum((r) => r.keyedSets),
    disagreements: sum((r) => r.disagreements),
    reused: sum((r) => r.reused),
    examples: results.flatMap((r) => r.examples).slice(0, 5),
  };
}

type Rnd = () => number;

function mulberry32(seed: number): Rnd {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const pick = <T>(rnd: Rnd, xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
const some = <T>(rnd: Rnd, xs: readonly T[], p = 0.3): T[] => xs.filter(() => rnd() < p);
const int = (rnd: Rnd, max: number) => Math.floor(rnd() * (max + 1));

const LABELS = ['untrusted', 'confidential', 'secret', 'pii'];
const GROUPS = ['agents', 'finance', 'ops'];
const AGENTS = ['report-bot', 'billing-bot', 'ops-bot'];
const RISKS = ['low', 'medium', 'high', 'critical'];
const KINDS = ['read', 'write', 'delete', 'export', 'send', 'payment', 'execute', 'retrieve_secret'];
const TOOL_NAMES = ['files.read', 'files.write', 'files.delete', 'email.send', 'calendar.create_event', 'payments.create', 'vault.get_secret', 'crm.export', 'shell.exec', 'web.fetch'];
const PATHS = ['/srv/reports/q3.csv', '/srv/x', '/etc', '/etc/passwd', '/srv/../etc/passwd', '/home/a', 'é/ü', '*', ''];
const PURPOSES = ['compile the weekly report', 'pay the rent', 'answer a report question'];

function generateFacts(rnd: Rnd): CallFacts {
  const name = pick(rnd, TOOL_NAMES);
  const tool: ToolSpec = {
    name,
    kind: pick(rnd, KINDS) as ToolSpec['kind'],
    risk: pick(rnd, RISKS) as ToolSpec['risk'],
    labels: some(rnd, LABELS, 0.2),
    description: '',
    ...(rnd() < 0.5 ? { targets: some(rnd, ['to', 'url', 'iban'], 0.5) } : {}),
    ...(rnd() < 0.3 ? { tags: some(rnd, ['money', 'external'], 0.5) } : {}),
  };
  const args: Record<string, unknown> = {};
  if (rnd() < 0.7) args['path'] = pick(rnd, PATHS);
  if (rnd() < 0.3) args['to'] = pick(rnd, ['bob@example.com', ['a@x.example', 'b@y.example']]);
  if (rnd() < 0.2) args['amount'] = int(rnd, 3) * 100;
  const count = () => (rnd() < 0.6 ? 0 : int(rnd, 2));
  return {
    agent: { name: pick(rnd, AGENTS), spiffeId: 'spiffe://mandate.test/agent', groups: some(rnd, GROUPS, 0.5) },
    tool,
    args,
    task: {
      id: `tsk_${int(rnd, 1000)}`,
      purpose: pick(rnd, PURPOSES),
      dataClasses: some(rnd, LABELS, 0.2),
      callCount: int(rnd, 6),
      labels: some(rnd, LABELS, 0.3),
      toolsCalled: some(rnd, TOOL_NAMES, 0.2),
      delegationDepth: int(rnd, 2),
      onBehalfOf: rnd() < 0.5 ? undefined : 'alice',
      egress: some(rnd, LABELS, 0.2),
    },
    call: { declared: count(), trusted: count(), counterparty: count(), untrusted: count(), unseen: count() },
    environment: pick(rnd, ['development', 'production']),
  };
}

/** A copy of a request with up to three of its facts drawn again. */
function vary(rnd: Rnd, base: CallFacts): CallFacts {
  const f = structuredClone(base);
  const fresh = generateFacts(rnd);
  const changes = int(rnd, 3);
  for (let i = 0; i < changes; i++) {
    switch (int(rnd, 13)) {
      case 0: f.task.labels = fresh.task.labels; break;
      case 1: f.task.toolsCalled = fresh.task.toolsCalled; break;
      case 2: f.task.callCount = fresh.task.callCount; break;
      case 3: f.task.id = fresh.task.id; f.task.purpose = fresh.task.purpose; break;
      case 4: f.args = fresh.args; break;
      case 5: f.call = fresh.call; break;
      case 6: f.agent = fresh.agent; break;
      case 7: f.tool = { ...f.tool, risk: fresh.tool.risk, labels: fresh.tool.labels }; break;
      case 8: f.task.egress = fresh.task.egress; f.task.dataClasses = fresh.task.dataClasses; break;
      case 9: f.task.onBehalfOf = fresh.task.onBehalfOf; f.task.delegationDepth = fresh.task.delegationDepth; break;
      case 10: f.environment = fresh.environment; break;
      case 11: f.tool = { ...f.tool, ...(fresh.tool.targets ? { targets: fresh.tool.targets } : {}) }; break;
      case 12: f.tool = { ...f.tool, kind: fresh.tool.kind, ...(fresh.tool.tags ? { tags: fresh.tool.tags } : {}) }; break;
      default: f.tool = fresh.tool;
    }
  }
  return f;
}

const CALL_ATTRS = ['targets', 'declaredTargets', 'trustedTargets', 'counterpartyTargets', 'untrustedTargets', 'unseenTargets'];
const SETS = ['labels', 'egress', 'dataClasses'];

/** One condition over the schema: every form the analysis keys specially, and the forms it keys by whole value. */
function atom(rnd: Rnd): string {
  const lit = (xs: readonly string[]) => JSON.stringify(pick(rnd, xs));
  const cmp = () => pick(rnd, ['<', '<=', '>', '>=', '==', '!=']);
  switch (int(rnd, 24)) {
    case 0: return `context.task.${pick(rnd, SETS)}.contains(${lit(LABELS)})`;
    case 1: return `context.task.${pick(rnd, SETS)}.containsAny([${lit(LABELS)}, ${lit(LABELS)}])`;
    case 2: return `context.task.labels.containsAll([${lit(LABELS)}])`;
    case 3: return `context.task.toolsCalled.contains(${lit(TOOL_NAMES)})`;
    case 4: return `context.call.${pick(rnd, CALL_ATTRS)} ${cmp()} ${int(rnd, 2)}`;
    case 5: return `${int(rnd, 2)} ${cmp()} context.call.${pick(rnd, CALL_ATTRS)}`;
    case 6: return `context.call.${pick(rnd, CALL_ATTRS)} == context.call.${pick(rnd, CALL_ATTRS)}`;
    case 7: return `context.task.callCount + ${int(rnd, 3)} > ${int(rnd, 6)}`;
    case 8: return `resource.risk == ${lit(RISKS)}`;
    case 9: return `[${lit(RISKS)}, ${lit(RISKS)}].contains(resource.risk)`;
    case 10: return `resource.labels.contains(${lit(LABELS)})`;
    case 11: return `resource has targets && !resource.targets.isEmpty()`;
    case 12: return `resource.hasTag("path") && resource.getTag("path") like ${lit(['/etc/*', '*..*', '/srv/*', '*', '\\*', '*/*/*'])}`;
    case 13: return `resource.getTag("path") == ${lit(PATHS)}`;
    case 14: return `principal in AgentGroup::${lit(GROUPS)}`;
    case 15: return `principal.name like ${lit(['rep*', '*bot', 'ops-bot'])}`;
    case 16: return `context.environment == ${lit(['production', 'development'])}`;
    case 17: return `context.task.onBehalfOf == ""`;
    case 18: return `action == Action::${lit(KINDS)}`;
    case 19: return `action in [Action::${lit(KINDS)}, Action::${lit(KINDS)}]`;
    case 20: return `context.task.delegationDepth >= ${int(rnd, 2)}`;
    case 21: return `context.task.labels == [${lit(LABELS)}]`;
    case 22: return `resource in ToolGroup::${lit(['files', 'email', 'payments'])}`;
    case 23: return `resource.tags.contains(${lit(['money', 'external'])}) || resource.kind == ${lit(KINDS)}`;
    default: return `(if context.task.labels.contains(${lit(LABELS)}) then context.call.unseenTargets > 0 else resource.getTag("path") like "/etc*")`;
  }
}

function condition(rnd: Rnd, depth = 0): string {
  const r = rnd();
  if (depth < 2 && r < 0.25) return `(${condition(rnd, depth + 1)} && ${condition(rnd, depth + 1)})`;
  if (depth < 2 && r < 0.45) return `(${condition(rnd, depth + 1)} || ${condition(rnd, depth + 1)})`;
  if (r < 0.55) return `!(${atom(rnd)})`;
  return atom(rnd);
}

/** A policy set that passes strict validation (a generated one that does not is drawn again). */
function generatePolicySet(rnd: Rnd): string {
  for (let attempt = 0; attempt < 100; attempt++) {
    const text = drawPolicySet(rnd);
    try {
      PolicyEngine.fromFiles([{ name: 'draw.cedar', text }], { decisionCache: 0 });
      return text;
    } catch {
      // Drawn again.
    }
  }
  throw new Error('no valid policy set drawn in 100 attempts');
}

function drawPolicySet(rnd: Rnd): string {
  const policies: string[] = [];
  const n = 2 + int(rnd, 8);
  for (let i = 0; i < n; i++) {
    const permit = i === 0 || rnd() < 0.45;
    const annotations = [`@id("p${i}")`];
    if (!permit && rnd() < 0.35) annotations.push('@step_up("human")');
    if (permit && rnd() < 0.2) annotations.push('@redact("iban")');
    const principal = pick(rnd, ['principal', `principal in AgentGroup::"${pick(rnd, GROUPS)}"`, `principal == Agent::"${pick(rnd, AGENTS)}"`, 'principal is Agent']);
    // Tool actions only: under `delegate` the resource is a Task, and a Tool attribute would fail validation.
    const action = pick(rnd, [`action == Action::"${pick(rnd, KINDS)}"`, `action in [Action::"${pick(rnd, KINDS)}", Action::"${pick(rnd, KINDS)}"]`, 'action in Action::"call_tool"']);
    const resource = pick(rnd, ['resource', `resource in ToolGroup::"${pick(rnd, ['files', 'email'])}"`, `resource == Tool::"${pick(rnd, TOOL_NAMES)}"`, 'resource is Tool']);
    const clauses = Array.from({ length: int(rnd, 2) }, () => `${rnd() < 0.75 ? 'when' : 'unless'} { ${condition(rnd)} }`);
    policies.push(`${annotations.join('\n')}\n${permit ? 'permit' : 'forbid'} (${principal}, ${action}, ${resource})\n${clauses.join('\n')};`);
  }
  return policies.join('\n\n');
}

// Run as a worker of runDifferentialInWorkers (last: everything above must be initialised).
if (!isMainThread && (workerData as { differential?: unknown } | null)?.differential) {
  parentPort!.postMessage(runDifferential((workerData as { differential: { requests: number; seed: number } }).differential));
}
