// The guest-files client's decision when a batch's deadline fires (judgeLate), from the server's
// progress cell: which request hung, how long to wait more, and the cell's encoding.
import { describe, expect, it } from 'vitest';
import { decodeProgress, doneBefore, encodeProgress, judgeLate, monotonicMs } from '../../../src/guest/guest-files-progress.js';

const LIMIT = 1000;
const ids = [11, 12, 13, 14];

describe('judgeLate', () => {
  it('the request in the cell, past the limit from its own start, is the hung one (not the first of the batch)', () => {
    expect(judgeLate(ids, 0, { id: 13, at: 500 }, 1600, LIMIT)).toEqual({ hung: 2 });
    expect(judgeLate(ids, 0, { id: 11, at: 100 }, 1100, LIMIT)).toEqual({ hung: 0 });
  });

  it('a long batch of fast requests never trips it: the limit runs from when the current request began', () => {
    // The batch was sent 5 s ago; the server is on its last request, begun 200 ms ago.
    expect(judgeLate(ids, 0, { id: 14, at: 4800 }, 5000, LIMIT)).toEqual({ wait: 800 });
  });

  it('a batch not begun (the cell shows an earlier batch, or nothing): its first request, from when it was sent', () => {
    expect(judgeLate(ids, 2000, { id: 9, at: 1990 }, 2500, LIMIT)).toEqual({ wait: 500 });
    expect(judgeLate(ids, 2000, { id: -10, at: 1995 }, 3000, LIMIT)).toEqual({ hung: 0 });
    expect(judgeLate(ids, 2000, null, 3001, LIMIT)).toEqual({ hung: 0 });
  });

  it('without a cell (answers one by one): the first unanswered, from the answer before it', () => {
    expect(judgeLate([12, 13], 1500, null, 2000, LIMIT)).toEqual({ wait: 500 });
    expect(judgeLate([12, 13], 1500, null, 2600, LIMIT)).toEqual({ hung: 0 });
  });

  it('a batch done but not received: its answers are on their way, then asked again elsewhere (none lost)', () => {
    expect(judgeLate(ids, 0, { id: -14, at: 1500 }, 2000, LIMIT)).toEqual({ wait: 500 });
    expect(judgeLate(ids, 0, { id: -14, at: 1500 }, 2600, LIMIT)).toEqual({ resend: true });
  });

  it('a torn read of the cell (written meanwhile: the server is moving) is read again soon', () => {
    expect(judgeLate(ids, 0, 'torn', 99_000, LIMIT)).toEqual({ wait: 1 });
  });
});

describe('doneBefore (a server that ended: which of its unanswered requests it had made)', () => {
  it('those before the one it was on; all of a batch it said is done; none when the cell shows none of them', () => {
    expect(doneBefore(ids, { id: 13, at: 0 })).toBe(2);
    expect(doneBefore(ids, { id: 11, at: 0 })).toBe(0);
    expect(doneBefore(ids, { id: -14, at: 0 })).toBe(4);
    expect(doneBefore(ids, { id: -10, at: 0 })).toBe(0);
    expect(doneBefore(ids, { id: 9, at: 0 })).toBe(0);
    expect(doneBefore(ids, null)).toBe(0);
    expect(doneBefore(ids, 'torn')).toBe(0);
  });
});

describe('the progress cell', () => {
  it('round-trips an id and its time, tells a torn cell and a never written one', () => {
    const cell = new Float64Array(3);
    expect(decodeProgress(cell)).toBeNull();
    encodeProgress(cell, 42, 1234.5);
    expect(decodeProgress(cell)).toEqual({ id: 42, at: 1234.5 });
    encodeProgress(cell, -42, 1300);
    expect(decodeProgress(cell)).toEqual({ id: -42, at: 1300 });
    cell[0] = 43;
    expect(decodeProgress(cell)).toBe('torn');
  });

  it('times are CLOCK_MONOTONIC ms: the same clock as process.hrtime (shared by every process)', () => {
    const [s, ns] = process.hrtime();
    const m = monotonicMs();
    expect(m - (s * 1000 + ns / 1e6)).toBeGreaterThanOrEqual(0);
    expect(m - (s * 1000 + ns / 1e6)).toBeLessThan(1000);
  });
});
