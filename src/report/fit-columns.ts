/** One column of a table to fit: the fewest and the most characters of content it should get. */
export interface ColumnSpec {
  min: number;
  want: number;
  /** Below `want` but still readable, such as a list's longest item: the column gives way first, down to this. */
  comfortable?: number;
}

/** cli-table3's default cell padding (one space each side) and its one-character borders. */
const PADDING = 2;

/** The widest line `lines` may have; `[...s].length` counts a code point as one column, which is what fitting needs. */
export function widestLine(texts: string[]): number {
  return Math.max(0, ...texts.flatMap((t) => t.split('\n')).map((l) => [...l].length));
}

/**
 * cli-table3 `colWidths` (padding included) that make a table of these columns at most `width`
 * characters wide: every column gets its `want` when that fits; else the columns with a
 * `comfortable` width give way down to it, first with the others whole, then with the others at
 * their `min`; else every column starts at its `min`. The room left is shared in proportion to
 * what each still wants. Null when even the minimums do not fit.
 * cli-table3 then wraps each cell inside its width, so no line is wider.
 */
export function fitColumns(specs: ColumnSpec[], width: number): number[] | null {
  const room = width - (specs.length + 1) - PADDING * specs.length;
  const wants = specs.map((s) => Math.max(s.min, s.want));
  if (wants.reduce((a, b) => a + b, 0) <= room) return wants.map((w) => w + PADDING);
  // The columns that can give way comfortably do so first: with the others whole, then with the others at their minimum.
  const comfortable = specs.map((s, i) => (s.comfortable === undefined ? null : Math.min(wants[i]!, Math.max(s.min, s.comfortable))));
  const starts = [
    comfortable.map((c, i) => c ?? wants[i]!),
    comfortable.map((c, i) => c ?? specs[i]!.min),
    specs.map((s) => s.min),
  ];
  // The room left goes to the columns short of whole before a list grows past its comfortable width.
  const firstTargets = comfortable.map((c, i) => c ?? wants[i]!);
  for (const start of starts) {
    if (start.reduce((a, b) => a + b, 0) <= room) return share(share(start, firstTargets, room), wants, room).map((w) => w + PADDING);
  }
  return null;
}

/** Starting from `start` (which fits), the room left shared in proportion to how far each column is from its target. */
function share(start: number[], targets: number[], room: number): number[] {
  const widths = [...start];
  const deficit = targets.map((t, i) => Math.max(0, t - widths[i]!));
  const total = deficit.reduce((a, b) => a + b, 0);
  let left = Math.min(room - widths.reduce((a, b) => a + b, 0), total);
  if (left <= 0) return widths;
  const shares = deficit.map((d) => Math.floor((left * d) / total));
  shares.forEach((s, i) => { widths[i]! += s; left -= s; });
  // What the rounding left over goes, a character at a time, to the columns still short.
  for (let i = 0; left > 0; i = (i + 1) % widths.length) {
    if (widths[i]! < targets[i]!) { widths[i]! += 1; left -= 1; }
  }
  return widths;
}

/** The terminal width for tables: COLUMNS when it is a positive number, else the terminal's, else 80. */
export function tableWidth(env: Record<string, string | undefined>, terminalColumns: number | undefined): number {
  const fromEnv = Number.parseInt(env.COLUMNS ?? '', 10);
  if (Number.isInteger(fromEnv) && fromEnv > 0) return fromEnv;
  return terminalColumns && terminalColumns > 0 ? terminalColumns : 80;
}
