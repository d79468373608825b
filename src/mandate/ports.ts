import type { AgentId, TaskId } from '../core/index.js';
import type { Task, TaskStatus } from './model.js';

export interface TaskQuery {
  agentId?: AgentId;
  status?: TaskStatus;
  principal?: string;
  parentTaskId?: TaskId;
  limit?: number;
}

export interface TaskRepo {
  insert(task: Task): Promise<void>;
  get(id: TaskId): Promise<Task | undefined>;
  list(query: TaskQuery): Promise<Task[]>;
  /**
   * Adds one call atomically when the count is below `maxCalls` (or always when
   * null) and returns the new count; undefined when the limit is used up.
   * INVARIANT: exact across replicas sharing the store.
   */
  incrementCalls(id: TaskId, maxCalls: number | null): Promise<number | undefined>;
  /** Ends an active task; false when it had already ended. */
  end(id: TaskId, status: Exclude<TaskStatus, 'active'>, atMs: number, reason: string): Promise<boolean>;
}
