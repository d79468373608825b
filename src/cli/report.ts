import type { ReportThresholds } from '../report/index.js';
import { renderJson, renderMarkdown } from '../report/index.js';
import { toolSpecsOf, loadApiActions } from '../gateway/index.js';
import { auditWitnessFor, compileReport, type Config } from '../server/index.js';
import { fileAuditWitness, openStore } from '../store/index.js';

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
    const report = await compileReport({ config, store, witness, apiTools }, { sinceMs: o.sinceMs, untilMs: o.untilMs, thresholds: o.thresholds, nowMs: o.nowMs });
    return o.format === 'json' ? renderJson(report) : renderMarkdown(report);
  } finally {
    await store.close();
  }
}
