// Maps Cedar's error locations (UTF-8 byte offsets into the text it parsed) back to
// `<file>:<line>:<col>` in the policy file a person edits.

/** Converts a UTF-8 byte offset in `text` to a string index. */
export function byteToCharOffset(text: string, byteOffset: number): number {
  let bytes = 0;
  let i = 0;
  while (i < text.length && bytes < byteOffset) {
    const cp = text.codePointAt(i)!;
    bytes += cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    i += cp > 0xffff ? 2 : 1;
  }
  return i;
}

/** 1-based line and column of a string index. */
export function lineCol(text: string, index: number): { line: number; col: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = text.indexOf('\n'); i !== -1 && i < index; i = text.indexOf('\n', i + 1)) {
    line += 1;
    lineStart = i + 1;
  }
  return { line, col: index - lineStart + 1 };
}

/**
 * Where each policy returned by `policySetTextToParts` starts in the file text,
 * in the order they were returned (-1 when not found).
 *
 * cedar-wasm returns the policies as verbatim slices of the text, ordered by
 * their generated ids `policy0, policy1, ...` sorted as strings (so `policy10`
 * comes before `policy2`); undoing that order lets each slice be found by a
 * forward scan. Comments are blanked first so a commented-out copy of a policy
 * is never mistaken for it.
 */
export function locateParts(text: string, parts: readonly string[]): number[] {
  const n = parts.length;
  const ids = Array.from({ length: n }, (_, i) => `policy${i}`).sort();
  const partOfSource: number[] = new Array<number>(n);
  ids.forEach((id, k) => {
    partOfSource[Number(id.slice('policy'.length))] = k;
  });
  const masked = blankComments(text);
  const offsets = new Array<number>(n).fill(-1);
  let cursor = 0;
  for (let i = 0; i < n; i++) {
    const k = partOfSource[i]!;
    const needle = blankComments(parts[k]!);
    let pos = masked.indexOf(needle, cursor);
    // Should the ordering ever change upstream, still find the slice rather than give up.
    if (pos === -1) pos = masked.indexOf(needle);
    if (pos !== -1) cursor = pos + needle.length;
    offsets[k] = pos;
  }
  return offsets;
}

/** Replaces `//` comments (outside string literals) with spaces, keeping length and newlines. */
export function blankComments(text: string): string {
  let out = '';
  let from = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') {
      inString = true;
    } else if (c === '/' && text[i + 1] === '/') {
      let end = text.indexOf('\n', i);
      if (end === -1) end = text.length;
      out += text.slice(from, i) + ' '.repeat(end - i);
      from = end;
      i = end - 1;
    }
  }
  return out + text.slice(from);
}
