import Table from 'cli-table3';
import { displayWidth, escapeTerminal, wrapText } from './terminal-text.js';

/** How one column may give way when the table is too wide. */
export interface FitColumn {
  /** The heading. */
  head: string;
  /** Narrowest it may wrap to (content columns, without padding); default 8. */
  min?: number;
  /** Dropped before the table overflows, lowest first; a column without it is never dropped. */
  dropOrder?: number;
}

/** A table request: columns, rows of cell text (escaped here), the width to fit, ASCII or box borders. */
export interface FitTableInput {
  columns: FitColumn[];
  rows: string[][];
  width: number;
  /** Box-drawing borders on a colour terminal, ASCII ones elsewhere. */
  color: boolean;
}

const ASCII = {
  top: '-',
  'top-mid': '+',
  'top-left': '+',
  'top-right': '+',
  bottom: '-',
  'bottom-mid': '+',
  'bottom-left': '+',
  'bottom-right': '+',
  left: '|',
  'left-mid': '+',
  mid: '-',
  'mid-mid': '+',
  right: '|',
  'right-mid': '+',
  middle: '|',
};

/** One cell's widest line and widest word. */
function measure(text: string): { natural: number; word: number } {
  const lines = text.split('\n');
  return {
    natural: Math.max(0, ...lines.map(displayWidth)),
    word: Math.max(0, ...lines.flatMap((l) => l.split(' ')).map(displayWidth)),
  };
}

/**
 * Column content widths that fit: natural widths when they fit; else the widest columns wrap, down to their widest word (so words stay whole), else down to their minimum, dropping
 * more columns before breaking words. Returns the kept columns' indexes and content widths.
 */
export function fitColumns(columns: FitColumn[], cells: string[][], width: number): { keep: number[]; widths: number[] } {
  let keep = columns.map((_, i) => i);
  // Cells do not change while columns are dropped: measure them once.
  const measured = columns.map((_, i) => cells.map((row) => measure(row[i] ?? '')));
  const dropNext = () => {
    const droppable = keep
      .filter((i) => columns[i]!.dropOrder !== undefined)
      .sort((a, b) => columns[a]!.dropOrder! - columns[b]!.dropOrder!);
    if (droppable.length === 0 || keep.length === 1) return false;
    keep = keep.filter((i) => i !== droppable[0]);
    return true;
  };
  for (;;) {
    // Each column costs its content, two spaces of padding and one border; plus the last border.
    const budget = width - 1 - keep.length * 3;
    const sizes = keep.map((i) => measured[i]!);
    const natural = sizes.map((col) => Math.max(...col.map((m) => m.natural)));
    const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
    if (sum(natural) <= budget) return { keep, widths: natural };
    const floors = keep.map((i, k) => Math.min(natural[k]!, Math.max(1, columns[i]!.min ?? 8)));
    const words = sizes.map((col, k) =>
      Math.min(natural[k]!, Math.max(floors[k]!, Math.min(Math.floor(width / 3), ...[Math.max(...col.map((m) => m.word))]))),
    );
    if (sum(words) <= budget) {
      const widths = shrink(natural, words, budget);
      // A column of long text squeezed under a third of the width reads badly: drop an optional column first.
      const third = Math.floor(width / 3);
      const squeezed = keep.some((i, k) => columns[i]!.dropOrder === undefined && natural[k]! > third && widths[k]! < third);
      if (squeezed && dropNext()) continue;
      return { keep, widths };
    }
    if (dropNext()) continue;
    if (sum(floors) <= budget) return { keep, widths: shrink(natural, floors, budget) };
    return {
      keep,
      widths: shrink(
        natural,
        floors.map(() => 1),
        Math.max(keep.length, budget),
      ),
    };
  }
}

/** Each column gets its floor plus a share of the room left, in proportion to how much wider it would like to be. */
function shrink(natural: number[], floors: number[], budget: number): number[] {
  const want = natural.map((n, k) => n - floors[k]!);
  const room = Math.max(0, budget - floors.reduce((a, b) => a + b, 0));
  const total = want.reduce((a, b) => a + b, 0);
  const widths = floors.map((f, k) => f + (total === 0 ? 0 : Math.floor((want[k]! * room) / total)));
  // Rounding down leaves a few columns over: give them to the columns that want the most.
  let spare = budget - widths.reduce((a, b) => a + b, 0);
  for (const k of [...want.keys()].sort((x, y) => want[y]! - want[x]!)) {
    if (spare <= 0) break;
    if (widths[k]! < natural[k]!) {
      widths[k]!++;
      spare--;
    }
  }
  return widths;
}

/**
 * A cli-table3 table no wider than `width`: cells escaped and wrapped (long words broken, never
 * cut off), columns wrapped or dropped as {@link fitColumns} decides.
 */
export function fitTable({ columns, rows, width, color }: FitTableInput): string {
  // Newlines a caller put in a cell are line breaks; each line is escaped on its own.
  const cells = [columns.map((c) => c.head), ...rows].map((row) => row.map((cell) => cell.split('\n').map(escapeTerminal).join('\n')));
  const { keep, widths } = fitColumns(columns, cells, width);
  const wrapCell = (text: string, w: number) =>
    text
      .split('\n')
      .flatMap((line) => wrapText(line, w))
      .join('\n');
  const [head, ...body] = cells.map((row) => keep.map((i, k) => wrapCell(row[i] ?? '', widths[k]!)));
  const table = new Table({
    head: head!,
    colWidths: widths.map((w) => w + 2),
    wordWrap: false,
    style: { head: [], border: [], 'padding-left': 1, 'padding-right': 1 },
    ...(color ? {} : { chars: ASCII }),
  });
  for (const row of body) table.push(row);
  return table.toString();
}
