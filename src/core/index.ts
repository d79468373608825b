export * from './errors.js';
export * from './ids.js';
export * from './random.js';
export * from './clock.js';
export * from './hash.js';
export * from './tools.js';
export * from './zod-error.js';
export * from './lru.js';
