import { eachLine, splitWords } from './text-lines.js';

/** One line of /proc/PID/uid_map or gid_map: `inside outside count`. */
export interface IdMapRange {
  inside: number;
  outside: number;
  count: number;
}

/** Parses a uid_map or gid_map; malformed lines are skipped. */
export function parseIdMap(text: string): IdMapRange[] {
  const ranges: IdMapRange[] = [];
  for (const { text: line } of eachLine(text)) {
    const [a, b, c] = splitWords(line).map(Number);
    if ([a, b, c].every((n) => n !== undefined && Number.isSafeInteger(n) && n >= 0)) ranges.push({ inside: a!, outside: b!, count: c! });
  }
  return ranges;
}

/** True for the initial namespace's map, `0 0 4294967295`: no translation at all. */
export function isIdentityMap(ranges: readonly IdMapRange[]): boolean {
  return ranges.length === 1 && ranges[0]!.inside === 0 && ranges[0]!.outside === 0 && ranges[0]!.count === 4294967295;
}

/** The id an outside (host) id has inside the namespace, or null when it is unmapped (shown there as the overflow id). */
export function idInside(ranges: readonly IdMapRange[], outside: number): number | null {
  const r = ranges.find((x) => outside >= x.outside && outside - x.outside < x.count);
  return r ? r.inside + (outside - r.outside) : null;
}

/** The host id an inside id stands for, or null when the namespace has no such id. */
export function idOutside(ranges: readonly IdMapRange[], inside: number): number | null {
  const r = ranges.find((x) => inside >= x.inside && inside - x.inside < x.count);
  return r ? r.outside + (inside - r.inside) : null;
}
