/** Row shapes shared by both dialects: one data model, not two. */
export interface Database {
  settings: { key: string; value: string };
  signing_keys: {
    kid: string;
    alg: string;
    private_jwk: string;
    public_jwk: string;
    created_at_ms: number;
    retired_at_ms: number | null;
    drop_at_ms: number | null;
  };
  agents: {
    id: string;
    name: string;
    spiffe_id: string;
    groups: string;
    attestation: string;
    created_at_ms: number;
    disabled_at_ms: number | null;
    dpop_jkt: string | null;
  };
  dpop_proofs: { key: string; expires_at_ms: number };
  console_sessions: {
    id_hash: string;
    subject: string;
    issuer: string;
    name: string | null;
    email: string | null;
    groups: string;
    roles: string;
    csrf_token: string;
    created_at_ms: number;
    expires_at_ms: number;
    last_seen_at_ms: number;
  };
  join_tokens: {
    id: string;
    token_hash: string;
    agent_id: string;
    created_at_ms: number;
    expires_at_ms: number;
    used_at_ms: number | null;
  };
  tasks: {
    id: string;
    agent_id: string;
    agent_name: string;
    spiffe_id: string;
    mandate: string;
    principal: string | null;
    parent_task_id: string | null;
    delegation_depth: number;
    delegation_chain: string;
    status: string;
    credential_id: string;
    created_at_ms: number;
    expires_at_ms: number;
    ended_at_ms: number | null;
    end_reason: string | null;
    call_count: number;
  };
  revocations: {
    id: string;
    kind: string;
    subject: string;
    reason: string;
    created_at_ms: number;
    expires_at_ms: number;
  };
  approvals: {
    id: string;
    task_id: string;
    agent_id: string;
    agent_name: string;
    principal: string | null;
    tool: string;
    args: string;
    args_hash: string;
    policies: string;
    purpose: string;
    approvers: string;
    separation_of_duties: number;
    uses_left: number;
    window_seconds: number | null;
    status: string;
    created_at_ms: number;
    expires_at_ms: number;
    decided_by: string | null;
    decided_at_ms: number | null;
    valid_until_ms: number | null;
    reason: string | null;
    notify: string;
  };
  policy_sets: {
    version: number;
    files: string;
    hash: string;
    created_at_ms: number;
    created_by: string;
  };
  tools: {
    name: string;
    spec: string;
    updated_at_ms: number;
  };
  task_values: {
    task_id: string;
    value_hash: string;
    trust: string;
  };
  task_labels: {
    task_id: string;
    label: string;
  };
  task_behaviour: {
    task_id: string;
    tools_called: string;
    signals: string;
    suspended_by: string | null;
    step_up_by: string | null;
    tightened_by: string | null;
    score: number;
    updated_at_ms: number;
  };
  approvers: {
    id: string;
    groups: string;
    token_hash: string;
    created_at_ms: number;
  };
  secrets: {
    name: string;
    version: number;
    ciphertext: string;
    iv: string;
    tag: string;
    created_at_ms: number;
  };
  audit_events: {
    segment: string;
    seq: number;
    id: string;
    type: string;
    at_ms: number;
    task_id: string | null;
    agent_id: string | null;
    data: string;
    prev_hash: string;
    hash: string;
  };
  /** Where each decision record is (migration 15): a decision found by its id. */
  audit_decisions: { decision_id: string; segment: string; seq: number };
}
