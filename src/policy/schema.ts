/**
 * The Cedar schema of the domain. Every policy is validated against it in strict
 * mode at load, and every request is validated against it before evaluation.
 *
 * INVARIANT: every attribute is required. An optional attribute lets a policy
 * test `has` and skip itself when the attribute is absent, which is a fail-open
 * trap for a `forbid`.
 */
export const CEDAR_SCHEMA = `
entity AgentGroup;
entity Agent in [AgentGroup] { name: String, spiffeId: String };

// The human (or system) an agent acts on behalf of.
entity Principal;

// A tool call's arguments arrive as the Tool's Cedar tags (getTag/hasTag): strings as-is, anything else as JSON text.
// The attribute tags is different: the tool's policy-only tags from the catalog; labels are those its results carry;
// targets names the arguments that say where a call goes (their values' provenance is in context.call).
entity ToolGroup;
entity Tool in [ToolGroup] { name: String, kind: String, risk: String, labels: Set<String>, tags: Set<String>, targets: Set<String> } tags String;

entity Task { purpose: String, agent: Agent };
entity Resource { kind: String, labels: Set<String> } tags String;

// onBehalfOf is "" when the task acts for nobody; egress lists the labels the mandate may send out.
type TaskContext = {
  id: String,
  purpose: String,
  dataClasses: Set<String>,
  callCount: Long,
  labels: Set<String>,
  toolsCalled: Set<String>,
  delegationDepth: Long,
  onBehalfOf: String,
  egress: Set<String>
};
// Where the values of the tool's target arguments (recipients, IBAN, URL) came from:
// declared in the mandate, seen in trusted results, naming the author of untrusted
// content, seen only in untrusted content, or never seen.
type CallInfo = {
  targets: Long,
  declaredTargets: Long,
  trustedTargets: Long,
  counterpartyTargets: Long,
  untrustedTargets: Long,
  unseenTargets: Long
};
// A delegated task's place in its chain: depth 0 for a root task; chain holds the SPIFFE ids of the agents
// that delegated to it (a set: Cedar has no lists; the decision records keep the order), empty for a root task.
type DelegationContext = { depth: Long, chain: Set<String> };
type CallContext = { environment: String, task: TaskContext, call: CallInfo, delegation: DelegationContext };

action call_tool;
action read, write, delete, export, send, payment, execute, retrieve_secret in [call_tool]
  appliesTo { principal: Agent, resource: Tool, context: CallContext };
action delegate
  appliesTo { principal: Agent, resource: Task, context: CallContext };
`;

/** Name under which the schema is pre-parsed in cedar-wasm's cache (one per process). */
export const SCHEMA_NAME = 'mandate.schema.v1';
