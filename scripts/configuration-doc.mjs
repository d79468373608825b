// Regenerates docs/configuration.md from the configuration schema (after `npm run build`); a test keeps them equal.
import { writeFileSync } from 'node:fs';
import { configurationReference } from '../dist/src/server/config-doc.js';

writeFileSync(new URL('../docs/configuration.md', import.meta.url), configurationReference());
