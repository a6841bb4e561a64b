import { describe, expect, test } from 'vitest';
import { CommandFrameReader, type CommandFrame } from '../../../src/parse/command-frames.js';

const M = 'ctd-0123';

/** Reads `text` (in the given cut points) and returns the frames handed over and why it broke. */
function read(text: string | Buffer, commands = 3, cuts: number[] = [], max?: number): { frames: CommandFrame[]; broken: string | null } {
  const frames: CommandFrame[] = [];
  const reader = new CommandFrameReader(M, commands, (f) => frames.push(f), max);
  const bytes = Buffer.isBuffer(text) ? text : Buffer.from(text);
  let at = 0;
  for (const cut of [...cuts, bytes.length]) {
    reader.push(bytes.subarray(at, cut));
    at = cut;
  }
  reader.end();
  return { frames, broken: reader.broken };
}

describe('command frames', () => {
  test('interleaved frames: stderr, stdout, last pieces without newline, exit status and guest time', () => {
    const text = [
      `${M} 2 O 127.0.0.1 STREAM localhost`,
      `${M} 1 R ping: connect: Network is unreachable`,
      `${M} 2 X 0 1000000000 1003000000`,
      `${M} 1 O `,
      `${M} 1 o tail`,
      `${M} 1 X 2 5 1600000005`,
      '',
    ].join('\n');
    const { frames, broken } = read(text);
    expect(broken).toBeNull();
    expect(frames).toEqual([
      { index: 2, exitCode: 0, stdout: '127.0.0.1 STREAM localhost\n', stderr: '', elapsedMs: 3 },
      { index: 1, exitCode: 2, stdout: '\ntail', stderr: 'ping: connect: Network is unreachable\n', elapsedMs: 1600 },
    ]);
  });

  test('lines cut anywhere, inside a UTF-8 character too, read the same', () => {
    const text = `${M} 1 O grüße\n${M} 1 X 0 1 2\n`;
    const whole = read(text, 1);
    const bytes = Buffer.from(text);
    const u = bytes.indexOf(0xc3);
    for (const cuts of [[1], [u + 1], [u + 1, u + 2, bytes.length - 3]]) expect(read(bytes, 1, cuts)).toEqual(whole);
    expect(whole.frames[0]?.stdout).toBe('grüße\n');
  });

  test('a frame not ended is not handed over, and is no error (its command was cut short)', () => {
    expect(read(`${M} 1 O half\n${M} 2 X 0 1 2\n`)).toEqual({
      frames: [{ index: 2, exitCode: 0, stdout: '', stderr: '', elapsedMs: 0 }],
      broken: null,
    });
  });

  test('anything but our frames breaks the reading, and nothing more is handed over', () => {
    const cases: [string, RegExp][] = [
      [`stray text\n`, /not a frame line/],
      [`ctd-other 1 X 0 1 2\n`, /not a frame line/],
      [`${M} 4 X 0 1 2\n`, /not one of 3/],
      [`${M} 0 X 0 1 2\n`, /not one of 3/],
      [`${M} \u001b]0;pwned\u0007 X 0 1 2\n`, /not one of 3/],
      [`${M} 1 X \u001b[31m 1 2\n`, /exit status/],
      [`${M} 1 X 0 1 2\n${M} 1 O again\n`, /after its end/],
      [`${M} 1 X 0 1 2\n${M} 1 X 0 1 2\n`, /after its end/],
      [`${M} 1 o a\n${M} 1 O b\n`, /last piece/],
      [`${M} 1 O a\n${M} 1 R b\n`, /stderr after stdout/],
      [`${M} 1 X 0 %N %N\n`, /nanosecond/],
      [`${M} 1 X 256 1 2\n`, /exit status/],
      [`${M} 1 X -1 1 2\n`, /exit status/],
      [`${M} 1 X 0 1\n`, /malformed/],
      [`${M} 1 Q x\n`, /not a frame line/],
      [`${M} 1 Ox\n`, /not a frame line/],
    ];
    for (const [text, why] of cases) {
      // A good frame after the bad line: it is not read any more.
      const r = read(`${text}${M} 3 X 0 1 2\n`);
      expect(r.broken, text).toMatch(why);
      // Why is ours to show (NODE_DEBUG): it never quotes the guest's text.
      expect(r.broken).not.toMatch(/[\u0000-\u001f\u007f-\u009f]|pwned/);
      expect(
        r.frames.filter((f) => f.index === 3),
        text,
      ).toEqual([]);
    }
    expect(read(`${M} 1 X 0 1 2`).broken).toMatch(/cut short/);
  });

  test('a frame above its cap breaks the reading; so does an endless line', () => {
    const big = `${M} 1 O ${'a'.repeat(600)}\n`.repeat(3);
    expect(read(`${big}${M} 1 X 0 1 2\n`, 1, [], 1024).broken).toMatch(/more than 1024 bytes/);
    expect(read(`${M} 1 O ${'b'.repeat(5000)}`, 1, [100, 2000, 4000], 1024).broken).toMatch(/longer than a frame/);
  });

  test("a command's own output that looks like a frame is only its payload", () => {
    const { frames, broken } = read(`${M} 1 O ${M} 2 X 0 1 2\n${M} 1 X 0 1 2\n`);
    expect(broken).toBeNull();
    expect(frames).toEqual([{ index: 1, exitCode: 0, stdout: `${M} 2 X 0 1 2\n`, stderr: '', elapsedMs: 0 }]);
  });
});
