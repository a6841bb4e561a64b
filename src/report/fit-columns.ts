/** One column of a table to fit: the fewest and the most characters of content it should get. */
export interface ColumnSpec {
  min: number;
  want: number;
}

/** cli-table3's default cell padding (one space each side) and its one-character borders. */
const PADDING = 2;

/** The widest line `lines` may have; `[...s].length` counts a code point as one column, which is what fitting needs. */
export function widestLine(texts: string[]): number {
  return Math.max(0, ...texts.flatMap((t) => t.split('\n')).map((l) => [...l].length));
}

/**
 * cli-table3 `colWidths` (padding included) that make a table of these columns at most `width`
 * characters wide: every column gets its `want` when that fits; otherwise each gets its `min`
 * and the room left is shared in proportion to what each still wants. Null when even the
 * minimums do not fit. cli-table3 then wraps each cell inside its width, so no line is wider.
 */
export function fitColumns(specs: ColumnSpec[], width: number): number[] | null {
  const room = width - (specs.length + 1) - PADDING * specs.length;
  const wants = specs.map((s) => Math.max(s.min, s.want));
  if (wants.reduce((a, b) => a + b, 0) <= room) return wants.map((w) => w + PADDING);
  const widths = specs.map((s) => s.min);
  let left = room - widths.reduce((a, b) => a + b, 0);
  if (left < 0) return null;
  const deficit = wants.map((w, i) => w - widths[i]!);
  const total = deficit.reduce((a, b) => a + b, 0);
  const shares = deficit.map((d) => Math.floor((left * d) / total));
  shares.forEach((s, i) => { widths[i]! += s; left -= s; });
  // What the rounding left over goes, a character at a time, to the columns still short.
  for (let i = 0; left > 0; i = (i + 1) % widths.length) {
    if (widths[i]! < wants[i]!) { widths[i]! += 1; left -= 1; }
  }
  return widths.map((w) => w + PADDING);
}

/** The terminal width for tables: COLUMNS when it is a positive number, else the terminal's, else 80. */
export function tableWidth(env: Record<string, string | undefined>, terminalColumns: number | undefined): number {
  const fromEnv = Number.parseInt(env.COLUMNS ?? '', 10);
  if (Number.isInteger(fromEnv) && fromEnv > 0) return fromEnv;
  return terminalColumns && terminalColumns > 0 ? terminalColumns : 80;
}
