import { SpanKind, SpanStatusCode, context, propagation, trace, type Span, type Tracer } from '@opentelemetry/api';
import { unobservedUpstreamCalls, type UpstreamCalls } from '../../gateway/index.js';
import type { MandateMetrics } from './metrics.js';

/**
 * Each forwarded call timed per gateway and upstream, its failures counted, and,
 * when tracing is on, a client span beside the request's `mandate.decide`; an
 * HTTP upstream gets the span's `traceparent` in place of the agent's, so its own
 * spans continue the trace.
 */
export function observedUpstreamCalls(metrics: MandateMetrics | undefined, tracer: Tracer | undefined): UpstreamCalls {
  if (!metrics && !tracer) return unobservedUpstreamCalls;
  return {
    start(call) {
      const startedMs = performance.now();
      const series = metrics?.upstream(call.gateway, call.upstream);
      let span: Span | undefined;
      if (tracer) {
        span = tracer.startSpan(`upstream ${call.tool}`, {
          kind: SpanKind.CLIENT,
          attributes: {
            'mandate.gateway': call.gateway,
            'mandate.upstream': call.upstream,
            'mandate.tool': call.tool,
            'mandate.task_id': call.taskId,
            'mandate.decision': call.decision.outcome,
            'mandate.decision_id': call.decision.id,
          },
        });
        if (call.headers) {
          delete call.headers.traceparent;
          delete call.headers.tracestate;
          propagation.inject(trace.setSpan(context.active(), span), call.headers);
        }
      }
      let over = false;
      return (failure) => {
        if (over) return;
        over = true;
        series?.seconds.observe((performance.now() - startedMs) / 1000);
        if (failure !== null) series?.failed(failure);
        if (span) {
          if (failure !== null) span.setStatus({ code: SpanStatusCode.ERROR, message: failure });
          span.end();
        }
      };
    },
  };
}
