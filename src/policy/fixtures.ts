// Test support for this folder's *.test.ts files only; not exported from index.ts.
import { ToolSpecSchema, type ToolSpec } from '../core/index.js';
import type { CallFacts } from './model.js';
import type { PolicySource, SourceFile } from './ports.js';

/** examples/policies at the repository root (tests run from dist/src/policy); read it with the directory adapter. */
export const EXAMPLE_POLICY_DIR = decodeURIComponent(new URL('../../../examples/policies', import.meta.url).pathname);

/** An in-memory policy source; `write` changes a file and tells the watchers, as an editor saving would. */
export interface MemoryPolicies extends PolicySource {
  write(name: string, text: string): void;
}

/**
 * A policy source holding `files` (name → content): `*.cedar` names at the top
 * are policies, `tests/*.json` are policy tests, anything else is ignored, as in
 * a directory.
 */
export function policyDir(files: Record<string, string>): MemoryPolicies {
  const contents = new Map(Object.entries(files));
  const watchers = new Set<() => void>();
  const matching = (test: (name: string) => boolean): SourceFile[] =>
    [...contents.keys()]
      .filter(test)
      .sort()
      .map((name) => ({ name, text: contents.get(name)! }));
  return {
    name: 'memory',
    readPolicies: () => matching((n) => !n.includes('/') && n.endsWith('.cedar')),
    readTests: () => matching((n) => /^tests\/[^/]+\.json$/.test(n)),
    watch(onChange, debounceMs) {
      const notify = () => setTimeout(onChange, debounceMs);
      watchers.add(notify);
      return () => watchers.delete(notify);
    },
    write(name, text) {
      contents.set(name, text);
      for (const notify of watchers) notify();
    },
  };
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
