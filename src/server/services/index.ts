export { PolicyDistribution } from './policy-distribution.js';
export { ToolRegistry } from './tool-registry.js';
export { TaskLifecycle, type GrantedTask } from './task-lifecycle.js';
export { Notifier } from './notifier.js';
