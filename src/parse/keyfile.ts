import { splitLines } from './text-lines.js';

/** One `key=value` line of a GLib key file, as written (no quote or comment stripping). */
export interface KeyFileEntry {
  key: string;
  value: string;
  line: number;
}

/** One `[group]`; a group repeated in the same file is merged into the first, as GLib does. */
export interface KeyFileGroup {
  name: string;
  line: number;
  entries: KeyFileEntry[];
}

/** A problem that GLib would reject or silently resolve. */
export interface KeyFileProblem {
  line?: number;
  message: string;
}

/**
 * Read the GLib key-file syntax that schroot uses. Unlike the `ini` package, a value keeps
 * its `#`, `;` and quotes, and a group name keeps its dots (`[debian-12.1]`). Never throws.
 */
export function parseKeyFile(text: string): { groups: KeyFileGroup[]; problems: KeyFileProblem[] } {
  const groups: KeyFileGroup[] = [];
  const problems: KeyFileProblem[] = [];
  let current: KeyFileGroup | null = null;
  for (const { line, text: raw } of splitLines(text)) {
    const t = raw.trim();
    if (t === '' || t.startsWith('#')) continue;
    const header = /^\[([^\]]*)\]$/.exec(t);
    if (header !== null) {
      const name = header[1] ?? '';
      if (name === '') problems.push({ line, message: 'empty group name "[]"' });
      const seen = groups.find((g) => g.name === name);
      if (seen !== undefined) problems.push({ line, message: `group [${name}] repeated (first on line ${seen.line})` });
      current = seen ?? { name, line, entries: [] };
      if (seen === undefined) groups.push(current);
      continue;
    }
    const eq = t.indexOf('=');
    if (eq <= 0) {
      problems.push({ line, message: `not a comment, [group] or key=value: ${t}` });
      continue;
    }
    if (current === null) {
      problems.push({ line, message: `key outside any [group]: ${t}` });
      continue;
    }
    const key = t.slice(0, eq).trim();
    const value = t.slice(eq + 1).trim();
    const dup = current.entries.findIndex((e) => e.key === key);
    // GLib keeps the last value of a repeated key.
    if (dup >= 0) {
      problems.push({ line, message: `key ${key} repeated in [${current.name}]; the last value wins` });
      current.entries.splice(dup, 1);
    }
    current.entries.push({ key, value, line });
  }
  return { groups, problems };
}

/** The entries of a group as a plain record (safe for keys such as `__proto__`). */
export function groupRecord(g: KeyFileGroup): Record<string, string> {
  const raw: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const e of g.entries) raw[e.key] = e.value;
  return raw;
}
