import { policySetTextToParts, policyToJson, validate, type DetailedError } from '@cedar-policy/cedar-wasm/nodejs';
import { ConfigError, sha256Hex } from '../core/index.js';
import type { LoadedPolicies, LoadedPolicy } from './model.js';
import type { SourceFile } from './ports.js';
import { CEDAR_SCHEMA } from './schema.js';
import { byteToCharOffset, lineCol, locateParts } from './source-locations.js';

interface Problem {
  file: string;
  line: number;
  col: number;
  message: string;
}

interface Located extends LoadedPolicy {
  /** String index of the policy's first character in its file. */
  offset: number;
  fileText: string;
}

/**
 * Validates `*.cedar` file contents (sorted by name) against the domain schema in
 * strict mode. Throws ConfigError listing every problem as `<file>:<line>:<col>: <message>`.
 */
export function loadPolicies(input: readonly SourceFile[]): LoadedPolicies {
  const files = [...input].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const problems: Problem[] = [];
  const policies: Located[] = [];

  for (const file of files) {
    const split = policySetTextToParts(file.text);
    if (split.type === 'failure') {
      for (const e of split.errors) problems.push(problemAt(file.name, file.text, 0, file.text, e));
      continue;
    }
    if (split.policy_templates.length > 0) {
      // Templates need links the ceiling has no way to declare; a silently unlinked template would never apply.
      problems.push({ file: file.name, line: 1, col: 1, message: 'policy templates (`?principal`, `?resource`) are not supported in the ceiling' });
      continue;
    }
    const offsets = locateParts(file.text, split.policies);
    split.policies.forEach((text, k) => {
      const offset = Math.max(offsets[k]!, 0);
      const { line, col } = lineCol(file.text, offset);
      const parsed = policyToJson(text);
      if (parsed.type === 'failure') {
        for (const e of parsed.errors) problems.push(problemAt(file.name, file.text, offset, text, e));
        return;
      }
      const annotations = parsed.json.annotations ?? {};
      // A bare `@name` (no value) comes back as null despite the declared type.
      const explicitId = Object.hasOwn(annotations, 'id') ? (annotations['id'] ?? '') : undefined;
      const stepUp = Object.hasOwn(annotations, 'step_up') ? (annotations['step_up'] ?? '') : undefined;
      const redactValue = Object.hasOwn(annotations, 'redact') ? (annotations['redact'] ?? '') : undefined;
      const redact = redactValue === undefined ? [] : redactValue.split(',').map((f) => f.trim()).filter(Boolean);
      const at = (message: string) => problems.push({ file: file.name, line, col, message });
      if (redactValue !== undefined && parsed.json.effect !== 'permit') at('`@redact` applies to permit policies only (it is an obligation attached to an allow)');
      if (redactValue !== undefined && (redact.length === 0 || redact.some((f) => !/^[A-Za-z0-9_.-]{1,64}$/.test(f)))) at('`@redact` needs field names separated by commas, e.g. `@redact("email,phone")`');
      if (explicitId !== undefined && explicitId.trim() === '') at('`@id` must not be empty');
      if (stepUp !== undefined && parsed.json.effect !== 'forbid') at('`@step_up` applies to forbid policies only (it names the approval that lifts the forbid)');
      if (stepUp !== undefined && stepUp.trim() === '') at('`@step_up` needs a value naming the approval, e.g. `@step_up("human")`');
      policies.push({
        id: explicitId ?? `${file.name}:${line}`,
        file: file.name,
        line,
        effect: parsed.json.effect,
        stepUp,
        redact,
        text,
        json: parsed.json,
        offset,
        fileText: file.text,
      });
    });
  }

  const firstById = new Map<string, Located>();
  for (const p of policies) {
    const first = firstById.get(p.id);
    if (first === undefined) firstById.set(p.id, p);
    else problems.push({ ...locate(p, 0), message: `duplicate policy id \`${p.id}\` (first at ${first.file}:${first.line}); give one of them an \`@id("...")\`` });
  }

  const warnings: string[] = [];
  if (policies.length > 0) {
    // Internal keys rather than policy ids: duplicates are reported above, and every problem is still listed at once.
    const staticPolicies: Record<string, string> = {};
    policies.forEach((p, i) => {
      staticPolicies[`p${i}`] = p.text;
    });
    const result = validate({ schema: CEDAR_SCHEMA, validationSettings: { mode: 'strict' }, policies: { staticPolicies } });
    if (result.type === 'failure') {
      for (const e of result.errors) problems.push({ file: '(schema)', line: 1, col: 1, message: e.message });
    } else {
      for (const v of result.validationErrors) {
        const p = policies[Number(v.policyId.slice(1))];
        if (p !== undefined) problems.push(problemAt(p.file, p.fileText, p.offset, p.text, v.error));
      }
      for (const v of result.validationWarnings) {
        const p = policies[Number(v.policyId.slice(1))];
        if (p !== undefined) warnings.push(formatProblem(problemAt(p.file, p.fileText, p.offset, p.text, v.error)));
      }
      for (const e of result.otherWarnings) warnings.push(e.message);
    }
  }

  if (problems.length > 0) {
    problems.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : a.line - b.line || a.col - b.col));
    throw new ConfigError(`invalid policies:\n${problems.map((p) => `  ${formatProblem(p)}`).join('\n')}`);
  }

  return {
    files: files.map((f) => f.name),
    policies: policies.map(({ offset: _offset, fileText: _fileText, ...p }) => p),
    hash: sha256Hex(files.map((f) => `${f.name}\0${f.text.length}\0${f.text}`).join('\0')),
    warnings,
  };
}

function locate(p: Located, charOffsetInPolicy: number): { file: string; line: number; col: number } {
  return { file: p.file, ...lineCol(p.fileText, p.offset + charOffsetInPolicy) };
}

/** A Cedar error located in `fileText`, where `parsedText` (what Cedar saw) starts at `offset`. */
function problemAt(file: string, fileText: string, offset: number, parsedText: string, e: DetailedError): Problem {
  const byteStart = e.sourceLocations?.[0]?.start ?? 0;
  const { line, col } = lineCol(fileText, offset + byteToCharOffset(parsedText, byteStart));
  // Cedar names the policy by the internal key; the location already says which one.
  const message = e.message.replace(/^for policy `[^`]*`, /, '');
  return { file, line, col, message: e.help ? `${message} (${e.help})` : message };
}

function formatProblem(p: Problem): string {
  return `${p.file}:${p.line}:${p.col}: ${p.message}`;
}
