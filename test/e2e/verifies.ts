import { it, type TestContext, type TestOptions } from 'node:test';
import { REQUIREMENTS, type RequirementId } from './requirements.js';

type Body = (t: TestContext) => void | Promise<void>;

/** The requirement ids cited by the tests registered in this process. */
export const cited = new Set<RequirementId>();

/**
 * Registers an end-to-end test for one requirement: `it` with the id in front of
 * the title. The id is checked against `REQUIREMENTS` when compiling; the coverage
 * test reads the ids from the source, so cite them as string literals.
 */
export function verifies(id: RequirementId, title: string, fn: Body): void;
export function verifies(id: RequirementId, title: string, options: TestOptions, fn: Body): void;
export function verifies(id: RequirementId, title: string, optionsOrFn: TestOptions | Body, body?: Body): void {
  if (!Object.hasOwn(REQUIREMENTS, id)) throw new Error(`unknown requirement id: ${id}`);
  cited.add(id);
  const [options, fn] = typeof optionsOrFn === 'function' ? [{}, optionsOrFn] : [optionsOrFn, body!];
  void it(`[${id}] ${title}`, options, fn);
}
