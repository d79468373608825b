export { PolicyDistribution } from './policy-distribution.js';
export { ToolRegistry } from './tool-registry.js';
