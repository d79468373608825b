import type { ApprovalRepo, ApproverRepo } from '../approvals/ports.js';
import type { AuditRepo } from '../audit/ports.js';
import type { RevocationRepo } from '../credentials/ports.js';
import type { AgentRepo, JoinTokenRepo, KeyRepo } from '../identity/ports.js';
import type { TaskRepo } from '../mandate/ports.js';
import type { SecretRepo } from '../secrets/ports.js';

export interface SettingsRepo {
  get(key: string): Promise<string | undefined>;
  /** Stores `value` unless the key exists; returns whichever value is stored afterwards. */
  setIfAbsent(key: string, value: string): Promise<string>;
}

/** Every persistence port, as one adapter provides them. */
export interface Store {
  readonly kind: 'sqlite' | 'postgres';
  readonly keys: KeyRepo;
  readonly agents: AgentRepo;
  readonly joinTokens: JoinTokenRepo;
  readonly tasks: TaskRepo;
  readonly revocations: RevocationRepo;
  readonly audit: AuditRepo;
  readonly settings: SettingsRepo;
  readonly secrets: SecretRepo;
  readonly approvals: ApprovalRepo;
  readonly approvers: ApproverRepo;
  close(): Promise<void>;
}
