import type { Tracer, TracerProvider } from '@opentelemetry/api';
import { ConfigError } from '../../core/index.js';

export type TracesExporter = 'otlp' | 'console';

/** The name spans are made under (the instrumentation scope), and the default `service.name`. */
export const TRACER_NAME = 'mandate';

/**
 * Whether the standard OpenTelemetry variables ask for traces, and exported how:
 * `OTEL_TRACES_EXPORTER` (`otlp`, `console`, `none`), or an OTLP endpoint alone.
 * Nothing set means no tracing at all (the specification's default exporter is
 * `otlp`, but a control plane must not start sending to localhost:4318 because a
 * package is installed). `OTEL_SDK_DISABLED=true` turns it off.
 * Errors: ConfigError for an exporter or an OTLP protocol this build does not ship.
 */
export function tracesExporterFrom(env: NodeJS.ProcessEnv): TracesExporter | undefined {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return undefined;
  const named = (env.OTEL_TRACES_EXPORTER ?? '').split(',').map((e) => e.trim().toLowerCase()).filter(Boolean);
  let exporter: TracesExporter | undefined;
  if (named.includes('none')) return undefined;
  if (named.length > 1) throw new ConfigError(`OTEL_TRACES_EXPORTER: one exporter at a time, got \`${env.OTEL_TRACES_EXPORTER}\``);
  if (named.length === 1) {
    if (named[0] !== 'otlp' && named[0] !== 'console') throw new ConfigError(`OTEL_TRACES_EXPORTER: \`${named[0]}\` is not supported; use otlp, console or none`);
    exporter = named[0];
  } else if (env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT || env.OTEL_EXPORTER_OTLP_ENDPOINT) exporter = 'otlp';
  if (exporter === 'otlp') {
    const protocol = (env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL || env.OTEL_EXPORTER_OTLP_PROTOCOL || 'http/protobuf').trim();
    if (protocol !== 'http/protobuf') throw new ConfigError(`OTEL_EXPORTER_OTLP_PROTOCOL: \`${protocol}\` is not supported; traces are sent as http/protobuf`);
  }
  return exporter;
}

/** A provider this process built, which must be flushed before it exits. */
export interface OwnTracerProvider extends TracerProvider {
  forceFlush(): Promise<void>;
}

let fromEnv: Promise<OwnTracerProvider | undefined> | undefined;

/**
 * The tracer provider the OTEL_* variables describe, built once per process and
 * registered as the global one (context travels with AsyncLocalStorage, trace
 * context in W3C `traceparent`). The SDK is loaded only then: it is an optional
 * dependency, and a server without tracing never loads it.
 * Errors: ConfigError (see `tracesExporterFrom`, or the SDK is not installed).
 */
export function tracerProviderFromEnv(env: NodeJS.ProcessEnv = process.env): Promise<OwnTracerProvider | undefined> {
  const exporter = tracesExporterFrom(env);
  if (!exporter) return Promise.resolve(undefined);
  fromEnv ??= buildProvider(exporter).catch((err: unknown) => {
    fromEnv = undefined;
    throw err;
  });
  return fromEnv;
}

async function buildProvider(exporter: TracesExporter): Promise<OwnTracerProvider> {
  let sdk;
  try {
    sdk = await Promise.all([import('@opentelemetry/sdk-trace-node'), import('@opentelemetry/sdk-trace-base'), import('@opentelemetry/resources'), exporter === 'otlp' ? import('@opentelemetry/exporter-trace-otlp-proto') : undefined]);
  } catch (err) {
    throw new ConfigError(`tracing: the OTEL_* variables ask for traces, but the OpenTelemetry SDK (optional dependencies of mandate) is not installed: ${(err as Error).message}`);
  }
  const [{ NodeTracerProvider }, { BatchSpanProcessor, ConsoleSpanExporter }, { defaultResource, detectResources, envDetector, resourceFromAttributes }, otlp] = sdk;
  // OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES win over the default name.
  const resource = defaultResource().merge(resourceFromAttributes({ 'service.name': TRACER_NAME })).merge(detectResources({ detectors: [envDetector] }));
  // The exporter reads its endpoint, headers, timeout and compression from OTEL_EXPORTER_OTLP_*; the processor OTEL_BSP_*; the sampler OTEL_TRACES_SAMPLER.
  const spanExporter = otlp ? new otlp.OTLPTraceExporter() : new ConsoleSpanExporter();
  const provider = new NodeTracerProvider({ resource, spanProcessors: [new BatchSpanProcessor(spanExporter)] });
  provider.register();
  return provider;
}

export function tracerOf(provider: TracerProvider | undefined): Tracer | undefined {
  return provider?.getTracer(TRACER_NAME);
}
