import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { AuditFilter } from '../../audit/index.js';
import { CodedError, newId, parseId, type AgentId } from '../../core/index.js';
import type { Agent } from '../../identity/index.js';
import { MandateSchema, type Task } from '../../mandate/index.js';
// From the server's index (the dependency rule); used only inside functions, so the import cycle through app.ts is harmless.
import { Api, doc, jsonSchema, parse, type Authorize, type ControlPlane } from '../index.js';
import { ConsoleReads, DecisionTail, decodeTailCursor, encodeTailCursor } from '../services/index.js';

const REASON_CODE = /^[a-z_]+(\.[a-z_]+)+$/;
const OverviewQuery = z
  .object({
    windowMinutes: z.coerce.number().int().min(1).max(7 * 24 * 60).default(60).describe('how far back the series and top reasons go'),
    bucketSeconds: z.coerce.number().int().min(1).max(86_400).default(60).describe('the width of one bucket of the series'),
  })
  .strict()
  .refine((q) => (q.windowMinutes * 60) / q.bucketSeconds <= 1440, { message: 'at most 1,440 buckets: widen `bucketSeconds` or narrow `windowMinutes`' });
const StreamQuery = z
  .object({
    agent: z.string().min(1).max(128).optional().describe('an agent name or id'),
    task: z.string().optional().describe('a task id'),
    outcome: z.enum(['allow', 'deny', 'step_up']).optional(),
    reason: z.string().regex(REASON_CODE, 'a reason code such as `policy.forbid`').optional().describe('a reason code (docs/reason-codes.md)'),
    tool: z.string().min(1).max(256).optional(),
  })
  .strict();
const DecisionParams = z.object({ id: z.string().min(1).max(80) }).strict();
const WhatIfBody = z
  .object({
    task: z.string().optional().describe('a task id: its mandate, agent, principal and state as they are now'),
    mandate: z.unknown().optional().describe('or a mandate as `POST /v1/tasks` takes it, for a task that does not exist; without either, a mandate of just this tool'),
    agent: z.string().min(1).max(64).optional().describe('without `task`: the agent that would hold the mandate (else an agent in no group)'),
    principal: z.string().min(1).max(256).optional().describe('without `task`: on whose behalf (else the mandate\'s `onBehalfOf`)'),
    tool: z.string().min(1).max(256),
    args: z.record(z.string(), z.unknown()).default({}),
  })
  .strict();

/** How often a stream looks for segments of replicas that started after it. */
const DISCOVER_EVERY_MS = 5000;

/**
 * The operator console's read side: an overview counted by the store, decisions as
 * they are stored by any replica (Server-Sent Events), one decision with the text of
 * the policies that decided it, and what-if evaluation with no effect.
 */
export function registerConsoleLive(app: FastifyInstance, plane: ControlPlane, authorize: Authorize): void {
  const reads = new ConsoleReads({
    records: plane.store.audit,
    agents: plane.store.agents,
    tasks: plane.store.tasks,
    approvals: plane.store.approvals,
    policies: () => ({ version: plane.policy.version, loaded: plane.policy.loaded }),
    clock: plane.clock,
  });
  const { maxStreams, streamPollMs, heartbeatSeconds } = plane.config.console;
  /** Ends each open stream: at shutdown, so no console keeps the server from closing. */
  const streams = new Set<() => void>();
  app.addHook('preClose', async () => {
    for (const end of [...streams]) end();
  });

  app.get('/v1/overview', doc('counts for the operator console: agents, tasks, approvals, drift, decisions over time by outcome, top refusal reasons, health (viewer)', { response: { 200: Api.Overview }, security: [{ admin: [] }], querystring: jsonSchema(OverviewQuery) }), async (req) => {
    await authorize(req, 'viewer');
    const q = parse(OverviewQuery, req.query, 'query');
    const overview = await reads.overview(q.windowMinutes, q.bucketSeconds);
    return { ...overview, health: { store: { kind: plane.store.kind, available: plane.storeAvailable() }, upstreams: plane.upstreams.status() } };
  });

  const eventStream = { description: 'Server-Sent Events: `event: decision`, `id:` a cursor to resume with `Last-Event-ID`, `data:` the audit event as `GET /v1/audit` returns it; `: heartbeat` comments', content: { 'text/event-stream': { schema: { type: 'string' } } } };
  const streamDoc = doc('decisions as any replica stores them, as Server-Sent Events; filters as `GET /v1/audit` (viewer)', { security: [{ admin: [] }], querystring: jsonSchema(StreamQuery) });
  app.get('/v1/decisions/stream', { schema: { ...streamDoc.schema, response: { ...streamDoc.schema.response, 200: eventStream } } }, async (req, reply) => {
    await authorize(req, 'viewer');
    const q = parse(StreamQuery, req.query, 'query');
    const lastEventId = req.headers['last-event-id'];
    const resumeFrom = typeof lastEventId === 'string' && lastEventId !== '' ? decodeTailCursor(lastEventId) : undefined;
    const taskId = q.task === undefined ? undefined : parseId('task', q.task);
    if (q.task !== undefined && !taskId) throw new CodedError('request.invalid', `query: task \`${q.task}\` is not a task id`);
    const agentId = q.agent === undefined ? undefined : (parseId('agent', q.agent) ?? (await plane.identity.agentByName(q.agent)).id);
    const filter: AuditFilter = {
      ...(taskId ? { taskIds: [taskId] } : {}),
      ...(agentId ? { agentId } : {}),
      ...(q.outcome !== undefined ? { outcome: q.outcome } : {}),
      ...(q.reason !== undefined ? { code: q.reason } : {}),
      ...(q.tool !== undefined ? { tool: q.tool } : {}),
    };
    // Each stream reads the store every poll: bounded per replica so a crowd of consoles cannot load it.
    if (streams.size >= maxStreams) throw new CodedError('request.too_many_streams', `this replica already serves ${maxStreams} live decision streams`);
    let closed = false;
    let heartbeat: NodeJS.Timeout | undefined;
    const stop = () => {
      if (closed) return;
      closed = true;
      streams.delete(end);
      clearInterval(heartbeat);
    };
    const end = () => {
      stop();
      if (reply.raw.headersSent) reply.raw.end();
    };
    streams.add(end);
    try {
      const tail = await DecisionTail.start(plane.store.audit, filter, plane.clock, resumeFrom);
      reply.hijack();
      const res = reply.raw;
      res.on('close', stop);
      res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache, no-transform', connection: 'keep-alive', 'x-accel-buffering': 'no' });
      // The cursor as it stands, so a client that sees no decision can still resume from here.
      res.write(`retry: 2000\nid: ${encodeTailCursor(tail.cursor)}\n: connected\n\n`);
      heartbeat = setInterval(() => res.write(': heartbeat\n\n'), heartbeatSeconds * 1000);
      heartbeat.unref();
      void (async () => {
        while (!closed) {
          try {
            for (const { event, resumeAt } of await tail.read(DISCOVER_EVERY_MS)) {
              if (closed) break;
              if (!res.write(`event: decision\nid: ${encodeTailCursor(resumeAt)}\ndata: ${JSON.stringify(event)}\n\n`)) await new Promise((resolve) => res.once('drain', resolve).once('close', resolve));
            }
          } catch (err) {
            // The store may be out of reach for a while: the stream stays open and reads again on the next poll.
            req.log.warn({ err }, 'decision stream: reading the store failed');
          }
          if (!closed) await new Promise((resolve) => setTimeout(resolve, streamPollMs));
        }
      })();
    } catch (err) {
      stop();
      throw err;
    }
  });

  app.get('/v1/decisions/:id', doc('one decision from the audit trail, with the source text of the policies that decided it and its task (viewer)', { response: { 200: Api.DecisionDetail }, security: [{ admin: [] }] }), async (req) => {
    await authorize(req, 'viewer');
    const { id } = parse(DecisionParams, req.params, 'path');
    return reads.decision(id);
  });

  app.post('/v1/what-if', doc('the decision the current policies would give a call of a task, or of a mandate given whole, with no effect: nothing is decided, counted, approved or observed, and only `policy.what_if` is recorded (viewer)', { response: { 200: Api.WhatIf }, security: [{ admin: [] }], body: jsonSchema(WhatIfBody) }), async (req) => {
    const by = await authorize(req, 'viewer');
    const body = parse(WhatIfBody, req.body, 'body');
    if (body.task !== undefined && body.mandate !== undefined) throw new CodedError('request.invalid', 'body: give `task` or `mandate`, not both');
    let task: Task;
    let agent: Agent | undefined;
    let hypothetical = false;
    if (body.task !== undefined) {
      if (body.agent !== undefined || body.principal !== undefined) throw new CodedError('request.invalid', 'body: `agent` and `principal` go with `mandate`; a task has its own');
      const taskId = parseId('task', body.task);
      const found = taskId && (await plane.decisionPorts.getTask(taskId));
      if (!found) throw new CodedError('request.not_found', `no task \`${body.task}\``);
      task = found;
      agent = await plane.decisionPorts.getAgent(task.agentId);
    } else {
      // Without a mandate, one that declares just this tool: the question is then the ceiling's answer.
      const mandate = parse(MandateSchema, body.mandate ?? { purpose: 'what-if', tools: [body.tool] }, 'body.mandate');
      agent = body.agent === undefined ? anyAgent(plane.config.trustDomain, plane.clock.nowMs()) : await plane.identity.agentByName(body.agent);
      const nowMs = plane.clock.nowMs();
      hypothetical = true;
      task = {
        id: newId('task', plane.decisionPorts.random),
        agentId: agent.id,
        agentName: agent.name,
        spiffeId: agent.spiffeId,
        mandate,
        principal: body.principal ?? mandate.onBehalfOf ?? null,
        parentTaskId: null,
        delegationDepth: 0,
        chain: [],
        status: 'active',
        credentialId: newId('credential', plane.decisionPorts.random),
        createdAtMs: nowMs,
        expiresAtMs: nowMs + mandate.ttlSeconds * 1000,
        endedAtMs: null,
        endReason: null,
        callCount: 0,
      };
    }
    const decision = await plane.kernel.whatIf({ task, agent }, { tool: body.tool, args: body.args }, { hypothetical });
    // Not the task's event (its trail is what the agent did): who asked, about what, and the answer; never the arguments.
    await plane.audit.record({
      type: 'policy.what_if',
      data: { by, tool: body.tool, outcome: decision.outcome, code: decision.reason.code, policyVersion: decision.policyVersion, task: hypothetical ? null : task.id, agent: body.task === undefined && body.agent === undefined ? null : task.agentName },
    });
    return { ...decision, ...reads.sourcesOf(decision.policies, decision.policyVersion), recorded: false };
  });
}

/** The agent a what-if without one asks about: registered nowhere, in no group, so only policies for any agent apply. */
function anyAgent(trustDomain: string, nowMs: number): Agent {
  return { id: 'agt_whatifanyagent' as AgentId, name: 'any-agent', spiffeId: `spiffe://${trustDomain}/agent/any-agent`, groups: [], attestation: { joinToken: false, oidc: [] }, createdAtMs: nowMs, disabledAtMs: null, dpopJkt: null };
}
