export { ROLES, holds, type Role } from './roles.js';
export type { AgentListing, ConsoleReads, StoredDrift, TaskListQuery, TaskListStatus, TaskListing } from './ports.js';
