import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { Command } from 'commander';
import { buildProgram } from '../../src/cli/main.js';
import { ERROR_CODES } from '../../src/core/index.js';
import type { RunningServer } from '../../src/server/index.js';
import { ROOT, http, startTestServer } from '../helpers.js';

// Literals on purpose: a code, route or command that changes must change here too, knowingly.
const CODES = [
  'credential.missing', 'credential.invalid', 'credential.expired', 'credential.revoked', 'credential.holder_unproven',
  'dpop.missing', 'dpop.invalid', 'dpop.method_mismatch', 'dpop.url_mismatch', 'dpop.stale', 'dpop.replayed', 'dpop.ath_mismatch', 'dpop.key_mismatch',
  'identity.svid_invalid', 'identity.svid_expired', 'identity.agent_unknown', 'identity.agent_disabled', 'identity.agent_exists',
  'identity.join_token_invalid', 'identity.oidc_untrusted', 'identity.oidc_no_match', 'identity.principal_untrusted',
  'mandate.invalid', 'mandate.refused', 'mandate.tool_unknown', 'mandate.tool_not_declared', 'mandate.arg_constraint',
  'mandate.limit_exceeded', 'mandate.parent_invalid', 'mandate.principal_unverified', 'mandate.delegation_widens', 'mandate.delegation_unprovable', 'mandate.params_unavailable',
  'delegation.actor_unknown', 'delegation.not_permitted', 'delegation.depth_exceeded', 'delegation.children_exceeded',
  'policy.permit', 'policy.forbid', 'policy.no_permit', 'policy.step_up', 'policy.evaluation_error', 'policy.none_loaded',
  'gateway.upstream_unavailable', 'gateway.upstream_timeout', 'gateway.upstream_error', 'gateway.upstream_protocol_error', 'gateway.result_too_large', 'gateway.secret_unavailable', 'gateway.session_invalid', 'gateway.origin_forbidden', 'gateway.cancelled', 'gateway.route_unmapped',
  'approval.approved', 'approval.denied', 'approval.expired', 'approval.not_pending', 'approval.not_allowed',
  'monitor.drift.undeclared_tools', 'monitor.drift.arg_violations', 'monitor.drift.repeated_denials', 'monitor.drift.forbidden_secret', 'monitor.drift.rate_burst', 'monitor.drift.plan_deviation', 'monitor.suspended',
  'console.not_configured', 'console.sign_in_failed', 'console.no_role', 'console.signed_out', 'console.csrf', 'console.forbidden',
  'request.invalid', 'request.conflict', 'request.too_large', 'request.unauthorized', 'request.not_found', 'request.unreachable', 'request.too_many_streams', 'store.unreachable', 'internal.error',
];

const ROUTES = [
  'DELETE /v1/agents/{name}',
  'GET /healthz',
  'GET /metrics',
  'GET /readyz',
  'GET /v1/agents',
  'GET /v1/report',
  'GET /v1/approvals',
  'GET /v1/approvals/{id}',
  'POST /v1/approvals/{id}/approve',
  'POST /v1/approvals/{id}/deny',
  'POST /v1/approvers',
  'GET /v1/audit',
  'GET /v1/audit/verify',
  'GET /v1/bundle',
  'GET /v1/decisions',
  'GET /v1/decisions/stream',
  'GET /v1/decisions/{id}',
  'GET /v1/overview',
  'POST /v1/what-if',
  'GET /v1/jwks.json',
  'GET /v1/policies',
  'PUT /v1/policies',
  'GET /v1/secrets',
  'PUT /v1/secrets/{name}',
  'GET /v1/tasks',
  'GET /v1/tools',
  'PUT /v1/tools/{name}',
  'GET /v1/tasks/{id}',
  'GET /v1/tasks/{id}/trail',
  'GET /v1/tasks/{id}/mandate',
  'GET /v1/tasks/{id}/tree',
  'POST /v1/agents',
  'POST /v1/agents/{name}/join-tokens',
  'POST /v1/attest/join-token',
  'POST /v1/attest/oidc',
  'POST /v1/attest/renew',
  'POST /v1/decide',
  'POST /v1/keys/rotate',
  'POST /v1/revocations',
  'POST /v1/tasks',
  'POST /v1/tasks/from-plan',
  'POST /v1/tasks/{id}/complete',
  'POST /v1/tasks/{id}/resume',
  'POST /v1/tasks/{id}/suspend',
  'POST /v1/tasks/{id}/results',
  'POST /v1/token',
];

const COMMANDS = [
  'agent', 'agent register', 'agent token', 'approve', 'approve approve', 'approve deny', 'approve list', 'approve show', 'approver', 'approver add', 'audit', 'audit export', 'audit verify', 'config', 'config print', 'connect', 'decide', 'demo',
  'plan', 'plan show', 'policy', 'policy push', 'policy test', 'policy validate', 'report', 'revoke', 'secret', 'secret list', 'secret set', 'serve', 'task', 'task complete', 'task declare', 'task list', 'task revoke',
];

function commandPaths(cmd: Command, prefix = ''): string[] {
  return cmd.commands.flatMap((c) => {
    const path = `${prefix}${c.name()}`;
    return [path, ...commandPaths(c, `${path} `)];
  });
}

describe('pins', () => {
  it('error and reason codes are stable', () => {
    assert.deepEqual(Object.keys(ERROR_CODES).sort(), [...CODES].sort());
  });

  it('every code is documented in docs/reason-codes.md, and nothing else is', () => {
    const doc = readFileSync(`${ROOT}docs/reason-codes.md`, 'utf8');
    const documented = [...doc.matchAll(/^\| `([a-z_]+(?:\.[a-z_]+)+)` \|/gm)].map((m) => m[1]);
    assert.deepEqual([...documented].sort(), [...CODES].sort());
  });

  it('the CLI command tree', () => {
    assert.deepEqual(commandPaths(buildProgram()).sort(), [...COMMANDS].sort());
  });

  it('every command has a description for --help', () => {
    const missing: string[] = [];
    const walk = (c: Command, prefix: string) => {
      for (const sub of c.commands) {
        if (!sub.description()) missing.push(`${prefix}${sub.name()}`);
        walk(sub, `${prefix}${sub.name()} `);
      }
    };
    walk(buildProgram(), '');
    assert.deepEqual(missing, []);
  });

  describe('the /v1 API', () => {
    let server: RunningServer;
    before(async () => {
      server = await startTestServer();
    });
    after(async () => server.close());
    it('routes in the OpenAPI document', async () => {
      const doc = (await http(server.url, '/v1/openapi.json')).body as { paths: Record<string, Record<string, unknown>> };
      const routes = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`));
      assert.deepEqual(routes.sort(), [...ROUTES].sort());
    });
  });
});
