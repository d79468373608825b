import { z } from 'zod';
import { ConfigSchema, ENV_KEYS, envName } from './config.js';

/** The part of a JSON Schema node the reference reads. */
interface JsonNode {
  type?: string;
  description?: string;
  default?: unknown;
  enum?: unknown[];
  format?: string;
  minimum?: number;
  maximum?: number;
  properties?: Record<string, JsonNode>;
  additionalProperties?: JsonNode | boolean;
  items?: JsonNode;
  anyOf?: JsonNode[];
  oneOf?: JsonNode[];
}

const INTRO = `# Configuration

<!-- Generated from the configuration schema (src/server/config.ts) by \`npm run docs\`; a test fails when this page differs. -->

One YAML or JSON file (\`mandate serve --config <file>\`; \`examples/mandate.yaml\` is the one
\`npm start\` uses), validated at start-up with errors that name the key. Every scalar key can
also be set by a \`MANDATE_*\` variable, the key's path in SNAKE_CASE (\`server.port\` →
\`MANDATE_SERVER_PORT\`, \`store.url\` → \`MANDATE_STORE_URL\`); lists, maps and
text-or-secret values are set in the file only. A \`MANDATE_*\` variable that sets no key is
reported at start-up with the closest known name. \`mandate config print\` shows the effective
values, secrets redacted.
`;

const HEADER = '| key | type | default | variable | description |\n| --- | --- | --- | --- | --- |\n';

/** docs/configuration.md: every key with its type, default, variable and description, read off `ConfigSchema`. */
export function configurationReference(): string {
  const root = z.toJSONSchema(ConfigSchema, { io: 'input', unrepresentable: 'any' }) as JsonNode;
  // Defaults as parsing fills them in; a key under an optional section (a webhook) has its default in the JSON Schema only.
  const defaults: unknown = ConfigSchema.parse({});
  const env = new Set(ENV_KEYS);
  const defaultOf = (path: string, node: JsonNode): unknown => (node.properties ? undefined : (node.default ?? path.split('.').reduce<unknown>((v, k) => (v as Record<string, unknown> | undefined)?.[k], defaults)));
  const row = (path: string, node: JsonNode): string => {
    const value = defaultOf(path, node);
    return `| \`${path}\` | ${typeOf(node)} | ${value === undefined ? '—' : `\`${JSON.stringify(value)}\``} | ${env.has(path) ? `\`${envName(path)}\`` : '—'} | ${cell(node.description ?? '')} |\n`;
  };
  const rows = (prefix: string, node: JsonNode): string =>
    Object.entries(node.properties ?? {})
      .map(([key, child]) => row(`${prefix}${key}`, child) + (child.properties ? rows(`${prefix}${key}.`, child) : ''))
      .join('');
  const entries = Object.entries(root.properties ?? {});
  let out = `${INTRO}\n## Top level\n\n${HEADER}`;
  for (const [key, node] of entries) if (!node.properties) out += row(key, node);
  for (const [key, node] of entries) {
    if (!node.properties) continue;
    out += `\n## \`${key}\`\n\n${node.description ? `${node.description}\n\n` : ''}${HEADER}${rows(`${key}.`, node)}`;
  }
  return out;
}

function typeOf(node: JsonNode): string {
  if (node.enum) return node.enum.map((v) => `\`${String(v)}\``).join(' \\| ');
  const options = node.anyOf ?? node.oneOf;
  if (options) return options.map(typeOf).join(' or ');
  switch (node.type) {
    case 'integer':
    case 'number': {
      const range = node.minimum !== undefined && node.maximum !== undefined ? ` ${node.minimum}–${node.maximum}` : node.minimum !== undefined ? ` ≥ ${node.minimum}` : '';
      return `${node.type}${range}`;
    }
    case 'string':
      return node.format === 'uri' ? 'URL' : 'string';
    case 'array':
      return `list of ${plural(node.items)}`;
    case 'object':
      if (node.properties) return 'object';
      return typeof node.additionalProperties === 'object' ? `map of ${plural(node.additionalProperties)} by name` : 'object';
    default:
      return node.type ?? 'any';
  }
}

function plural(node: JsonNode | undefined): string {
  if (!node) return 'values';
  if (node.type === 'object' || node.anyOf || node.oneOf) return 'objects';
  return `${node.type ?? 'value'}s`;
}

/** Text inside a table cell: a `|` would end the cell. */
function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}
