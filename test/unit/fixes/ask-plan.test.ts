import { PassThrough } from 'node:stream';
import { describe, expect, test } from 'vitest';
import { askWhichFixes } from '../../../src/fixes/ask-plan.js';
import type { PlannedFix } from '../../../src/fixes/fix-plan.js';

const fix = (fixId: string): PlannedFix => ({ fixId, title: fixId, safety: 'safe', checkIds: ['a.b'], action: 'apply', steps: [] });
const fixes = [fix('one'), fix('two'), fix('three')];

async function answer(lines: string | null): Promise<{ chosen: string[]; asked: string }> {
  const input = new PassThrough();
  const output = new PassThrough();
  let asked = '';
  output.on('data', (d: Buffer) => {
    asked += d.toString();
  });
  if (lines === null) input.end();
  else input.end(lines);
  const chosen = await askWhichFixes(fixes, input, output);
  return { chosen: chosen.map((f) => f.fixId), asked };
}

describe('askWhichFixes', () => {
  test.each([
    ['a\n', ['one', 'two', 'three']],
    ['n\n', []],
    ['o\ny\nn\nyes\n', ['one', 'three']],
    ['o\ny\n', ['one']],
    [null, []],
    ['what\n', []],
  ])('answers %j → %j', async (lines, want) => {
    const { chosen, asked } = await answer(lines);
    expect(chosen).toEqual(want);
    expect(asked).toMatch(/\[a\]ll, \[o\]ne by one, \[n\]one/);
  });
});
