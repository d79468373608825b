import {
  preparsePolicySet,
  preparseSchema,
  statefulIsAuthorized,
  type AuthorizationAnswer,
  type PolicyJson,
} from '@cedar-policy/cedar-wasm/nodejs';
import { canonicalJson, ConfigError, extraKinds, Lru, type ToolSpec } from '../core/index.js';
import { checkGrantAgainst, grantTimePolicies } from './check-grant.js';
import { keyerFor, type Keyer } from './decision-key.js';
import { mergeApprovalTerms } from './evaluate-effects.js';
import { loadPolicies } from './load-policies.js';
import type {
  AgentFacts,
  CedarRequest,
  GrantCheck,
  LoadedPolicies,
  LoadedPolicy,
  PolicyCode,
  PolicyEvaluation,
  ReloadResult,
  ApprovalTerms,
} from './model.js';
import type { PolicySource, SourceFile } from './ports.js';
import { safeMessage } from './safe-message.js';
import { CEDAR_SCHEMA, SCHEMA_NAME } from './schema.js';

// cedar-wasm keeps pre-parsed sets in one process-wide cache: ids must be unique across engines.
let engineCount = 0;
let schemaPreparsed = false;

function ensureSchemaPreparsed(): void {
  if (schemaPreparsed) return;
  const r = preparseSchema(SCHEMA_NAME, CEDAR_SCHEMA);
  if (r.type === 'failure') throw new ConfigError(`cedar schema: ${r.errors.map((e) => e.message).join('; ')}`);
  schemaPreparsed = true;
}

/** One installed version. Replaced whole on reload, so an evaluation never sees half of two versions. */
interface ActiveSet {
  version: number;
  hash: string;
  loaded: LoadedPolicies;
  setId: string;
  /** The same set minus the step-up forbids: "would a permit allow this once approved?". */
  withoutStepUpSetId: string | undefined;
  byId: Map<string, LoadedPolicy>;
  ids: Set<string>;
  grantPolicies: Record<string, PolicyJson> | undefined;
  /** The facts of a request the set can read (decision-key.ts); null when the set uses something the analysis does not understand. */
  keyer: Keyer | null;
  /** Answers by decision key; gone with the set. Undefined when answers are not kept (`decisionCache` 0). */
  answers: Lru<string, PolicyEvaluation> | undefined;
  /** Grant-time checks by agent and tool (with its kinds): a partial evaluation reads nothing else. */
  grantChecks: Lru<string, GrantCheck>;
}

/** Grant-time checks kept per policy version (agents × tools seen); the least recently used goes first. */
const MAX_GRANT_CHECKS = 10_000;

/** How many answers a policy set keeps by default (`cache.decisions`). */
export const DEFAULT_DECISION_CACHE = 100_000;

export interface PolicyEngineOptions {
  /** Answers kept per policy version, keyed by what the policies read; 0 asks Cedar every time. */
  decisionCache?: number;
}

/**
 * The organisation's ceiling: a pre-parsed, versioned Cedar policy set that
 * answers allow / deny / step_up, failing closed on anything unexpected.
 */
export class PolicyEngine {
  readonly #source: PolicySource | undefined;
  readonly #seq = ++engineCount;
  #active: ActiveSet | undefined;
  #version = 0;

  readonly #cacheSize: number;

  private constructor(source: PolicySource | undefined, options: PolicyEngineOptions) {
    this.#source = source;
    this.#cacheSize = options.decisionCache ?? DEFAULT_DECISION_CACHE;
  }

  /** Loads the source's policies; throws ConfigError (every problem as `<file>:<line>:<col>: ...`) at start-up. */
  static fromSource(source: PolicySource, options: PolicyEngineOptions = {}): PolicyEngine {
    const engine = new PolicyEngine(source, options);
    engine.#install(loadPolicies(source.readPolicies()));
    return engine;
  }

  /** Loads policies already in memory (tests, policies kept in the store); throws ConfigError. Cannot reload(). */
  static fromFiles(files: readonly SourceFile[], options: PolicyEngineOptions = {}): PolicyEngine {
    const engine = new PolicyEngine(undefined, options);
    engine.#install(loadPolicies(files));
    return engine;
  }

  /**
   * Installs policies kept in the store under the store's version number, so every
   * replica reports the same version. An invalid set keeps the serving one.
   */
  installFiles(files: readonly SourceFile[], version: number): ReloadResult {
    try {
      this.#install(loadPolicies(files), version);
      return { ok: true, version };
    } catch (err) {
      return { ok: false, errors: err instanceof Error ? err.message : String(err) };
    }
  }

  /** An engine with no policy: it denies everything with policy.none_loaded. */
  static empty(): PolicyEngine {
    return new PolicyEngine(undefined, {});
  }

  /** Whether the loaded set's answers are kept by decision key (false: Cedar decides every request). */
  get keyed(): boolean {
    return this.#active?.answers !== undefined && this.#active.keyer !== null;
  }

  /** Starts at 1 with the first load and increments on each successful reload; 0 when nothing was loaded. */
  get version(): number {
    return this.#version;
  }

  get hash(): string {
    return this.#active?.hash ?? '';
  }

  get loaded(): LoadedPolicies | undefined {
    return this.#active?.loaded;
  }

  /**
   * Reloads the source. An invalid set keeps the last good one serving and
   * reports why.
   */
  reload(): ReloadResult {
    if (this.#source === undefined) return { ok: false, errors: 'this engine has no policy directory' };
    try {
      this.#install(loadPolicies(this.#source.readPolicies()));
      return { ok: true, version: this.#version };
    } catch (err) {
      return { ok: false, errors: err instanceof Error ? err.message : String(err) };
    }
  }

  /** Reloads on changes to the source's policy files (debounced). Returns a stop function. */
  watch(onChange?: (result: ReloadResult) => void, debounceMs = 100): () => void {
    const source = this.#source;
    if (source === undefined) throw new TypeError('this engine has no policy directory to watch');
    return source.watch(
      () => {
        const result = this.reload();
        onChange?.(result);
      },
      debounceMs,
    );
  }

  /**
   * Decides one request. Never throws. Codes: policy.none_loaded,
   * policy.evaluation_error, policy.no_permit, policy.forbid, policy.step_up.
   */
  evaluate(req: CedarRequest): PolicyEvaluation {
    const s = this.#active;
    if (s === undefined || s.loaded.policies.length === 0) {
      return deny(s, 'policy.none_loaded', [], []);
    }
    let key: string | undefined;
    try {
      key = s.answers && s.keyer ? s.keyer(req) : undefined;
    } catch {
      key = undefined;
    }
    if (key === undefined) return this.#evaluate(req, s);
    const kept = s.answers!.get(key);
    if (kept !== undefined) return copyOf(kept);
    const answer = this.#evaluate(req, s);
    // An answer with errors is not kept: its text names values outside the key, and a failure may not recur.
    if (answer.errors.length === 0) s.answers!.set(key, copyOf(answer));
    return answer;
  }

  #evaluate(req: CedarRequest, s: ActiveSet): PolicyEvaluation {
    try {
      const answer = this.#authorize(req, s.setId);
      if (answer.type === 'failure') {
        // The request breaks the schema (missing or mistyped context, entity or action): never evaluated.
        return deny(s, 'policy.evaluation_error', [], answer.errors.map((e) => safeMessage(e.message, s.ids)));
      }
      const { decision, diagnostics } = answer.response;
      // cedar-wasm returns the determining policies in no fixed order: sorted, the same request gets the same answer.
      const reason = [...diagnostics.reason].sort();
      if (diagnostics.errors.length > 0) {
        // Cedar skips a policy that errors, so a forbid that errored could have turned this into an allow.
        const ids = unique(diagnostics.errors.map((e) => e.policyId)).sort();
        return deny(s, 'policy.evaluation_error', ids, diagnostics.errors.map((e) => `policy \`${e.policyId}\`: ${safeMessage(e.error.message, s.ids)}`));
      }
      if (decision === 'allow') {
        const allowed = result(s, 'allow', undefined, reason, [], []);
        allowed.redact = unique(reason.flatMap((id) => s.byId.get(id)?.redact ?? []));
        return allowed;
      }
      if (reason.length === 0) return deny(s, 'policy.no_permit', [], []);
      const plainForbids = reason.filter((id) => s.byId.get(id)?.stepUp === undefined);
      if (plainForbids.length > 0) return deny(s, 'policy.forbid', plainForbids, []);
      return this.#stepUpOrNoPermit(req, s, reason);
    } catch {
      return deny(s, 'policy.evaluation_error', [], ['policy evaluation failed']);
    }
  }

  /** Every determining policy is a step-up forbid: step up only if, once approved, a permit would allow it. */
  #stepUpOrNoPermit(req: CedarRequest, s: ActiveSet, stepUpIds: string[]): PolicyEvaluation {
    if (s.withoutStepUpSetId === undefined) return deny(s, 'policy.evaluation_error', [], ['step-up policy set missing']);
    const answer = this.#authorize(req, s.withoutStepUpSetId);
    if (answer.type === 'failure' || answer.response.diagnostics.errors.length > 0) {
      return deny(s, 'policy.evaluation_error', [], ['step-up re-evaluation failed']);
    }
    if (answer.response.decision !== 'allow') return deny(s, 'policy.no_permit', [], []);
    const values = unique(stepUpIds.map((id) => s.byId.get(id)?.stepUp ?? ''));
    const stepped = result(s, 'step_up', 'policy.step_up', stepUpIds, values, []);
    stepped.approval = approvalTerms(stepUpIds.map((id) => s.byId.get(id)?.json.annotations ?? {}));
    return stepped;
  }

  /** The bare cedar-wasm answer for the current set, for benchmarks comparing the pipeline with Cedar alone. */
  rawAuthorize(req: CedarRequest): AuthorizationAnswer {
    const s = this.#active;
    if (s === undefined) {
      return { type: 'failure', errors: [{ message: 'no policy loaded', help: null, code: null, url: null, severity: null }], warnings: [] };
    }
    return this.#authorize(req, s.setId);
  }

  /**
   * Whether a result of `tool` may have fields masked under the active set: some
   * `@redact` permit's resource scope can match it (conservative: a scope other
   * than `== Tool::"<another>"` may). The MCP gateway then lists the tool without
   * its output schema, which a masked value may no longer fit.
   */
  mayRedact(tool: string): boolean {
    const s = this.#active;
    return (s?.loaded.policies ?? []).some((p) => {
      if (p.redact.length === 0) return false;
      const scope = p.json.resource as { op?: string; entity?: { type?: string; id?: string } };
      return !(scope.op === '==' && scope.entity !== undefined && !(scope.entity.type === 'Tool' && scope.entity.id === tool));
    });
  }

  /**
   * At mandate grant time: is `tool` denied to `agent` whatever the arguments and
   * task context, under its kind or any of its effects? Refuses with policy.forbid
   * or policy.no_permit (the first refused action's); see check-grant.ts.
   */
  checkGrant(agent: AgentFacts, tool: ToolSpec): GrantCheck {
    const s = this.#active;
    if (s === undefined || s.loaded.policies.length === 0) return { refused: true, code: 'policy.no_permit', policyIds: [] };
    try {
      const key = canonicalJson([agent, tool]);
      const known = s.grantChecks.get(key);
      if (known !== undefined) return copyOfCheck(known);
      const policies = (s.grantPolicies ??= grantTimePolicies(s.loaded.policies));
      // A call is decided under the kind and every effect: a tool is refused when any of them is.
      let verdict: GrantCheck = { refused: false };
      for (const kind of [tool.kind, ...extraKinds(tool)]) {
        verdict = checkGrantAgainst(policies, s.byId, agent, tool, kind);
        if (verdict.refused) break;
      }
      s.grantChecks.set(key, verdict);
      return copyOfCheck(verdict);
    } catch {
      // Grant time only narrows early; every call is still decided by evaluate(), which fails closed.
      return { refused: false };
    }
  }

  #authorize(req: CedarRequest, setId: string): AuthorizationAnswer {
    return statefulIsAuthorized({
      principal: req.principal,
      action: req.action,
      resource: req.resource,
      context: req.context,
      entities: req.entities,
      preparsedSchemaName: SCHEMA_NAME,
      // INVARIANT: requests are validated against the schema, so a missing attribute is a failure, not a skipped policy.
      validateRequest: true,
      preparsedPolicySetId: setId,
    });
  }

  #install(loaded: LoadedPolicies, explicitVersion?: number): void {
    ensureSchemaPreparsed();
    const version = explicitVersion ?? this.#version + 1;
    // A fresh id per version: the serving set is never overwritten while it may be in use.
    // (cedar-wasm has no call to drop a pre-parsed set; each version costs its parsed size.)
    const setId = `mandate.policies.${this.#seq}.v${version}`;
    preparse(setId, loaded.policies);
    const plain = loaded.policies.filter((p) => p.stepUp === undefined);
    let withoutStepUpSetId: string | undefined;
    if (plain.length !== loaded.policies.length) {
      withoutStepUpSetId = `${setId}.without-step-up`;
      preparse(withoutStepUpSetId, plain);
    }
    this.#active = {
      version,
      hash: loaded.hash,
      loaded,
      setId,
      withoutStepUpSetId,
      byId: new Map(loaded.policies.map((p) => [p.id, p])),
      ids: new Set(loaded.policies.map((p) => p.id)),
      grantPolicies: undefined,
      keyer: keyerFor(loaded.policies.map((p) => p.json)),
      answers: this.#cacheSize > 0 ? new Lru(this.#cacheSize) : undefined,
      grantChecks: new Lru(MAX_GRANT_CHECKS),
    };
    this.#version = version;
  }
}

function preparse(setId: string, policies: readonly LoadedPolicy[]): void {
  const staticPolicies: Record<string, string> = {};
  for (const p of policies) staticPolicies[p.id] = p.text;
  const r = preparsePolicySet(setId, { staticPolicies });
  if (r.type === 'failure') throw new ConfigError(`policy set: ${r.errors.map((e) => e.message).join('; ')}`);
}

function copyOfCheck(c: GrantCheck): GrantCheck {
  return c.refused ? { ...c, policyIds: [...c.policyIds] } : { refused: false };
}

/** A kept answer is never handed out itself: a caller may add to its lists. */
function copyOf(e: PolicyEvaluation): PolicyEvaluation {
  const out: PolicyEvaluation = { ...e, policyIds: [...e.policyIds], stepUp: [...e.stepUp], redact: [...e.redact], errors: [...e.errors] };
  if (e.approval) out.approval = { ...e.approval, approvers: [...e.approval.approvers] };
  return out;
}

function deny(s: ActiveSet | undefined, code: PolicyCode, policyIds: string[], errors: string[]): PolicyEvaluation {
  return result(s, 'deny', code, policyIds, [], errors);
}

function result(
  s: ActiveSet | undefined,
  outcome: PolicyEvaluation['outcome'],
  code: PolicyCode | undefined,
  policyIds: string[],
  stepUp: string[],
  errors: string[],
): PolicyEvaluation {
  const out: PolicyEvaluation = { outcome, policyIds, stepUp, redact: [], errors, version: s?.version ?? 0, hash: s?.hash ?? '' };
  if (code !== undefined) out.code = code;
  return out;
}

/** The strictest terms when several step-up policies determine: each policy's annotations read, then merged as several actions' are. */
function approvalTerms(annotations: Record<string, string | null>[]): ApprovalTerms {
  return mergeApprovalTerms(annotations.map(termsOf));
}

/** One step-up policy's approval annotations; a missing or malformed number is no term. */
function termsOf(a: Record<string, string | null>): ApprovalTerms {
  const number = (key: string) => {
    const n = Number.parseInt(a[key] ?? '', 10);
    return Number.isInteger(n) && n > 0 ? n : null;
  };
  const sod = a['separation_of_duties'];
  return {
    approvers: (a['approvers'] ?? '').split(',').map((v) => v.trim()).filter(Boolean),
    uses: number('approval_uses'),
    windowSeconds: number('approval_window'),
    separationOfDuties: typeof sod === 'string' ? sod.trim() === 'true' : null,
  };
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}
