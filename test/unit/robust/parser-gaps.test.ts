/**
 * Property tests for the parsers test/unit/parse and bench/fuzz.mjs do not cover: the /proc/net
 * readers, the GLib key-file reader and the octal escapes shared by mountinfo and fstab.
 * None of them may throw on any input; the escapes round-trip.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseKeyFile } from '../../../src/parse/keyfile.js';
import { escapeOctal, unescapeOctal } from '../../../src/parse/octal-escape.js';
import { hasIpv4DefaultRoute, hasIpv6DefaultRoute, parseProcNetDevNames, parseProcNetUdp } from '../../../src/parse/proc-net.js';
import { escapeMountField, parseMountinfo, printMountinfoLine, unescapeMountField } from '../../../src/parse/mountinfo.js';

const RUNS = { numRuns: 300 };
const hex = (n: number) => fc.string({ unit: fc.constantFrom(...'0123456789ABCDEFabcdefg'), minLength: n, maxLength: n });
const udpLine = fc
  .tuple(fc.nat(99), fc.oneof(hex(8), hex(32), hex(7)), hex(4), fc.string({ maxLength: 20 }))
  .map(([n, a, p, rest]) => `  ${n}: ${a}:${p} ${rest}`);

describe('/proc/net readers', () => {
  it('never throw, whatever the text', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ unit: 'binary' }),
          fc.array(udpLine, { maxLength: 8 }).map((l) => l.join('\n')),
        ),
        (s) => {
          parseProcNetDevNames(s);
          hasIpv4DefaultRoute(s);
          hasIpv6DefaultRoute(s);
          for (const sock of parseProcNetUdp(s)) {
            expect(sock.port).toBeGreaterThanOrEqual(0);
            expect(sock.port).toBeLessThanOrEqual(0xffff);
          }
        },
      ),
      RUNS,
    );
  });

  it('reads an address written by the kernel back as text', () => {
    expect(parseProcNetUdp('  0: 3500007F:0035 00000000:0000 07\n')).toEqual([{ address: '127.0.0.53', port: 53, inode: null }]);
  });
});

describe('GLib key files', () => {
  it('never throw and keep every entry inside a group', () => {
    const line = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 30 }),
      fc.constantFrom('[a]', '[]', '[b.c]', 'k=v', '=', 'k', '#x', '__proto__=1'),
    );
    fc.assert(
      fc.property(
        fc.array(line, { maxLength: 15 }).map((l) => l.join('\n')),
        (s) => {
          const { groups, problems } = parseKeyFile(s);
          for (const g of groups) for (const e of g.entries) expect(typeof e.value).toBe('string');
          expect(Array.isArray(problems)).toBe(true);
        },
      ),
      RUNS,
    );
  });
});

describe('octal escapes', () => {
  it('round-trip any string, newlines and backslashes included', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (s) => {
        expect(unescapeOctal(escapeOctal(s, ' \t\n'))).toBe(s);
        expect(unescapeMountField(escapeMountField(s))).toBe(s);
      }),
      RUNS,
    );
  });

  it('keep a mount point with a backslash and a newline on one mountinfo line', () => {
    const line = '36 25 0:50 / /tmp/a\\134b\\012c rw - tmpfs none rw';
    const [entry] = parseMountinfo(line);
    expect(entry?.mountPoint).toBe('/tmp/a\\b\nc');
    expect(printMountinfoLine(entry!)).not.toContain('\n');
    expect(parseMountinfo(printMountinfoLine(entry!))).toEqual([entry]);
  });
});
