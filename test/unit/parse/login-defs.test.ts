import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_UID_RANGE, parseLoginDefs, type UidRange } from '../../../src/parse/login-defs.js';

/** The obvious definition, line by line (as parseLoginDefs was written first): the whole-text scan must agree with it. */
function lineByLine(text: string): UidRange {
  const values = new Map<string, string>();
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  for (const line of lines) {
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

describe('parseLoginDefs', () => {
  it.each([
    ['indented, tab-separated, last one wins', '  UID_MIN\t1500\nUID_MIN 2000\nUID_MAX 3000\n', { uidMin: 2000, uidMax: 3000 }],
    ['a commented line and a value after a carriage return', '#UID_MIN 1\n\tUID_MIN\r700\r\n', { uidMin: 700, uidMax: 60000 }],
    ['a key in the middle of a line is none', 'X UID_MIN 5\nfoo UID_MAX 9\n', { uidMin: 1000, uidMax: 60000 }],
    ['no final newline', 'UID_MAX 5000', { uidMin: 1000, uidMax: 5000 }],
  ])('%s', (_, text, expected) => {
    expect(parseLoginDefs(text)).toEqual(expected);
  });

  it('reads every text as the line-by-line definition does', () => {
    const unit = fc.constantFrom('UID_MIN', 'UID_MAX', 'A', '_', ' ', '\t', '\r', '\n', '#', '1', '0', '9', 'x', '\u00a0', '\u2028', '\v');
    fc.assert(
      fc.property(fc.string({ maxLength: 40, unit }), (text) => {
        expect(parseLoginDefs(text)).toEqual(lineByLine(text));
      }),
      { numRuns: 5000 },
    );
  });
});
