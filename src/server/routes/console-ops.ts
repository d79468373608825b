import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { AgentListing, TaskListing } from '../../console/index.js';
import { CodedError, parseId, type AgentId, type TaskId } from '../../core/index.js';
import { DEFAULT_THRESHOLDS, renderMarkdown } from '../../report/index.js';
// The server's own index: route files are registered by buildApp and use what it exports (a cycle read only at call time).
import { Api, doc, jsonSchema, parse, taskView, type Authorize, type ControlPlane } from '../index.js';
import type { TaskNode } from '../services/index.js';

const IdParams = z.object({ id: z.string().min(1).max(80) }).strict();
const Limit = z.coerce.number().int().min(1).max(1000).default(100);
const Cursor = z.string().min(1).max(512).optional().describe('`nextCursor` of the previous page');

const SuspendBody = z.object({ reason: z.string().trim().min(1, 'give a reason').max(500) }).strict();
const TaskListQuery = z
  .object({
    agent: z.string().min(1).max(128).optional().describe('an agent name or id'),
    principal: z.string().min(1).max(256).optional().describe('tasks acting on behalf of this principal'),
    status: z.enum(['active', 'expired', 'completed', 'revoked']).optional().describe('`active`: not ended and not past its expiry; `expired`: not ended but past it'),
    parent: z.string().min(1).max(80).optional().describe('the tasks delegated from this task'),
    q: z.string().min(1).max(200).optional().describe('the purpose contains this text (case-insensitive)'),
    limit: Limit,
    cursor: Cursor,
  })
  .strict();
const AgentListQuery = z.object({ limit: Limit, cursor: Cursor }).strict();
const ReportQuery = z
  .object({
    sinceMs: z.coerce.number().int().min(0).optional().describe('start of the period (ms since the epoch), inclusive; default the first event'),
    untilMs: z.coerce.number().int().min(0).optional().describe('end of the period, exclusive; default after the last event'),
    secretMaxAgeDays: z.coerce.number().int().min(0).default(DEFAULT_THRESHOLDS.secretMaxAgeDays).describe('a secret not rotated for longer is a gap'),
    maxTaskTtlSeconds: z.coerce.number().int().min(1).default(DEFAULT_THRESHOLDS.maxTaskTtlSeconds).describe('a task credential that may live longer is a gap'),
    maxSvidTtlSeconds: z.coerce.number().int().min(1).default(DEFAULT_THRESHOLDS.maxSvidTtlSeconds).describe('an SVID that lives longer is a gap'),
    minPurposeWords: z.coerce.number().int().min(1).default(DEFAULT_THRESHOLDS.minPurposeWords).describe('a granted task whose purpose is shorter is a gap'),
    format: z.enum(['json', 'md']).default('json').describe('`md`: the Markdown `mandate report` prints'),
  })
  .strict();

/** A task as the console lists it: the task, its purpose, and the monitor's stored summary. */
function taskItem(l: TaskListing): Record<string, unknown> {
  const { drift: _full, ...view } = taskView(l.task);
  return { ...view, purpose: l.task.mandate.purpose, drift: l.drift };
}

function nodeItem(n: TaskNode): Record<string, unknown> {
  return { ...taskItem(n), children: n.children.map(nodeItem) };
}

function agentItem(l: AgentListing): Record<string, unknown> {
  const a = l.agent;
  return { id: a.id, name: a.name, spiffeId: a.spiffeId, groups: a.groups, attestation: a.attestation, createdAtMs: a.createdAtMs, disabledAtMs: a.disabledAtMs, dpopJkt: a.dpopJkt, lastSeenMs: l.lastSeenMs, activeTasks: l.activeTasks };
}

/**
 * What the operator console reads and does beyond the core API: task and agent
 * lists a page at a time, task trees, suspending a task, the compliance report.
 */
export function registerConsoleOps(app: FastifyInstance, plane: ControlPlane, authorize: Authorize): void {
  app.get('/v1/tasks', doc('tasks, newest first, one page at a time, with purpose and the stored drift summary (viewer)', { response: { 200: Api.TaskPage }, security: [{ admin: [] }], querystring: jsonSchema(TaskListQuery) }), async (req) => {
    await authorize(req, 'viewer');
    const q = parse(TaskListQuery, req.query, 'query');
    const agentId = q.agent === undefined ? undefined : ((parseId('agent', q.agent) as AgentId | undefined) ?? (await plane.identity.agentByName(q.agent)).id);
    const parentTaskId = q.parent === undefined ? undefined : parseId('task', q.parent);
    if (q.parent !== undefined && !parentTaskId) throw new CodedError('request.invalid', `query: parent \`${q.parent}\` is not a task id`);
    const page = await plane.views.tasks({
      limit: q.limit,
      ...(agentId ? { agentId } : {}),
      ...(q.principal !== undefined ? { principal: q.principal } : {}),
      ...(q.status !== undefined ? { status: q.status } : {}),
      ...(parentTaskId ? { parentTaskId: parentTaskId as TaskId } : {}),
      ...(q.q !== undefined ? { purposeContains: q.q } : {}),
      ...(q.cursor !== undefined ? { cursor: q.cursor } : {}),
    });
    return { tasks: page.tasks.map(taskItem), nextCursor: page.nextCursor };
  });

  app.get('/v1/tasks/:id/tree', doc('a task and every task delegated from it, nested by parent (viewer)', { response: { 200: Api.TaskTree }, security: [{ admin: [] }] }), async (req) => {
    await authorize(req, 'viewer');
    const { id } = parse(IdParams, req.params, 'path');
    const { tree, nodes, truncated } = await plane.views.taskTree(id);
    return { tree: nodeItem(tree), nodes, truncated };
  });

  app.post('/v1/tasks/:id/suspend', doc('suspend a task: every call is refused (`monitor.suspended`) until it is resumed (operator)', { response: { 200: Api.TaskView }, security: [{ admin: [] }], body: jsonSchema(SuspendBody) }), async (req) => {
    const by = await authorize(req, 'operator');
    const { id } = parse(IdParams, req.params, 'path');
    const body = parse(SuspendBody, req.body ?? {}, 'body');
    const task = await plane.tasks.get(id);
    if (task.status !== 'active') throw new CodedError('request.invalid', `task \`${id}\` has ended (${task.status}): there is nothing to suspend`);
    await plane.monitor.suspend(task, by, body.reason);
    return taskView(task, await plane.monitor.summary(task));
  });

  app.get('/v1/agents', doc('agents by name, one page at a time, each with when it was last seen and its live tasks (viewer)', { response: { 200: Api.AgentPage }, security: [{ admin: [] }], querystring: jsonSchema(AgentListQuery) }), async (req) => {
    await authorize(req, 'viewer');
    const q = parse(AgentListQuery, req.query, 'query');
    const page = await plane.views.agents({ limit: q.limit, ...(q.cursor !== undefined ? { cursor: q.cursor } : {}) });
    return { agents: page.agents.map(agentItem), nextCursor: page.nextCursor };
  });

  app.get('/v1/report', doc('the compliance report `mandate report` builds, over a period: controls, evidence, gaps, framework coverage (viewer)', { response: { 200: Api.ComplianceReport }, security: [{ admin: [] }], querystring: jsonSchema(ReportQuery) }), async (req, reply) => {
    await authorize(req, 'viewer');
    const q = parse(ReportQuery, req.query, 'query');
    if (q.sinceMs !== undefined && q.untilMs !== undefined && q.sinceMs >= q.untilMs) throw new CodedError('request.invalid', 'query: sinceMs must be before untilMs');
    const report = await plane.views.report({
      sinceMs: q.sinceMs ?? null,
      untilMs: q.untilMs ?? null,
      thresholds: { secretMaxAgeDays: q.secretMaxAgeDays, maxTaskTtlSeconds: q.maxTaskTtlSeconds, maxSvidTtlSeconds: q.maxSvidTtlSeconds, minPurposeWords: q.minPurposeWords },
    });
    if (q.format === 'md') return reply.type('text/markdown; charset=utf-8').send(renderMarkdown(report));
    return report;
  });
}
