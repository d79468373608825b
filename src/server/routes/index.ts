export { CONSOLE_CSP, CONSOLE_DIR, registerConsoleStatic } from './console-static.js';
export { registerConsoleOps } from './console-ops.js';
export { registerConsoleLive } from './console-live.js';
