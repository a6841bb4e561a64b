import { splitLines } from './text-lines.js';

/** The range of regular (human) accounts from login.defs. */
export interface UidRange {
  uidMin: number;
  uidMax: number;
}

/** What shadow-utils assume when login.defs says nothing. */
export const DEFAULT_UID_RANGE: UidRange = { uidMin: 1000, uidMax: 60000 };

/** UID_MIN and UID_MAX from `/etc/login.defs` text (`KEY value`, `#` comments); defaults for what is missing or malformed. Never throws. */
export function parseLoginDefs(text: string): UidRange {
  const values = new Map<string, string>();
  for (const { text: line } of splitLines(text)) {
    const m = /^\s*([A-Z_]+)\s+(\S+)/.exec(line);
    if (m && !line.trimStart().startsWith('#')) values.set(m[1]!, m[2]!);
  }
  const num = (key: string, dflt: number): number => {
    const v = values.get(key);
    return v !== undefined && /^\d+$/.test(v) ? Number(v) : dflt;
  };
  const range = { uidMin: num('UID_MIN', DEFAULT_UID_RANGE.uidMin), uidMax: num('UID_MAX', DEFAULT_UID_RANGE.uidMax) };
  return range.uidMin <= range.uidMax ? range : DEFAULT_UID_RANGE;
}
