export * from './model.js';
export { decide, type DecisionPorts } from './decide.js';
export { RateWindow } from './rate-window.js';
