import type { TaskId } from '../core/index.js';
import type { Signal } from './behaviour.js';

/** What every replica must see of a task's behaviour. */
export interface StoredBehaviour {
  labels: string[];
  toolsCalled: string[];
  signals: Signal[];
  suspendedBy: Signal | null;
  stepUpBy: Signal | null;
  score: number;
}

export interface BehaviourRepo {
  get(taskId: TaskId): Promise<StoredBehaviour | undefined>;
  save(taskId: TaskId, b: StoredBehaviour, atMs: number): Promise<void>;
}
