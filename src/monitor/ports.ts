import type { TaskId } from '../core/index.js';
import type { SourceTrust } from '../provenance/index.js';
import type { Signal, Suspension } from './behaviour.js';

/** What every replica must see of a task's behaviour. */
export interface StoredBehaviour {
  labels: string[];
  toolsCalled: string[];
  signals: Signal[];
  suspendedBy: Suspension | null;
  stepUpBy: Signal | null;
  /** The signal whose `tighten` response refuses calls to untrusted or unseen targets, if any. */
  tightenedBy?: Signal | null;
  score: number;
  /** Salted hashes of the values the task has seen, with where it saw them (see src/provenance). */
  seen?: [string, SourceTrust][];
}

export interface BehaviourRepo {
  get(taskId: TaskId): Promise<StoredBehaviour | undefined>;
  save(taskId: TaskId, b: StoredBehaviour, atMs: number): Promise<void>;
  /** Adds seen values; never removes one (two replicas adding at once both keep theirs). */
  addSeen(taskId: TaskId, entries: readonly [string, SourceTrust][]): Promise<void>;
}
