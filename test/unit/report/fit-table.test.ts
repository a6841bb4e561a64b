import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { fitColumns, fitTable } from '../../../src/report/fit-table.js';
import { planTable } from '../../../src/cli/plan-table.js';
import { displayWidth } from '../../../src/report/terminal-text.js';
import { terminalWidth } from '../../../src/cli/io.js';
import type { PlannedFix } from '../../../src/fixes/fix-plan.js';

// The plan `fix --dry-run` made for the demo guest (recorded, paths normalised).
const plan = JSON.parse(readFileSync(new URL('fixtures/dry-run-plan.json', import.meta.url), 'utf8')) as PlannedFix[];

const GUESTS = [
  ['session:bookworm-2f1c9a0e-7d5b-4c1a-9f0e-3b2a1c0d9e8f', 'schroot', 'active', '', 'chroot bookworm, 3 processes, /srv/chroot/bookworm'],
  ['nspawn:web', 'nspawn', 'running', '4242', 'leader 4242, via machined'],
  ['chroot:/srv/漢字ゲスト', 'chroot', 'running', '77', 'pid 77 🙂 rooted there'],
];
const COLUMNS = [
  { head: 'target', min: 16 },
  { head: 'kind', min: 4, dropOrder: 1 },
  { head: 'state', min: 6 },
  { head: 'pid', min: 3, dropOrder: 2 },
  { head: 'detail', min: 12, dropOrder: 3 },
];

describe('fitTable', () => {
  test.each([40, 60, 80, 100, 160])('at %i columns no line is wider, and no cell text is lost', (width) => {
    for (const color of [false, true]) {
      const table = fitTable({ columns: COLUMNS, rows: GUESTS, width, color });
      for (const line of table.split('\n')) expect(displayWidth(line), line).toBeLessThanOrEqual(width);
      // Wrapped, never cut: the first column, read down, holds every target whole.
      const firstColumn = table
        .split('\n')
        .map((l) => l.split(/[│|]/)[1]?.trim() ?? '')
        .join('');
      for (const [target] of GUESTS) expect(firstColumn).toContain(target);
    }
  });

  test('columns are dropped in their order before words are broken, and kept when they fit', () => {
    const cells = [COLUMNS.map((c) => c.head), ...GUESTS];
    expect(fitColumns(COLUMNS, cells, 160).keep).toEqual([0, 1, 2, 3, 4]);
    const at60 = fitColumns(COLUMNS, cells, 60).keep;
    expect(at60).not.toContain(1);
    expect(at60).toEqual(expect.arrayContaining([0, 2, 4]));
    expect(fitColumns(COLUMNS, cells, 30).keep).toEqual([0, 2]);
  });

  test('ASCII borders without colour, box drawing with it', () => {
    expect(fitTable({ columns: COLUMNS, rows: GUESTS, width: 100, color: false })).toMatch(/^\+-+\+/);
    expect(fitTable({ columns: COLUMNS, rows: GUESTS, width: 100, color: true })).toMatch(/^┌─+┬/);
  });

  test.each([60, 80, 100])('the dry-run plan fits %i columns and names every fix', (width) => {
    const table = planTable(plan, width, false);
    for (const line of table.split('\n')) expect(displayWidth(line), line).toBeLessThanOrEqual(width);
    for (const fix of plan) expect(table.replace(/\s*\|\s*/g, '')).toContain(fix.fixId.slice(0, 8));
  });
});

describe('terminalWidth', () => {
  test('COLUMNS wins, then the terminal, then 80', () => {
    expect(terminalWidth('60', 120)).toBe(60);
    expect(terminalWidth(undefined, 120)).toBe(120);
    expect(terminalWidth(undefined, undefined)).toBe(80);
    expect(terminalWidth('junk', undefined)).toBe(80);
    expect(terminalWidth('0', 100)).toBe(100);
  });
});
