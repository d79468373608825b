// Test support for this folder's *.test.ts files only; not exported from index.ts.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ToolSpecSchema, type ToolSpec } from '../core/index.js';
import type { CallFacts } from './model.js';

/** examples/policies at the repository root (tests run from dist/src/policy). */
export const EXAMPLE_POLICY_DIR = fileURLToPath(new URL('../../../examples/policies', import.meta.url));

/** A fresh temporary directory holding `files` (relative path → content). */
export function policyDir(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'mandate-policy-'));
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

export function tool(name: string, kind: ToolSpec['kind'], risk: ToolSpec['risk'] = 'low', labels: string[] = []): ToolSpec {
  return ToolSpecSchema.parse({ name, kind, risk, labels });
}

export const TOOLS = {
  filesRead: tool('files.read', 'read', 'low'),
  filesWrite: tool('files.write', 'write', 'medium'),
  emailSend: tool('email.send', 'send', 'medium'),
  paymentsCreate: tool('payments.create', 'payment', 'high'),
  vaultGetSecret: tool('vault.get_secret', 'retrieve_secret', 'high', ['secret']),
  shellExec: tool('shell.exec', 'execute', 'critical'),
};

/** Call facts for an agent in `agents` calling `files.read`, with overrides. */
export function facts(over: Partial<Omit<CallFacts, 'task'>> & { task?: Partial<CallFacts['task']> } = {}): CallFacts {
  return {
    agent: over.agent ?? { name: 'researcher', spiffeId: 'spiffe://acme.test/agent/researcher', groups: ['agents'] },
    tool: over.tool ?? TOOLS.filesRead,
    args: over.args ?? {},
    task: {
      id: 'tsk_test0001',
      purpose: 'testing',
      dataClasses: [],
      callCount: 0,
      labels: [],
      toolsCalled: [],
      delegationDepth: 0,
      ...over.task,
    },
    environment: over.environment ?? 'development',
  };
}

export const PERMIT_AGENTS = `@id("permit-agents")
permit (principal in AgentGroup::"agents", action in Action::"call_tool", resource);
`;
