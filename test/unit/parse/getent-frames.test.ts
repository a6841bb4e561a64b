import { describe, expect, test } from 'vitest';
import { parseGetentFrames } from '../../../src/parse/getent-frames.js';

const M = 'ctd-5b0c';
const frame = (i: number, rc: number, body: string, start = 1000000000n, ms = 3): string =>
  `${M} ${i} ${rc} ${start} ${start + BigInt(ms) * 1000000n}\n${body}${M} end\n`;

describe('parseGetentFrames', () => {
  test('frames in any order, bodies byte for byte (no trailing newline, blank lines), times from the two readings', () => {
    const r = parseGetentFrames(frame(2, 2, '') + frame(1, 0, '127.0.0.1 STREAM localhost\n\n', 5n, 12) + frame(3, 0, 'no newline'), M, 3);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.frames.get(1)).toEqual({ index: 1, exitCode: 0, stdout: '127.0.0.1 STREAM localhost\n\n', elapsedMs: 12 });
    expect(r.frames.get(2)).toMatchObject({ exitCode: 2, stdout: '' });
    expect(r.frames.get(3)?.stdout).toBe('no newline');
  });

  test('missing frames are not an error (the timeout stopped them); empty output has none', () => {
    expect(parseGetentFrames(frame(1, 0, 'a\n'), M, 3)).toMatchObject({ ok: true });
    expect(parseGetentFrames('', M, 2)).toMatchObject({ ok: true });
  });

  test.each([
    ['stray text first', `hello\n${frame(1, 0, '')}`],
    ['a frame cut short', `${M} 1 0 1 2\n127.0.0.1`],
    ['a header cut short', `${M} 1 0 1`],
    ['another marker', frame(1, 0, '').replace(M, 'ctd-other')],
    ['an index out of range', frame(4, 0, '')],
    ['index zero', frame(0, 0, '')],
    ['an index twice', frame(1, 0, '') + frame(1, 0, '')],
    ['a date without %N', `${M} 1 0 1700000000%N 1700000000%N\n${M} end\n`],
    ['an exit status that is not one', `${M} 1 -1 1 2\n${M} end\n`],
    ['two frames mixed', `${M} 1 0 1 2\n127.0.0.1 ${M} 2 0 1 2\n${M} end\n${M} end\n`],
    ['text after the last frame', `${frame(1, 0, '')}trailing`],
  ])('%s: not our frames', (_name, text) => {
    const r = parseGetentFrames(text, M, 3);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.why).not.toBe('');
  });

  test('a clock that went backwards is 0 ms, not negative', () => {
    const r = parseGetentFrames(`${M} 1 0 20 10\n${M} end\n`, M, 1);
    expect(r.ok && r.frames.get(1)?.elapsedMs).toBe(0);
  });
});
