export { registerConsoleLive } from './console-live.js';
