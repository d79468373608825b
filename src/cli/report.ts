import type { AuditRepo } from '../audit/index.js';
import { verifyTrail } from '../audit/index.js';
import type { ToolSpec } from '../core/index.js';
import { loadApiActions, toolSpecsOf, upstreamToolSpecs } from '../gateway/index.js';
import { PolicyEngine } from '../policy/index.js';
import { analyseCeiling, buildReport, renderJson, renderMarkdown, TrailTally, type RegisteredAgent, type ReportThresholds } from '../report/index.js';
import { auditWitnessFor, type Config } from '../server/index.js';
import { policyDirectory } from '../server/adapters/index.js';
import { fileAuditWitness, openStore, type Store } from '../store/index.js';

export interface ReportOptions {
  config: Config;
  /** Overrides the witness the configuration names. */
  witnessFile?: string;
  sinceMs: number | null;
  untilMs: number | null;
  thresholds: ReportThresholds;
  format: 'md' | 'json';
  nowMs: number;
}

/** Events read per page: a trail of millions is counted in bounded memory. */
const PAGE = 5000;

/**
 * `mandate report`: reads the configuration, the store (agents, secrets' metadata,
 * registered tools, the policy set it serves, the trail) and the witness, and
 * renders the compliance report. Reads only; the store is closed before it returns.
 */
export async function generateReport(o: ReportOptions): Promise<string> {
  const { config } = o;
  const witness = o.witnessFile ? fileAuditWitness(o.witnessFile) : auditWitnessFor(config);
  // OpenAPI documents are read before the store opens, as at start-up: a bad one fails with nothing to close.
  const apiTools = toolSpecsOf(loadApiActions(config.apis));
  const store = await openStore(config.store.url, { queryTimeoutMs: config.store.queryTimeoutMs });
  try {
    const configured = [...config.tools, ...upstreamToolSpecs(config.upstreams), ...apiTools];
    const names = new Set(configured.map((t) => t.name));
    // Tools registered through the API join the catalog, as they do when the control plane starts; a configured one wins.
    const tools: ToolSpec[] = [...configured, ...(await store.tools.list()).filter((t) => !names.has(t.name))];
    const agents: RegisteredAgent[] = (await store.agents.list()).map((a) => ({
      name: a.name,
      groups: a.groups,
      joinToken: a.attestation.joinToken,
      oidcRules: a.attestation.oidc.length,
      disabled: a.disabledAtMs !== null,
    }));
    const active = agents.filter((a) => !a.disabled);
    const engine = await servedPolicies(config, store);
    const ceiling = analyseCeiling(engine, tools, {
      environment: config.environment,
      agentGroups: (active.length > 0 ? active : config.agents).map((a) => a.groups),
    });
    const checkpoints = witness ? await witness.read() : [];
    const verified = await verifyTrail(store.audit, witness && { name: witness.name, checkpoints });
    const tally = new TrailTally({ sinceMs: o.sinceMs, untilMs: o.untilMs }, o.thresholds);
    await readTrail(store.audit, tally);
    const report = buildReport({
      nowMs: o.nowMs,
      period: { sinceMs: o.sinceMs, untilMs: o.untilMs },
      thresholds: o.thresholds,
      config,
      tools,
      agents,
      ceiling,
      secrets: await store.secrets.list(),
      trail: tally.result(),
      integrity: { verified, witness: witness?.name ?? null },
    });
    return o.format === 'json' ? renderJson(report) : renderMarkdown(report);
  } finally {
    await store.close();
  }
}

/** The policy set the control plane serves: the store's newest version with `policy.source: store`, else the directory. */
async function servedPolicies(config: Config, store: Store): Promise<PolicyEngine> {
  if (config.policy.source === 'store') {
    const latest = await store.policies.latest();
    if (latest) return PolicyEngine.fromFiles(latest.files);
  }
  return PolicyEngine.fromSource(policyDirectory(config.policy.dir));
}

/** Every segment, page by page in seq order; data is parsed only for the events in the period whose counts depend on it. */
async function readTrail(repo: AuditRepo, tally: TrailTally): Promise<void> {
  for (const segment of await repo.segments()) {
    let after = 0;
    for (;;) {
      const page = await repo.scan(segment, after, PAGE);
      for (const e of page) {
        if (!tally.includes(e.atMs)) continue;
        const data = TrailTally.needsData(e.type) ? (JSON.parse(e.dataText) as Record<string, unknown>) : undefined;
        tally.add({ type: e.type, atMs: e.atMs, taskId: e.taskId, data });
      }
      if (page.length < PAGE) break;
      after = page[page.length - 1]!.seq;
    }
  }
}
