/**
 * The names agents see for upstream tools and prompts. Policies, mandates and
 * the trail always say `<upstream>.<tool>`; agents see
 * `<prefix><separator><tool>` (by default `<upstream>_<tool>`), or the bare
 * upstream name with `prefix: ""`. Every model provider's function names allow
 * `^[A-Za-z0-9_-]{1,64}$` (OpenAI's rule, the strictest), so any other character
 * becomes `_`; names that would clash or run past 64 characters are refused when
 * the configuration loads.
 */
export interface Exposure {
  /** Default: the upstream's own name; `""` exposes the upstream's names as they are. */
  prefix?: string;
  separator: string;
}

export const PROVIDER_SAFE_NAME = /^[A-Za-z0-9_-]{1,64}$/;

export function exposedName(upstream: string, tool: string, expose: Exposure): string {
  const prefix = expose.prefix ?? upstream;
  return (prefix === '' ? tool : `${prefix}${expose.separator}${tool}`).replace(/[^A-Za-z0-9_-]/g, '_');
}

/** Problems with the exposed names of the configured tools: a clash or a name too long, each named. */
export function exposureProblems(upstreams: Record<string, { expose: Exposure; tools: Record<string, unknown> }>): { upstream: string; message: string }[] {
  const seen = new Map<string, string>();
  const problems: { upstream: string; message: string }[] = [];
  for (const [upstream, config] of Object.entries(upstreams)) {
    for (const tool of Object.keys(config.tools)) {
      const name = exposedName(upstream, tool, config.expose);
      if (!PROVIDER_SAFE_NAME.test(name)) problems.push({ upstream, message: `\`${upstream}.${tool}\` would be exposed as \`${name}\`, longer than the 64 characters model providers allow; set a shorter \`expose.prefix\`` });
      const other = seen.get(name);
      if (other) problems.push({ upstream, message: `\`${upstream}.${tool}\` and \`${other}\` would both be exposed as \`${name}\`; set \`expose.prefix\` on one of them` });
      seen.set(name, `${upstream}.${tool}`);
    }
  }
  return problems;
}
