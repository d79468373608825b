export { registerConsoleOps } from './console-ops.js';
