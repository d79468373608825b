import type { AgentId, TaskId, ToolParams } from '../core/index.js';
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
  /** Tasks active and unexpired at `nowMs`, and how many of those the monitor suspended, counted by the store. */
  countActive(nowMs: number): Promise<{ active: number; suspended: number }>;
  /**
   * Adds one call atomically when the count is below `maxCalls` (or always when
   * null) and returns the new count; undefined when the limit is used up.
   * INVARIANT: exact across replicas sharing the store.
   */
  incrementCalls(id: TaskId, maxCalls: number | null): Promise<number | undefined>;
  /** Ends an active task; false when it had already ended. */
  end(id: TaskId, status: Exclude<TaskStatus, 'active'>, atMs: number, reason: string): Promise<boolean>;
}

/**
 * Where the grant learns the parameters of a catalog tool that states none (the
 * `inputSchema` an MCP upstream lists for it). Resolves undefined when there is
 * nothing to learn (not an upstream tool, or a schema that leaves the names
 * open): the tool's constraints are then granted unchecked, as for any tool
 * without `params`. Rejects when the parameters could be known but are not now:
 * the upstream could not list its tools in time, or does not list this one.
 */
export interface ToolParamsSource {
  paramsOf(toolName: string): Promise<ToolParams | undefined>;
}
