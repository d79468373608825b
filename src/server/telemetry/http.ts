import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, context, propagation, trace, type Context, type Span, type Tracer } from '@opentelemetry/api';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Logger } from './logger.js';

/** A request id a caller (a load balancer, a proxy) may hand in; anything else is replaced, so a log line cannot be forged through it. */
const CALLER_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** `x-request-id` as the caller sent it when it is a plain token, else a new UUID: Fastify's `genReqId`. */
export function requestIdOf(req: IncomingMessage): string {
  const given = req.headers['x-request-id'];
  return typeof given === 'string' && CALLER_REQUEST_ID.test(given) ? given : randomUUID();
}

/**
 * Per HTTP request: the request id echoed in `x-request-id`; one `request
 * completed` line at info (route pattern, never the URL, whose path and query
 * can carry personal data); and, with a tracer, a server span that continues
 * the caller's `traceparent` and is the active context while the handler runs,
 * so `mandate.decide` and upstream spans become its children. Nothing beyond the
 * header is done for what is switched off. Register before any route.
 */
export function observeRequests(app: FastifyInstance, logger: Logger, tracer: Tracer | undefined): void {
  const logRequests = logger.isLevelEnabled('info');
  const contexts = new WeakMap<FastifyRequest, Context>();
  app.addHook('onRequest', (req, reply, done) => {
    reply.raw.setHeader('x-request-id', req.id);
    if (!tracer && !logRequests) return done();
    const startedMs = performance.now();
    const route = req.routeOptions.url;
    const name = route ? `${req.method} ${route}` : req.method;
    let span: Span | undefined;
    if (tracer) {
      const parent = propagation.extract(ROOT_CONTEXT, req.headers);
      span = tracer.startSpan(name, { kind: SpanKind.SERVER, attributes: { 'http.request.method': req.method, ...(route ? { 'http.route': route } : {}), 'mandate.request_id': req.id } }, parent);
      contexts.set(req, trace.setSpan(parent, span));
    }
    reply.raw.once('close', () => {
      const status = reply.raw.statusCode;
      const aborted = !reply.raw.writableFinished;
      if (span) {
        span.setAttribute('http.response.status_code', status);
        if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
        span.end();
      }
      if (logRequests) req.log.info({ method: req.method, route: route ?? null, statusCode: status, durationMs: Math.round((performance.now() - startedMs) * 1000) / 1000, ...(aborted ? { aborted } : {}) }, 'request completed');
    });
    done();
  });
  if (!tracer) return;
  app.addHook('onRoute', (route) => {
    const handler = route.handler;
    route.handler = function (this: FastifyInstance, req, reply) {
      const ctx = contexts.get(req);
      return ctx ? context.with(ctx, handler, this, req, reply) : handler.call(this, req, reply);
    };
  });
}
