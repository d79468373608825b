export { CEDAR_SCHEMA } from './schema.js';
export { buildCedarRequest, buildDelegationRequest, type DelegationFacts } from './build-request.js';
export { loadPolicies } from './load-policies.js';
export type { PolicySource, SourceFile } from './ports.js';
export { PolicyEngine } from './engine.js';
export { evaluateEffects, type Ceiling } from './evaluate-effects.js';
export { runPolicyTests, formatPolicyTestReport, POLICY_TEST_DEFAULTS } from './run-policy-tests.js';
export type { PolicyTestReport, PolicyTestResult, PolicyTestCase, PolicyTestExpectation } from './run-policy-tests.js';
export { POLICY_CODES } from './model.js';
export type {
  AgentFacts,
  ApprovalTerms,
  CallFacts,
  CedarEntity,
  CedarRequest,
  GrantCheck,
  LoadedPolicies,
  LoadedPolicy,
  PolicyCode,
  PolicyEvaluation,
  PolicyOutcome,
  ReloadResult,
  TaskFacts,
} from './model.js';
