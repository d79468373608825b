// Regenerates docs/reason-codes.md from the code catalog (after `npm run build`); a pin test keeps them equal.
import { writeFileSync } from 'node:fs';
import { ERROR_CODES } from '../dist/src/core/index.js';
import { httpStatusOf } from '../dist/src/server/index.js';

let out = `# Reason codes

Every decision, API error and audit record carries one of these codes. A code is \`context.reason\`, stable forever and never reused. In a decision, the part before the dot is the layer that decided: \`credential.*\` (authentication and revocation), \`dpop.*\` (proof of possession of the key a credential is bound to, RFC 9449), \`mandate.*\` (the task's declared scope), \`policy.*\` (the organisation's Cedar ceiling); \`gateway.*\` codes come from the enforcement points. Decisions are returned with HTTP 200 by \`POST /v1/decide\`; the status column is for API errors.

| code | meaning | HTTP |
| --- | --- | --- |
`;
for (const [code, meaning] of Object.entries(ERROR_CODES)) out += `| \`${code}\` | ${meaning} | ${httpStatusOf(code)} |\n`;
writeFileSync(new URL('../docs/reason-codes.md', import.meta.url), out);
