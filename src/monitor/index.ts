export * from './behaviour.js';
export type { BehaviourRepo, StoredBehaviour } from './ports.js';
export { TaskMonitor, seenSalt, type MonitorDeps, type SeenGroup } from './task-monitor.js';
