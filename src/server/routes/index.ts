export { CONSOLE_CSP, CONSOLE_DIR, registerConsoleStatic } from './console-static.js';
