import { describe, expect, test } from 'vitest';
import { parseGetentFrames } from '../../../src/parse/getent-frames.js';

const M = 'ctd-5b0c';
/** The lines the batch script prints for one key (see checks/nss-lookup.ts). */
const frameLines = (i: number, rc: number, body: string, start = 1000000000n, ms = 3): string[] => {
  const pieces = body.split('\n');
  const last = pieces.pop()!;
  return [
    `${M} ${i} H ${rc} ${start} ${start + BigInt(ms) * 1000000n}`,
    ...pieces.map((l) => `${M} ${i} L ${l}`),
    ...(last === '' ? [] : [`${M} ${i} P ${last}`]),
    `${M} ${i} E`,
  ];
};
const frame = (i: number, rc: number, body: string, start?: bigint, ms?: number): string =>
  frameLines(i, rc, body, start, ms).join('\n') + '\n';

describe('parseGetentFrames', () => {
  test('frames in any order, bodies byte for byte (no trailing newline, blank lines), times from the two readings', () => {
    const r = parseGetentFrames(frame(2, 2, '') + frame(1, 0, '127.0.0.1 STREAM localhost\n\n', 5n, 12) + frame(3, 0, 'no newline'), M, 3);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.frames.get(1)).toEqual({ index: 1, exitCode: 0, stdout: '127.0.0.1 STREAM localhost\n\n', elapsedMs: 12 });
    expect(r.frames.get(2)).toMatchObject({ exitCode: 2, stdout: '' });
    expect(r.frames.get(3)?.stdout).toBe('no newline');
  });

  test('lines of frames printed at once may interleave (bash writes a printf line by line)', () => {
    const a = frameLines(1, 0, '127.0.0.1 STREAM localhost\n127.0.0.1 DGRAM\n');
    const b = frameLines(2, 0, '::1 STREAM ::1\n');
    const mixed = a.flatMap((l, k) => [l, ...(b[k] === undefined ? [] : [b[k]!])]);
    const r = parseGetentFrames(mixed.join('\n') + '\n', M, 2);
    expect(r.ok && r.frames.get(1)?.stdout).toBe('127.0.0.1 STREAM localhost\n127.0.0.1 DGRAM\n');
    expect(r.ok && r.frames.get(2)?.stdout).toBe('::1 STREAM ::1\n');
  });

  test('a body line may hold anything, the marker included', () => {
    const r = parseGetentFrames(frame(1, 0, `${M} 2 E\n  spaced  \n`), M, 2);
    expect(r.ok && r.frames.get(1)?.stdout).toBe(`${M} 2 E\n  spaced  \n`);
    expect(r.ok && r.frames.size).toBe(1);
  });

  test('missing or unfinished frames are left out, not an error (the timeout stopped them); empty output has none', () => {
    expect(parseGetentFrames(frame(1, 0, 'a\n'), M, 3)).toMatchObject({ ok: true });
    expect(parseGetentFrames('', M, 2)).toMatchObject({ ok: true });
    const cut = parseGetentFrames(frame(1, 0, 'a\n') + `${M} 2 H 0 1 2\n${M} 2 L 127.0.0.1\n`, M, 2);
    expect(cut.ok && [...cut.frames.keys()]).toEqual([1]);
  });

  test.each([
    ['stray text first', `hello\n${frame(1, 0, '')}`],
    ['a line cut short', `${M} 1 H 0 1 2\n${M} 1 L 127.0.0.1`],
    ['a header cut short', `${M} 1 H 0 1\n`],
    ['another marker', frame(1, 0, '').replace(M, 'ctd-other')],
    ['an index out of range', frame(4, 0, '')],
    ['index zero', frame(0, 0, '')],
    ['a header twice', frame(1, 0, '') + frame(1, 0, '')],
    ['output before the header', `${M} 1 L x\n${frame(1, 0, '')}`],
    ['output after the end', `${frame(1, 0, '')}${M} 1 L x\n`],
    ['output after the last piece', `${M} 1 H 0 1 2\n${M} 1 P x\n${M} 1 L y\n${M} 1 E\n`],
    ['an unknown line kind', `${M} 1 H 0 1 2\n${M} 1 Q x\n${M} 1 E\n`],
    ['a date without %N', `${M} 1 H 0 1700000000%N 1700000000%N\n${M} 1 E\n`],
    ['an exit status that is not one', `${M} 1 H -1 1 2\n${M} 1 E\n`],
    ['text after the last frame', `${frame(1, 0, '')}trailing\n`],
  ])('%s: not our frames', (_name, text) => {
    const r = parseGetentFrames(text, M, 3);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.why).not.toBe('');
  });

  test('a clock that went backwards is 0 ms, not negative', () => {
    const r = parseGetentFrames(`${M} 1 H 0 20 10\n${M} 1 E\n`, M, 1);
    expect(r.ok && r.frames.get(1)?.elapsedMs).toBe(0);
  });
});
