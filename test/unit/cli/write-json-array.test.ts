import { describe, expect, it } from 'vitest';
import { writeJsonArray } from '../../../src/cli/commands/check.js';

/** What writeJsonArray writes, whole. */
function written(items: unknown[]): string {
  const chunks: string[] = [];
  writeJsonArray({ out: { write: (t: string) => chunks.push(t) > 0 } as unknown as NodeJS.WritableStream }, items);
  return chunks.join('');
}

describe('writeJsonArray', () => {
  it.each([
    ['no item', []],
    ['one flat item', [{ a: 1 }]],
    ['nested items', [{ a: [1, { b: 'x' }], c: {} }, { d: [] }, 'text', 3, null]],
    ['strings with newlines and brackets', [{ s: 'line\n  ]\n[', t: '\\n' }, ['\n']]],
  ])('writes %s exactly as JSON.stringify(items, null, 2) and a newline', (_, items) => {
    expect(written(items)).toBe(`${JSON.stringify(items, null, 2)}\n`);
  });

  it('writes one chunk per item, so that no string of the whole array is built', () => {
    const chunks: string[] = [];
    writeJsonArray({ out: { write: (t: string) => chunks.push(t) > 0 } as unknown as NodeJS.WritableStream }, [{}, {}, {}]);
    expect(chunks).toHaveLength(3);
  });
});
