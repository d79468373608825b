import { verifyTrail, type AuditRepo, type AuditWitness } from '../../audit/index.js';
import type { ToolSpec } from '../../core/index.js';
import { upstreamToolSpecs } from '../../gateway/index.js';
import { PolicyEngine } from '../../policy/index.js';
import { analyseCeiling, buildReport, TrailTally, type RegisteredAgent, type Report, type ReportThresholds } from '../../report/index.js';
import type { Store } from '../../store/index.js';
import { policyDirectory } from '../adapters/index.js';
import type { Config } from '../index.js';

/** Where the report reads from: the configuration, the store, the witness, and the tools the configured HTTP APIs give. */
export interface ReportSources {
  config: Config;
  store: Pick<Store, 'tools' | 'agents' | 'policies' | 'audit' | 'secrets'>;
  witness: AuditWitness | undefined;
  apiTools: readonly ToolSpec[];
}

export interface ReportWindow {
  /** Null at an open end: from the first event, or up to the last. */
  sinceMs: number | null;
  untilMs: number | null;
  thresholds: ReportThresholds;
  nowMs: number;
}

/** Events read per page: a trail of millions is counted in bounded memory. */
const PAGE = 5000;

/**
 * The compliance report (`mandate report`, `GET /v1/report`): agents, secrets'
 * metadata, registered tools and the served policy set from the store, the whole
 * trail tallied over the window and verified against the witness. Reads only.
 */
export async function compileReport(src: ReportSources, w: ReportWindow): Promise<Report> {
  const { config, store, witness } = src;
  const configured = [...config.tools, ...upstreamToolSpecs(config.upstreams), ...src.apiTools];
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
  const tally = new TrailTally({ sinceMs: w.sinceMs, untilMs: w.untilMs }, w.thresholds);
  await readTrail(store.audit, tally);
  return buildReport({
    nowMs: w.nowMs,
    period: { sinceMs: w.sinceMs, untilMs: w.untilMs },
    thresholds: w.thresholds,
    config,
    tools,
    agents,
    ceiling,
    secrets: await store.secrets.list(),
    trail: tally.result(),
    integrity: { verified, witness: witness?.name ?? null },
  });
}

/** The policy set the control plane serves: the store's newest version with `policy.source: store`, else the directory. */
async function servedPolicies(config: Config, store: Pick<Store, 'policies'>): Promise<PolicyEngine> {
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
