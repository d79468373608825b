import { z } from 'zod';
import { ConfigError, ToolSpecSchema, toolCatalog, type ToolCatalog } from '../core/index.js';
import { buildCedarRequest } from './build-request.js';
import { PolicyEngine } from './engine.js';
import { evaluateEffects } from './evaluate-effects.js';
import { POLICY_CODES, type PolicyCode, type PolicyEvaluation, type PolicyOutcome } from './model.js';
import type { PolicySource } from './ports.js';

const TaskOverridesSchema = z
  .object({
    id: z.string(),
    purpose: z.string(),
    dataClasses: z.array(z.string()),
    callCount: z.number().int().nonnegative(),
    labels: z.array(z.string()),
    toolsCalled: z.array(z.string()),
    egress: z.array(z.string()),
    delegationDepth: z.number().int().nonnegative(),
    delegationChain: z.array(z.string()),
    onBehalfOf: z.string(),
  })
  .partial()
  .strict();

const CaseSchema = z
  .object({
    name: z.string().min(1),
    request: z
      .object({
        agent: z
          .object({
            name: z.string().min(1),
            groups: z.array(z.string().min(1)).default([]),
            spiffeId: z.string().min(1).optional(),
          })
          .strict(),
        tool: z.string().min(1),
        args: z.record(z.string(), z.unknown()).default({}),
        task: TaskOverridesSchema.default({}),
        /** How many of the call's target values are of each provenance (`context.call`); none by default. */
        targets: z
          .object({ declared: z.number().int().nonnegative(), trusted: z.number().int().nonnegative(), counterparty: z.number().int().nonnegative(), untrusted: z.number().int().nonnegative(), unseen: z.number().int().nonnegative() })
          .partial()
          .strict()
          .default({}),
        environment: z.string().min(1).optional(),
      })
      .strict(),
    expect: z
      .object({
        outcome: z.enum(['allow', 'deny', 'step_up']),
        code: z.enum(POLICY_CODES).optional(),
        policies: z.array(z.string()).optional(),
      })
      .strict(),
  })
  .strict();

const TestFileSchema = z
  .object({
    cases: z.array(CaseSchema).min(1),
    tools: z.array(ToolSpecSchema).default([]),
  })
  .strict();

export type PolicyTestCase = z.output<typeof CaseSchema>;
export type PolicyTestExpectation = PolicyTestCase['expect'];

export interface PolicyTestResult {
  file: string;
  name: string;
  ok: boolean;
  expected: PolicyTestExpectation;
  actual: { outcome: PolicyOutcome; code?: PolicyCode; policyIds: string[]; errors: string[] };
}

export interface PolicyTestReport {
  passed: number;
  failed: number;
  results: PolicyTestResult[];
}

/** Defaults for what a case leaves out: a fresh task acting for nobody, in development. */
export const POLICY_TEST_DEFAULTS = {
  environment: 'development',
  task: { id: 'tsk_policytest', purpose: 'policy test', dataClasses: [], callCount: 0, labels: [], toolsCalled: [], delegationDepth: 0, onBehalfOf: '', egress: [] },
} as const;

/**
 * Runs the source's test cases (`<dir>/tests/*.json`) against its policies (or `engine`).
 * Throws ConfigError when the policies or a test file are invalid (naming the file and field).
 */
export function runPolicyTests(source: PolicySource, engine: PolicyEngine = PolicyEngine.fromSource(source)): PolicyTestReport {
  const files = source.readTests();
  const problems: string[] = [];
  const parsed: { file: string; cases: PolicyTestCase[]; tools: ToolCatalog }[] = [];
  if (files.length === 0) problems.push(`no test files in \`${source.name}/tests\` (expected *.json)`);
  for (const f of files) {
    let json: unknown;
    try {
      json = JSON.parse(f.text);
    } catch (err) {
      problems.push(`${f.name}: not valid JSON: ${(err as Error).message}`);
      continue;
    }
    const r = TestFileSchema.safeParse(json);
    if (!r.success) {
      for (const issue of r.error.issues) problems.push(`${f.name}: ${formatIssue(issue)}`);
      continue;
    }
    try {
      parsed.push({ file: f.name, cases: r.data.cases, tools: toolCatalog(r.data.tools) });
    } catch (err) {
      problems.push(`${f.name}: tools: ${(err as Error).message}`);
    }
  }
  if (problems.length > 0) throw new ConfigError(`invalid policy tests:\n${problems.map((p) => `  ${p}`).join('\n')}`);

  const results: PolicyTestResult[] = [];
  for (const { file, cases, tools } of parsed) {
    for (const c of cases) results.push(runCase(file, c, tools, engine));
  }
  const passed = results.filter((r) => r.ok).length;
  return { passed, failed: results.length - passed, results };
}

function runCase(file: string, c: PolicyTestCase, tools: ToolCatalog, engine: PolicyEngine): PolicyTestResult {
  const { request, expect } = c;
  const tool = tools.get(request.tool);
  if (tool === undefined) {
    const actual = { outcome: 'deny' as const, policyIds: [], errors: [`tool \`${request.tool}\` is not in this file's \`tools\``] };
    return { file, name: c.name, ok: false, expected: expect, actual };
  }
  // Decided as the kernel decides: under the kind and each further effect.
  const evaluation = evaluateEffects(
    engine,
    buildCedarRequest({
      agent: {
        name: request.agent.name,
        spiffeId: request.agent.spiffeId ?? `spiffe://policy-test/agent/${request.agent.name}`,
        groups: request.agent.groups,
      },
      tool,
      args: request.args,
      task: { ...POLICY_TEST_DEFAULTS.task, dataClasses: [], labels: [], toolsCalled: [], egress: [], ...request.task },
      call: { declared: 0, trusted: 0, counterparty: 0, untrusted: 0, unseen: 0, ...request.targets },
      environment: request.environment ?? POLICY_TEST_DEFAULTS.environment,
    }),
    tool,
  );
  const actual = summarize(evaluation);
  return { file, name: c.name, ok: matches(expect, actual), expected: expect, actual };
}

function summarize(e: PolicyEvaluation): PolicyTestResult['actual'] {
  const out: PolicyTestResult['actual'] = { outcome: e.outcome, policyIds: e.policyIds, errors: e.errors };
  if (e.code !== undefined) out.code = e.code;
  return out;
}

function matches(expected: PolicyTestExpectation, actual: PolicyTestResult['actual']): boolean {
  if (expected.outcome !== actual.outcome) return false;
  if (expected.code !== undefined && expected.code !== actual.code) return false;
  if (expected.policies !== undefined) {
    const want = [...expected.policies].sort();
    const got = [...actual.policyIds].sort();
    if (want.length !== got.length || want.some((id, i) => id !== got[i])) return false;
  }
  return true;
}

/** One line per case (`PASS name` / `FAIL name: expected ..., got ...`) and a final `N passed, N failed`. */
export function formatPolicyTestReport(report: PolicyTestReport): string {
  const lines = report.results.map((r) => {
    if (r.ok) return `PASS ${r.name}`;
    const withPolicies = r.expected.policies !== undefined;
    const expected = describe(r.expected.outcome, r.expected.code, withPolicies ? r.expected.policies : undefined);
    const actual = describe(r.actual.outcome, r.actual.code, withPolicies ? r.actual.policyIds : undefined);
    const errors = r.actual.errors.length > 0 ? ` (${r.actual.errors.join('; ')})` : '';
    return `FAIL ${r.name}: expected ${expected}, got ${actual}${errors}`;
  });
  lines.push(`${report.passed} passed, ${report.failed} failed`);
  return lines.join('\n');
}

function describe(outcome: PolicyOutcome, code: string | undefined, policies: string[] | undefined): string {
  const head = code === undefined || outcome === 'allow' ? outcome : `${outcome}/${code}`;
  return policies === undefined ? head : `${head} [${[...policies].sort().join(', ')}]`;
}

function formatIssue(issue: z.core.$ZodIssue): string {
  const path = issue.path.length > 0 ? issue.path.join('.') : '(root)';
  if (issue.code === 'unrecognized_keys') return `${path}: unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `\`${k}\``).join(', ')}`;
  return `${path}: ${issue.message}`;
}
