import { Registry, collectDefaultMetrics } from 'prom-client';
import { REVOCATION_KINDS, type RevocationKind } from '../../credentials/index.js';
import type { Decision, Outcome } from '../../decision/index.js';
import type { UpstreamFailure } from '../../gateway/index.js';
import { MetricsRegistry, type Counter, type CounterSeries, type Family, type Histogram, type HistogramSeries } from './registry.js';

/** Decisions take tens of microseconds; a held call or a slow store reaches into seconds. */
const DECISION_BUCKETS_S = [0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];
const UPSTREAM_BUCKETS_S = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
/** Group commit waits one event-loop turn and one write; past `store.answerWithinMs` a record goes to the spool. */
const AUDIT_LAG_BUCKETS_S = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

/** What the gauges read when scraped. */
export interface MetricSources {
  /** Requests waiting for a person, from the store; undefined when it cannot be read now. */
  approvalsPending(): Promise<number | undefined>;
  revocationsActive(): number;
  storeReachable(): boolean;
}

/** The series of one upstream, kept per gateway and upstream. */
export interface UpstreamSeries {
  seconds: HistogramSeries;
  failed(failure: UpstreamFailure): void;
}

/**
 * Mandate's metrics (`mandate_*`) beside the Node process's own (`process_*`,
 * `nodejs_*`, from prom-client, read only when scraped). Every series the
 * decision path touches is found once and kept.
 */
export class MandateMetrics {
  private readonly registry = new MetricsRegistry();
  private readonly decisions: Counter;
  /** Series by outcome, then reason code: found with one map lookup per decision. */
  private readonly decisionsByOutcome: Record<Outcome, Map<string, CounterSeries>> = { allow: new Map(), deny: new Map(), step_up: new Map() };
  private readonly decisionSeconds: HistogramSeries;
  private readonly upstreamSeconds: Histogram;
  private readonly upstreamErrors: Counter;
  private readonly upstreams = new Map<string, UpstreamSeries>();
  private readonly revocations: Record<RevocationKind, CounterSeries>;
  private readonly auditLag: HistogramSeries;
  private sources: MetricSources | undefined;

  constructor() {
    const r = this.registry;
    this.decisions = r.counter('mandate_decisions_total', 'Decisions taken by this process, by outcome and reason code.', ['outcome', 'reason']);
    this.decisionSeconds = r.histogram('mandate_decision_duration_seconds', 'Time to decide one call, from the credential or the authenticated task to the answer (audit record durable).', DECISION_BUCKETS_S).labels();
    this.upstreamSeconds = r.histogram('mandate_upstream_request_duration_seconds', 'Time an allowed call spent at its upstream, response streamed included.', UPSTREAM_BUCKETS_S, ['gateway', 'upstream']);
    this.upstreamErrors = r.counter('mandate_upstream_errors_total', 'Forwarded calls that got no usable answer: the gateway code (unreachable, timeout, protocol error) or http_5xx.', ['gateway', 'upstream', 'reason']);
    const revoked = r.counter('mandate_revocations_total', 'Revocations made through this process, by kind.', ['kind']);
    this.revocations = Object.fromEntries(REVOCATION_KINDS.map((k) => [k, revoked.labels(k)])) as Record<RevocationKind, CounterSeries>;
    this.auditLag = r.histogram('mandate_audit_append_lag_seconds', 'Time from an audit record being made to it being durable (in the store, or the local spool while the store is out of reach).', AUDIT_LAG_BUCKETS_S).labels();
    r.gauge('mandate_approvals_pending', 'Step-up requests waiting for a person (pending and unexpired), read from the store.', () => this.sources?.approvalsPending());
    r.gauge('mandate_revocations_active', 'Revocations in force in this process\'s revocation set.', () => this.sources?.revocationsActive());
    r.gauge('mandate_store_reachable', '1 while this process can use its store; 0 while it refuses decisions with store.unreachable.', () => {
      const s = this.sources;
      return s === undefined ? undefined : s.storeReachable() ? 1 : 0;
    });
  }

  /** Where the gauges read from, once the control plane is wired. */
  watch(sources: MetricSources): void {
    this.sources = sources;
  }

  decided(d: Decision, seconds: number): void {
    const byCode = this.decisionsByOutcome[d.outcome];
    let series = byCode.get(d.reason.code);
    if (series === undefined) byCode.set(d.reason.code, (series = this.decisions.labels(d.outcome, d.reason.code)));
    series.inc();
    this.decisionSeconds.observe(seconds);
  }

  upstream(gateway: string, upstream: string): UpstreamSeries {
    const key = `${gateway} ${upstream}`;
    let s = this.upstreams.get(key);
    if (!s) {
      const errors = new Map<string, CounterSeries>();
      s = {
        seconds: this.upstreamSeconds.labels(gateway, upstream),
        failed: (failure) => {
          let c = errors.get(failure);
          if (!c) errors.set(failure, (c = this.upstreamErrors.labels(gateway, upstream, failure)));
          c.inc();
        },
      };
      this.upstreams.set(key, s);
    }
    return s;
  }

  revoked(kind: RevocationKind): void {
    this.revocations[kind].inc();
  }

  auditAppended(waitedMs: number): void {
    this.auditLag.observe(waitedMs / 1000);
  }

  /** This process's families, Mandate's first. */
  async collect(): Promise<Family[]> {
    return [...(await this.registry.collect()), ...(await processFamilies())];
  }
}

let processRegistry: Registry | undefined;

/** The Node process's own metrics: one collector per process, however many control planes it runs. */
async function processFamilies(): Promise<Family[]> {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return (await processRegistry.getMetricsAsJSON()).map((m) => ({
    name: m.name,
    help: m.help,
    type: String(m.type) as Family['type'],
    samples: m.values.map((v) => ({ name: (v as { metricName?: string }).metricName ?? m.name, labels: Object.fromEntries(Object.entries(v.labels).map(([k, l]) => [k, String(l)])), value: v.value })),
  }));
}
