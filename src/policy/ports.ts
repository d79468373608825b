/** One policy or policy-test file, already read. */
export interface SourceFile {
  /** File name relative to the source it was read from (`tests/<file>` for tests). */
  name: string;
  text: string;
}

/**
 * Where the ceiling's files come from: a directory on disk in production (the
 * adapter is in `server/adapters`), memory in tests. This context never touches
 * the file system itself.
 */
export interface PolicySource {
  /** Names the source in messages (the directory path). */
  readonly name: string;
  /** The `*.cedar` files, sorted by name. Throws ConfigError when they cannot be read. */
  readPolicies(): SourceFile[];
  /** The policy test files (`tests/*.json`, named `tests/<file>`), sorted; none when there are none. */
  readTests(): SourceFile[];
  /**
   * Calls `onChange` once a burst of changes to the policy files has been quiet
   * for `debounceMs`. Returns a stop function.
   */
  watch(onChange: () => void, debounceMs: number): () => void;
}
