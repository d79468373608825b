export { ConfigSchema, ENV_KEYS, OTHER_MANDATE_VARIABLES, envName, loadConfig, redactConfig, type Config } from './config.js';
export { ControlPlane, auditWitnessFor, type ControlPlaneOptions, type GrantedTask } from './control-plane.js';
export { buildApp, taskView } from './app.js';
export { MANDATE_VERSION } from './version.js';
export { startServer, type RunningServer } from './serve.js';
export { isWorker, reportListening, runPrimary, runWorker, workerCount } from './workers.js';
export { createLogger, type Logger, type LogLevel } from './telemetry/index.js';
export { httpStatusOf } from '../gateway/index.js';
export type { ApiApproval, ApiAuditPage, ApiDeclaredTask, ApiDecision, ApiSvid, ApiTaskTrail, ApiTokenExchange } from './api-schemas.js';
// For route files under routes/: the kit every /v1 route is written with, and the response schemas.
export { doc, jsonSchema, parse, type Authorize } from './http-kit.js';
export * as Api from './api-schemas.js';
