export * from './model.js';
export { authenticateCredential, decide, type DecisionPorts } from './decide.js';
export { RateWindow } from './rate-window.js';
