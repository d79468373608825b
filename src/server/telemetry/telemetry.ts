import type { TracerProvider, Tracer } from '@opentelemetry/api';
import type { LagMeter } from '../../audit/index.js';
import type { Kernel } from '../../decision/index.js';
import type { UpstreamCalls } from '../../gateway/index.js';
import { silentLogger, type Logger } from './logger.js';
import { MandateMetrics } from './metrics.js';
import { observedKernel } from './observed-kernel.js';
import { exposition, type Family } from './registry.js';
import { tracerOf, tracerProviderFromEnv, type OwnTracerProvider } from './tracing.js';
import { observedUpstreamCalls } from './upstream-calls.js';

export interface TelemetryOptions {
  /** The JSON logger (`createLogger`); without one nothing is logged. */
  logger?: Logger;
  /**
   * A tracer provider the embedding program set up (tests: an in-memory exporter).
   * Without one, the OTEL_* variables decide, and with none of them set there is no tracing.
   */
  tracerProvider?: TracerProvider;
  /** The families of every worker of `mandate serve --workers`, labelled by worker: what a scrape of any of them returns. */
  metricsOfWorkers?: () => Promise<Family[]>;
}

/** Logs, metrics and traces of one control plane, built once at start-up and handed to what reports into them. */
export class Telemetry {
  private constructor(
    readonly logger: Logger,
    /** Undefined with `metrics.enabled: false`: nothing is counted and there is no `/metrics`. */
    readonly metrics: MandateMetrics | undefined,
    /** Undefined unless tracing is configured: no span is made, not even a no-op one. */
    readonly tracer: Tracer | undefined,
    private readonly ownProvider: OwnTracerProvider | undefined,
    private readonly metricsOfWorkers: (() => Promise<Family[]>) | undefined,
  ) {}

  /** Errors: ConfigError when the OTEL_* variables ask for what this build cannot do. */
  static async start(metricsEnabled: boolean, opts: TelemetryOptions = {}): Promise<Telemetry> {
    const own = opts.tracerProvider ? undefined : await tracerProviderFromEnv();
    return new Telemetry(opts.logger ?? silentLogger(), metricsEnabled ? new MandateMetrics() : undefined, tracerOf(opts.tracerProvider ?? own), own, opts.metricsOfWorkers);
  }

  /** The kernel as the enforcement points use it: counted, timed, traced. */
  kernel(kernel: Kernel): Kernel {
    return observedKernel(kernel, this.metrics, this.tracer);
  }

  upstreamCalls(): UpstreamCalls {
    return observedUpstreamCalls(this.metrics, this.tracer);
  }

  /** How the audit log reports its append lag, or undefined without metrics. */
  auditLag(): LagMeter | undefined {
    const metrics = this.metrics;
    return metrics && { nowMs: () => performance.now(), observe: (ms) => metrics.auditAppended(ms) };
  }

  /** The text a scrape of `/metrics` gets: this process's metrics, or every worker's. */
  async scrape(): Promise<string> {
    if (!this.metrics) return '';
    return exposition(this.metricsOfWorkers ? await this.metricsOfWorkers() : await this.metrics.collect());
  }

  /** Sends the spans still buffered (a provider built from OTEL_* stays for the process). */
  async close(): Promise<void> {
    await this.ownProvider?.forceFlush().catch(() => undefined);
  }
}
