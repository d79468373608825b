import { SpanKind, SpanStatusCode, type Attributes, type Span, type Tracer } from '@opentelemetry/api';
import type { Decision, Kernel } from '../../decision/index.js';
import type { MandateMetrics } from './metrics.js';

/**
 * The kernel with every decision counted and timed and, when tracing is on, a
 * `mandate.decide` span (a child of the request's) carrying the task and the
 * decision. The kernel itself stays free of I/O and of telemetry.
 */
export function observedKernel(kernel: Kernel, metrics: MandateMetrics | undefined, tracer: Tracer | undefined): Kernel {
  if (!metrics && !tracer) return kernel;
  const finish = (d: Decision, startedMs: number, span: Span | undefined): Decision => {
    metrics?.decided(d, (performance.now() - startedMs) / 1000);
    if (span) {
      span.setAttributes(decisionAttributes(d));
      // A deny is an answer, not a failure; only the kernel's own errors mark the span.
      if (d.reason.code === 'internal.error') span.setStatus({ code: SpanStatusCode.ERROR, message: d.reason.code });
      span.end();
    }
    return d;
  };
  return {
    authenticate: (token, presented) => kernel.authenticate(token, presented),
    visibleTools: (ctx) => kernel.visibleTools(ctx),
    account: (ctx, report) => kernel.account(ctx, report),
    // A what-if is not a decision: neither counted nor traced as one.
    whatIf: (ctx, call, opts) => kernel.whatIf(ctx, call, opts),
    decideRequest: async (req) => {
      const startedMs = performance.now();
      const span = tracer?.startSpan('mandate.decide', { kind: SpanKind.INTERNAL, attributes: { 'mandate.tool': req.tool } });
      return finish(await kernel.decideRequest(req), startedMs, span);
    },
    decide: async (ctx, call) => {
      const startedMs = performance.now();
      const span = tracer?.startSpan('mandate.decide', { kind: SpanKind.INTERNAL, attributes: { 'mandate.task_id': ctx.task.id, 'mandate.tool': call.tool } });
      return finish(await kernel.decide(ctx, call), startedMs, span);
    },
  };
}

/** What a trace shows of a decision: ids, outcome and code; never arguments. */
export function decisionAttributes(d: Decision): Attributes {
  return {
    'mandate.decision': d.outcome,
    'mandate.reason': d.reason.code,
    'mandate.decision_id': d.id,
    'mandate.layer': d.layer,
    ...(d.taskId ? { 'mandate.task_id': d.taskId } : {}),
    ...(d.agentId ? { 'mandate.agent_id': d.agentId } : {}),
    ...(d.policyVersion !== null ? { 'mandate.policy_version': d.policyVersion } : {}),
  };
}
