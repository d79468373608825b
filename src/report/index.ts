export * from './model.js';
export * from './frameworks.js';
export { buildReport } from './build-report.js';
export { analyseCeiling, HIGH_RISKS } from './analyse-ceiling.js';
export { TrailTally, MAX_LISTED, type TalliedEvent } from './tally-trail.js';
export { findCredentials, type CredentialsInConfig } from './find-credentials.js';
export { renderJson, renderMarkdown } from './render.js';
