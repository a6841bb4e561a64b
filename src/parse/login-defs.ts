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
  // `KEY value` at the start of a line (after blanks), found in the whole text: no array of lines, no object per
  // line (a Debian login.defs is 300 lines, mostly comments, read for every guest). A comment starts with '#',
  // which is no KEY character, so it never matches; blanks are whitespace other than the newline.
  for (const m of text.matchAll(/(?<=^|\n)[^\S\n]*([A-Z_]+)[^\S\n]+(\S+)/g)) values.set(m[1]!, m[2]!);
  const num = (key: string, dflt: number): number => {
    const v = values.get(key);
    return v !== undefined && /^\d+$/.test(v) ? Number(v) : dflt;
  };
  const range = { uidMin: num('UID_MIN', DEFAULT_UID_RANGE.uidMin), uidMax: num('UID_MAX', DEFAULT_UID_RANGE.uidMax) };
  return range.uidMin <= range.uidMax ? range : DEFAULT_UID_RANGE;
}
