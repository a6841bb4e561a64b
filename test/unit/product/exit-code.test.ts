import { describe, expect, test } from 'vitest';
import { combineExitCodes, EXIT, exitCodeFor, summarize } from '../../../src/core/exit-code.js';
import type { Status } from '../../../src/core/types.js';

describe('exit codes of the contract', () => {
  test('the numbers are the contract', () => {
    expect(EXIT).toEqual({ ok: 0, problems: 1, usage: 2, couldNotRun: 3 });
  });

  test.each<[Status[], boolean, number]>([
    [[], false, 0],
    [['pass', 'skip'], false, 0],
    [['pass', 'warn'], false, 0],
    [['pass', 'warn'], true, 1],
    [['fail'], false, 1],
    [['error'], false, 3],
    [['error', 'warn'], false, 3],
    [['error', 'warn'], true, 1],
    [['error', 'fail'], false, 1],
    [['skip', 'skip'], true, 0],
  ])('%j strict=%s → %i', (statuses, strict, code) => {
    expect(exitCodeFor(summarize(statuses), strict)).toBe(code);
  });

  test('summarize counts every status', () => {
    expect(summarize(['pass', 'pass', 'warn', 'fail', 'skip', 'error', 'error'])).toEqual({ pass: 2, warn: 1, fail: 1, skip: 1, error: 2 });
  });

  test.each([
    [[], 0],
    [[0, 0], 0],
    [[0, 3], 3],
    [[3, 1, 0], 1],
    [[1], 1],
  ])('combining %j → %i', (codes, code) => {
    expect(combineExitCodes(codes)).toBe(code);
  });
});
