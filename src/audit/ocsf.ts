import { assertNever } from '../core/index.js';
import type { AuditEvent } from './model.js';

/** The OCSF release the mapping follows (docs/ocsf.md): the classes, activities and enums below are its own. */
export const OCSF_VERSION = '1.8.0';

/** An OCSF event as JSON: the attributes of its class, with `unmapped` holding the Mandate record it came from. */
export type OcsfEvent = Record<string, unknown>;

interface OcsfClass {
  category_uid: number;
  category_name: string;
  class_uid: number;
  class_name: string;
}

const IAM = { category_uid: 3, category_name: 'Identity & Access Management' } as const;
const API_ACTIVITY: OcsfClass = { category_uid: 6, category_name: 'Application Activity', class_uid: 6003, class_name: 'API Activity' };
const ACCOUNT_CHANGE: OcsfClass = { ...IAM, class_uid: 3001, class_name: 'Account Change' };
const AUTHENTICATION: OcsfClass = { ...IAM, class_uid: 3002, class_name: 'Authentication' };
const AUTHORIZE_SESSION: OcsfClass = { ...IAM, class_uid: 3003, class_name: 'Authorize Session' };
const ENTITY_MANAGEMENT: OcsfClass = { ...IAM, class_uid: 3004, class_name: 'Entity Management' };
const USER_ACCESS: OcsfClass = { ...IAM, class_uid: 3005, class_name: 'User Access Management' };
const DETECTION_FINDING: OcsfClass = { category_uid: 2, category_name: 'Findings', class_uid: 2004, class_name: 'Detection Finding' };
const EVENT_LOG: OcsfClass = { category_uid: 1, category_name: 'System Activity', class_uid: 1008, class_name: 'Event Log Activity' };

const SEVERITY = { 1: 'Informational', 2: 'Low', 3: 'Medium', 4: 'High' } as const;
type Severity = keyof typeof SEVERITY;
const STATUS = { 1: 'Success', 2: 'Failure', 99: 'Other' } as const;
type Status = keyof typeof STATUS;

/** The Security Control profile's outcome: what the control did (`action_id`) and how it ended (`disposition_id`). */
const CONTROL = {
  allowed: { action_id: 1, action: 'Allowed', disposition_id: 1, disposition: 'Allowed' },
  approved: { action_id: 1, action: 'Allowed', disposition_id: 8, disposition: 'Approved' },
  blocked: { action_id: 2, action: 'Denied', disposition_id: 2, disposition: 'Blocked' },
  rejected: { action_id: 2, action: 'Denied', disposition_id: 25, disposition: 'Rejected' },
  unauthorized: { action_id: 2, action: 'Denied', disposition_id: 26, disposition: 'Unauthorized' },
  revoked: { action_id: 2, action: 'Denied', disposition_id: 24, disposition: 'Access Revoked' },
  // OCSF's own example of an outcome without a verdict yet: the call waits for a person.
  challenge: { action_id: 0, action: 'Unknown', disposition_id: 23, disposition: 'Challenge' },
  observed: { action_id: 3, action: 'Observed', disposition_id: 19, disposition: 'Alert' },
  modified: { action_id: 4, action: 'Modified', disposition_id: 18, disposition: 'Tagged' },
} as const;
type Control = (typeof CONTROL)[keyof typeof CONTROL];

interface Shape {
  cls: OcsfClass;
  activityId: number;
  activityName: string;
  severity?: Severity;
  status?: Status;
  statusCode?: string | null;
  statusDetail?: string;
  message: string;
  control?: Control;
  isAlert?: boolean;
  /** The attributes of the class itself. */
  attributes: Record<string, unknown>;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);
const num = (v: unknown): number | undefined => (typeof v === 'number' ? v : undefined);

/** An agent as OCSF's `user`: a workload, so type Other with the word Mandate uses. */
function agentUser(agentId: string | null, name?: string): Record<string, unknown> {
  return agentId ? { uid: agentId, ...(name ? { name } : {}), type_id: 99, type: 'Agent' } : { name: name ?? 'unknown', type_id: 99, type: 'Agent' };
}

const personUser = (id: string): Record<string, unknown> => ({ uid: id, type_id: 1, type: 'User' });

/** Who asked for an admin action (`by`, an `Actor`): the admin token, Mandate itself, a task's credential, an approver or a person signed in to the console. */
function actorUser(by: string): Record<string, unknown> {
  if (by === 'admin') return { name: 'admin', type_id: 2, type: 'Admin' };
  if (by.startsWith('task:')) return { uid: by.slice(5), name: by, type_id: 99, type: 'Task' };
  if (by.startsWith('approver:')) return personUser(by.slice(9));
  if (by.startsWith('person:')) return personUser(by.slice(7));
  return { name: by, type_id: 3, type: 'System' };
}

/** The upstream a tool belongs to (`files` of `files.read`): OCSF's API service. */
function apiOf(tool: string | undefined, requestUid?: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const operation = tool ?? 'unknown';
  const dot = operation.indexOf('.');
  return { operation, ...(dot > 0 ? { service: { name: operation.slice(0, dot) } } : {}), ...(requestUid ? { request: { uid: requestUid } } : {}), ...extra };
}

/** The agent as the source of a call: OCSF requires one, and the agent's workload is what Mandate knows of it. */
const agentEndpoint = (agentId: string | null): Record<string, unknown> => (agentId ? { uid: agentId, type_id: 99, type: 'Agent' } : { name: 'unknown' });

function taskSession(taskId: string | null, extra: Record<string, unknown> = {}): Record<string, unknown> | undefined {
  return taskId ? { uid: taskId, ...extra } : undefined;
}

/** One Authorization Result per policy that determined the outcome, or one naming none. */
function authorizations(decision: string, policies: string[], policyVersion: number | undefined): Record<string, unknown>[] {
  if (policies.length === 0) return [{ decision }];
  return policies.map((uid) => ({ decision, policy: { uid, name: uid, ...(policyVersion !== undefined ? { version: String(policyVersion) } : {}) } }));
}

const RESPONSE_SEVERITY: Record<string, Severity> = { alert: 2, tighten: 3, step_up: 3, suspend: 4, revoke: 4 };
const RESPONSE_CONTROL: Record<string, Control> = { alert: CONTROL.observed, tighten: CONTROL.modified, step_up: CONTROL.challenge, suspend: CONTROL.blocked, revoke: CONTROL.revoked };

/** What each Mandate event is in OCSF: class, activity, status and the class's own attributes (docs/ocsf.md). */
function shapeOf(e: AuditEvent): Shape {
  const d = e.data;
  switch (e.type) {
    case 'decision': {
      const outcome = str(d.outcome) ?? 'deny';
      const tool = str(d.tool);
      const code = str(d.code) ?? null;
      const control = outcome === 'allow' ? CONTROL.allowed : outcome === 'step_up' ? CONTROL.challenge : CONTROL.blocked;
      return {
        cls: API_ACTIVITY,
        activityId: 99,
        activityName: 'Call',
        severity: outcome === 'allow' ? 1 : outcome === 'step_up' ? 2 : 3,
        status: outcome === 'allow' ? 1 : outcome === 'step_up' ? 99 : 2,
        statusCode: code,
        statusDetail: str(d.layer) && code ? `${String(d.layer)}: ${code}` : undefined,
        message: `${outcome} ${tool ?? 'call'}${code ? ` (${code})` : ''}`,
        control,
        attributes: {
          actor: { user: agentUser(e.agentId), ...(taskSession(e.taskId) ? { session: taskSession(e.taskId) } : {}) },
          api: apiOf(tool, str(d.decisionId)),
          src_endpoint: agentEndpoint(e.agentId),
          authorizations: authorizations(outcome, strings(d.policies), num(d.policyVersion)),
        },
      };
    }
    case 'decision.withdrawn': {
      const code = str(d.code) ?? null;
      return {
        cls: API_ACTIVITY,
        activityId: 99,
        activityName: 'Call',
        severity: 3,
        status: 2,
        statusCode: code,
        message: `withdrawn ${str(d.was) ?? 'decision'} ${str(d.decisionId) ?? ''}${code ? ` (${code})` : ''}`.replace(/\s+/g, ' ').trim(),
        control: code === 'credential.revoked' ? CONTROL.revoked : CONTROL.blocked,
        attributes: {
          actor: { user: agentUser(e.agentId), ...(taskSession(e.taskId) ? { session: taskSession(e.taskId) } : {}) },
          api: apiOf(str(d.tool), str(d.decisionId)),
          src_endpoint: agentEndpoint(e.agentId),
          authorizations: [{ decision: 'deny' }],
        },
      };
    }
    case 'tool.result': {
      const ok = d.status === 'ok';
      const code = str(d.code) ?? null;
      return {
        cls: API_ACTIVITY,
        activityId: 99,
        activityName: 'Result',
        status: ok ? 1 : 2,
        statusCode: code,
        message: `result of ${str(d.tool) ?? 'call'}: ${ok ? 'ok' : 'error'}${code ? ` (${code})` : ''}`,
        attributes: {
          actor: { user: agentUser(e.agentId), ...(taskSession(e.taskId) ? { session: taskSession(e.taskId) } : {}) },
          api: apiOf(str(d.tool), str(d.decisionId), { response: { ...(code ? { error: code } : {}), message: ok ? 'ok' : 'error' } }),
          src_endpoint: agentEndpoint(e.agentId),
          ...(num(d.durationMs) !== undefined ? { duration: num(d.durationMs) } : {}),
        },
      };
    }
    case 'gateway.refused':
      return {
        cls: API_ACTIVITY,
        activityId: 99,
        activityName: 'Call',
        severity: 2,
        status: 2,
        statusCode: str(d.code) ?? null,
        message: `refused by the ${str(d.gateway) ?? ''} gateway: ${str(d.method) ?? 'request'} (${str(d.code) ?? 'refused'})`,
        control: CONTROL.rejected,
        attributes: {
          actor: { user: agentUser(e.agentId), ...(taskSession(e.taskId) ? { session: taskSession(e.taskId) } : {}) },
          api: { operation: str(d.method) ?? 'unknown', service: { name: str(d.gateway) ?? 'gateway' } },
          src_endpoint: agentEndpoint(e.agentId),
        },
      };
    case 'approval.requested':
    case 'approval.approved':
    case 'approval.denied':
    case 'approval.expired':
    case 'approval.cancelled':
    case 'approval.consumed':
    case 'approval.refused':
    case 'approval.notified':
    case 'approval.notify_failed':
      return approvalShape(e);
    case 'agent.registered':
    case 'agent.deregistered':
      return {
        cls: ACCOUNT_CHANGE,
        activityId: e.type === 'agent.registered' ? 1 : 5,
        activityName: e.type === 'agent.registered' ? 'Create' : 'Disable',
        message: `agent ${str(d.name) ?? e.agentId ?? ''} ${e.type === 'agent.registered' ? 'registered' : 'deregistered'}`,
        attributes: { user: { ...agentUser(e.agentId, str(d.name)), ...(strings(d.groups).length ? { groups: strings(d.groups).map((name) => ({ name })) } : {}) } },
      };
    case 'join_token.created':
      return entityShape(e, 1, 'Create', { type: 'Join token', uid: str(d.joinTokenId) ?? 'unknown' }, `join token created for agent ${e.agentId ?? ''}`.trim());
    case 'attestation.succeeded':
    case 'attestation.failed': {
      const ok = e.type === 'attestation.succeeded';
      const method = str(d.method) ?? 'unknown';
      return {
        cls: AUTHENTICATION,
        activityId: 1,
        activityName: 'Logon',
        severity: ok ? 1 : 2,
        status: ok ? 1 : 2,
        statusCode: str(d.code) ?? null,
        message: `attestation by ${method} ${ok ? 'succeeded' : 'failed'}${str(d.code) ? ` (${String(d.code)})` : ''}`,
        attributes: {
          user: agentUser(e.agentId, str(d.spiffeId)),
          auth_protocol_id: method === 'oidc' ? 4 : 99,
          auth_protocol: method === 'oidc' ? 'OpenID' : method,
          service: { name: 'mandate' },
          ...(ok && num(d.expiresAtMs) !== undefined ? { session: { expiration_time: num(d.expiresAtMs) } } : {}),
        },
      };
    }
    case 'key.created':
    case 'key.rotated': {
      const kid = str(d.kid) ?? strings(d.kids).at(-1) ?? 'unknown';
      return entityShape(e, 1, 'Create', { type: 'Signing key', uid: kid }, `signing key ${kid} ${e.type === 'key.created' ? 'created' : 'rotated in'}`);
    }
    case 'task.granted': {
      const mandate = (d.mandate ?? {}) as Record<string, unknown>;
      const tools = Array.isArray(mandate.tools) ? mandate.tools.map((t) => (typeof t === 'string' ? t : str((t as Record<string, unknown>)?.name))).filter((t): t is string => t !== undefined) : [];
      return {
        cls: AUTHORIZE_SESSION,
        activityId: 1,
        activityName: 'Assign Privileges',
        message: str(mandate.purpose) ?? 'task granted',
        attributes: {
          user: agentUser(e.agentId),
          session: taskSession(e.taskId, { created_time: e.atMs, ...(num(d.expiresAtMs) !== undefined ? { expiration_time: num(d.expiresAtMs) } : {}), ...(str(d.credentialId) ? { credential_uid: str(d.credentialId) } : {}), issuer: 'mandate' }),
          privileges: tools,
        },
      };
    }
    case 'task.refused': {
      const refused = Array.isArray(d.refused) ? (d.refused as Record<string, unknown>[]) : [];
      const codes = [...new Set(refused.map((r) => str(r?.code)).filter((c): c is string => c !== undefined))];
      return {
        cls: AUTHORIZE_SESSION,
        activityId: 1,
        activityName: 'Assign Privileges',
        severity: 2,
        status: 2,
        statusCode: codes[0] ?? 'mandate.refused',
        statusDetail: codes.join(', ') || undefined,
        message: `mandate refused: ${str(d.purpose) ?? ''}`.trim(),
        attributes: { user: agentUser(e.agentId), privileges: refused.map((r) => str(r?.item)).filter((i): i is string => i !== undefined) },
      };
    }
    case 'task.completed':
      return {
        cls: USER_ACCESS,
        activityId: 2,
        activityName: 'Revoke Privileges',
        message: `task completed${str(d.reason) ? `: ${String(d.reason)}` : ''}`,
        attributes: { user: agentUser(e.agentId), privileges: [`task:${e.taskId ?? 'unknown'}`] },
      };
    case 'revocation': {
      const kind = str(d.kind) ?? 'unknown';
      const subject = str(d.subject) ?? 'unknown';
      const user = kind === 'principal' ? personUser(subject) : kind === 'agent' ? agentUser(subject) : agentUser(e.agentId);
      return {
        cls: USER_ACCESS,
        activityId: 2,
        activityName: 'Revoke Privileges',
        severity: 2,
        message: `revoked ${kind} ${subject}${str(d.reason) ? `: ${String(d.reason)}` : ''}`,
        attributes: { user, privileges: [`${kind}:${subject}`] },
      };
    }
    case 'tool.registered':
      return entityShape(e, 3, 'Update', { type: 'Tool', name: str(d.name) ?? 'unknown' }, `tool ${str(d.name) ?? ''} registered`);
    case 'secret.stored':
    case 'secret.used': {
      const stored = e.type === 'secret.stored';
      const entity = { type: 'Secret', name: str(d.name) ?? 'unknown', ...(num(d.version) !== undefined ? { version: String(d.version) } : {}) };
      return entityShape(e, stored ? 1 : 2, stored ? 'Create' : 'Read', entity, `secret ${entity.name} ${stored ? 'stored' : `used by ${str(d.usedBy) ?? 'an upstream'}`}`);
    }
    case 'policy.loaded': {
      const version = num(d.version);
      return entityShape(e, 10, 'Activate', { type_id: 5, type: 'Policy', policy: { uid: str(d.hash) ?? 'unknown', name: 'ceiling', ...(version !== undefined ? { version: String(version) } : {}) } }, `policy version ${version ?? '?'} in force`);
    }
    case 'policy.what_if': {
      const version = num(d.policyVersion);
      const tool = str(d.tool) ?? 'a call';
      return entityShape(e, 2, 'Read', { type_id: 5, type: 'Policy', policy: { uid: 'ceiling', name: 'ceiling', ...(version !== undefined ? { version: String(version) } : {}) } }, `what-if by ${str(d.by) ?? 'someone'}: ${tool} would be ${str(d.outcome) ?? '?'}`);
    }
    case 'monitor.signal':
    case 'monitor.alert': {
      const signal = str(d.signal) ?? 'unknown';
      const response = str(d.response) ?? 'alert';
      const created = e.type === 'monitor.signal';
      return {
        cls: DETECTION_FINDING,
        activityId: created ? 1 : 2,
        activityName: created ? 'Create' : 'Update',
        severity: RESPONSE_SEVERITY[response] ?? 2,
        message: `drift signal ${signal} on task ${e.taskId ?? ''}: ${response}`,
        control: RESPONSE_CONTROL[response] ?? CONTROL.observed,
        isAlert: true,
        attributes: {
          // One finding per signal of a task: the alert that follows the signal updates it.
          finding_info: { uid: `${e.taskId ?? 'unknown'}/${signal}`, title: `drift signal ${signal}`, types: ['drift'], ...(str(d.decisionId) ? { related_events: [{ uid: str(d.decisionId) }] } : {}) },
          ...(str(d.tool) ? { evidences: [{ api: apiOf(str(d.tool), str(d.decisionId)), ...(e.agentId ? { actor: { user: agentUser(e.agentId) } } : {}) }] } : {}),
          resources: [{ uid: e.taskId ?? 'unknown', type: 'Task' }],
          ...(num(d.score) !== undefined ? { risk_score: num(d.score) } : {}),
        },
      };
    }
    case 'monitor.resumed':
      return {
        cls: USER_ACCESS,
        activityId: 1,
        activityName: 'Assign Privileges',
        message: `task ${e.taskId ?? ''} resumed${str(d.reason) ? `: ${String(d.reason)}` : ''}`,
        attributes: { user: agentUser(e.agentId), privileges: [`task:${e.taskId ?? 'unknown'}`] },
      };
    case 'monitor.suspended':
      return {
        cls: USER_ACCESS,
        activityId: 2,
        activityName: 'Revoke Privileges',
        message: `task ${e.taskId ?? ''} suspended by an operator${str(d.reason) ? `: ${String(d.reason)}` : ''}`,
        attributes: { user: agentUser(e.agentId), privileges: [`task:${e.taskId ?? 'unknown'}`] },
      };
    case 'approver.registered':
      return {
        cls: ACCOUNT_CHANGE,
        activityId: 1,
        activityName: 'Create',
        message: `approver ${str(d.approverId) ?? ''} registered`,
        attributes: { user: { ...personUser(str(d.approverId) ?? 'unknown'), ...(strings(d.groups).length ? { groups: strings(d.groups).map((name) => ({ name })) } : {}) } },
      };
    case 'console.signed_in':
    case 'console.sign_in_refused':
    case 'console.signed_out': {
      const subject = str(d.subject);
      const user = subject ? { ...personUser(subject), ...(str(d.email) ? { email_addr: str(d.email) } : {}), ...(str(d.name) ? { name: str(d.name) } : {}) } : { name: 'unknown', type_id: 0, type: 'Unknown' };
      const service = { name: 'mandate console' };
      if (e.type === 'console.signed_out') return { cls: AUTHENTICATION, activityId: 2, activityName: 'Logoff', message: `${subject ?? 'someone'} signed out of the console`, attributes: { user, service, auth_protocol_id: 4, auth_protocol: 'OpenID' } };
      const refused = e.type === 'console.sign_in_refused';
      return {
        cls: AUTHENTICATION,
        activityId: 1,
        activityName: 'Logon',
        ...(refused ? { severity: 2 as const, status: 2 as const, statusCode: str(d.code) ?? null, statusDetail: str(d.why) } : {}),
        message: refused ? `console sign-in refused${subject ? ` for ${subject}` : ''}: ${str(d.why) ?? ''}` : `${subject ?? 'someone'} signed in to the console as ${strings(d.roles).join(', ')}`,
        ...(refused ? { control: CONTROL.unauthorized } : {}),
        attributes: { user, service, auth_protocol_id: 4, auth_protocol: 'OpenID', ...(str(d.issuer) ? { src_endpoint: { name: str(d.issuer) } } : {}) },
      };
    }
    case 'audit.checkpoint':
      return {
        cls: EVENT_LOG,
        activityId: 99,
        activityName: 'Checkpoint',
        message: `signed checkpoint of segment ${str(d.segment) ?? e.segment}, events ${num(d.fromSeq) ?? '?'}–${num(d.seq) ?? '?'}`,
        attributes: { log_name: str(d.segment) ?? e.segment, log_provider: 'mandate' },
      };
    case 'audit.segment_restarted':
      return {
        cls: EVENT_LOG,
        activityId: 6,
        activityName: 'Start',
        severity: 4,
        message: `segment ${str(d.previous) ?? '?'} no longer holds what was witnessed; writing to ${e.segment}`,
        isAlert: true,
        attributes: { log_name: e.segment, log_provider: 'mandate' },
      };
    default:
      return assertNever(e.type);
  }
}

function entityShape(e: AuditEvent, activityId: number, activityName: string, entity: Record<string, unknown>, message: string): Shape {
  return { cls: ENTITY_MANAGEMENT, activityId, activityName, message, attributes: { entity } };
}

function approvalShape(e: AuditEvent): Shape {
  const d = e.data;
  const approvalId = str(d.approvalId);
  const base = {
    cls: API_ACTIVITY,
    activityId: 99,
    activityName: 'Approval',
    attributes: {
      actor: { user: agentUser(e.agentId), ...(taskSession(e.taskId) ? { session: taskSession(e.taskId) } : {}) },
      api: apiOf(str(d.tool), approvalId),
      src_endpoint: agentEndpoint(e.agentId),
    },
  };
  // A person's verdict: the person is the actor.
  const byPerson = (who: string | undefined) => ({ ...base.attributes, ...(who ? { actor: { user: personUser(who), ...(taskSession(e.taskId) ? { session: taskSession(e.taskId) } : {}) } } : {}) });
  switch (e.type) {
    case 'approval.requested':
      return { ...base, status: 99, message: `approval ${approvalId ?? ''} requested for ${str(d.tool) ?? 'a call'}`, control: CONTROL.challenge, attributes: { ...base.attributes, authorizations: authorizations('step_up', strings(d.policies), undefined) } };
    case 'approval.approved':
      return { ...base, status: 1, message: `approval ${approvalId ?? ''} approved by ${str(d.by) ?? 'a person'}: ${str(d.reason) ?? ''}`, control: CONTROL.approved, attributes: { ...byPerson(str(d.by)), authorizations: [{ decision: 'approved' }] } };
    case 'approval.denied':
      return { ...base, severity: 2, status: 2, message: `approval ${approvalId ?? ''} denied by ${str(d.by) ?? 'a person'}: ${str(d.reason) ?? ''}`, control: CONTROL.rejected, attributes: { ...byPerson(str(d.by)), authorizations: [{ decision: 'denied' }] } };
    case 'approval.expired':
    case 'approval.cancelled':
      return { ...base, status: 2, message: `approval ${approvalId ?? ''} ${e.type === 'approval.expired' ? 'expired' : 'cancelled'}`, control: CONTROL.blocked };
    case 'approval.consumed':
      return { ...base, status: 1, message: `approval ${approvalId ?? ''} used by decision ${str(d.decisionId) ?? ''}`, control: CONTROL.approved, attributes: { ...base.attributes, api: apiOf(str(d.tool), str(d.decisionId)) } };
    case 'approval.refused':
      return { ...base, severity: 2, status: 2, statusCode: str(d.code) ?? null, message: `a ${str(d.verdict) ?? 'verdict'} on approval ${approvalId ?? ''} by ${str(d.approver) ?? 'someone'} was refused (${str(d.code) ?? ''})`, control: CONTROL.unauthorized, attributes: byPerson(str(d.approver)) };
    case 'approval.notified':
    case 'approval.notify_failed':
      return { ...base, activityName: 'Notify', status: e.type === 'approval.notified' ? 1 : 2, statusDetail: str(d.error), message: `approval ${approvalId ?? ''} ${e.type === 'approval.notified' ? 'posted to' : 'could not be posted to'} the webhook` };
    default:
      throw new TypeError(`not an approval event: ${e.type}`);
  }
}

/**
 * One audit event as an OCSF event of the class that fits it (docs/ocsf.md): tool
 * calls, results and the decisions and approvals on them as API Activity with the
 * Security Control profile, identity and task events in Identity & Access
 * Management, drift signals as Detection Findings, the trail's own events as Event
 * Log Activity. The record as stored goes under `unmapped.mandate`, hashes
 * included, so nothing is lost and the event can be traced back to its chain.
 */
export function toOcsf(e: AuditEvent, productVersion: string): OcsfEvent {
  const s = shapeOf(e);
  // An admin action names who asked (`by`); the agent stays the actor of what it did itself.
  if (typeof e.data.by === 'string' && !('actor' in s.attributes)) s.attributes = { ...s.attributes, actor: { user: actorUser(e.data.by) } };
  const severity = s.severity ?? 1;
  const status = s.status ?? 1;
  const profiles = s.control || s.isAlert ? ['security_control'] : [];
  return {
    category_uid: s.cls.category_uid,
    category_name: s.cls.category_name,
    class_uid: s.cls.class_uid,
    class_name: s.cls.class_name,
    activity_id: s.activityId,
    activity_name: s.activityName,
    type_uid: s.cls.class_uid * 100 + s.activityId,
    type_name: `${s.cls.class_name}: ${s.activityName}`,
    time: e.atMs,
    severity_id: severity,
    severity: SEVERITY[severity],
    status_id: status,
    status: STATUS[status],
    ...(s.statusCode ? { status_code: s.statusCode } : {}),
    ...(s.statusDetail ? { status_detail: s.statusDetail } : {}),
    message: s.message,
    ...(s.control ?? {}),
    ...(s.isAlert !== undefined || s.control ? { is_alert: s.isAlert ?? false } : {}),
    ...s.attributes,
    metadata: {
      version: OCSF_VERSION,
      product: { name: 'Mandate', vendor_name: 'Mandate', version: productVersion },
      uid: e.id,
      original_event_uid: e.id,
      event_code: e.type,
      log_name: e.segment,
      sequence: e.seq,
      logged_time: e.atMs,
      ...(e.taskId ? { correlation_uid: e.taskId } : {}),
      ...(profiles.length ? { profiles } : {}),
    },
    unmapped: { mandate: e },
  };
}
