import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ParseError } from '../../../src/parse/parse-error.js';
import { makeXauthEntry, parseXauthority, pickCookie, printXauthority, XauthFamily } from '../../../src/parse/xauthority.js';

const COOKIE = Buffer.from('00112233445566778899aabbccddeeff', 'hex');
const local = (host: string, display: string) =>
  makeXauthEntry(XauthFamily.Local, Buffer.from(host), display, 'MIT-MAGIC-COOKIE-1', COOKIE);
const wild = (display: string) => makeXauthEntry(XauthFamily.Wild, Buffer.alloc(0), display, 'MIT-MAGIC-COOKIE-1', COOKIE);

// What `xauth add myhost/unix:0 . 00112233445566778899aabbccddeeff` writes, byte by byte.
const XAUTH_BYTES = Buffer.concat([
  Buffer.from([0x01, 0x00, 0x00, 0x06]),
  Buffer.from('myhost'),
  Buffer.from([0x00, 0x01]),
  Buffer.from('0'),
  Buffer.from([0x00, 0x12]),
  Buffer.from('MIT-MAGIC-COOKIE-1'),
  Buffer.from([0x00, 0x10]),
  COOKIE,
]);

describe('parseXauthority', () => {
  it('reads a FamilyLocal record', () => {
    const { entries, truncated } = parseXauthority(XAUTH_BYTES);
    expect(truncated).toBe(false);
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ family: 256, familyName: 'Local', addressText: 'myhost', display: '0', name: 'MIT-MAGIC-COOKIE-1' });
    expect(entries[0]?.data.equals(COOKIE)).toBe(true);
  });

  it.each([
    [XauthFamily.Internet, Buffer.from([192, 0, 2, 1]), '192.0.2.1', 'Internet'],
    [XauthFamily.Internet6, Buffer.from('20010db8000000000000000000000001', 'hex'), '2001:db8:0:0:0:0:0:1', 'Internet6'],
    [XauthFamily.Wild, Buffer.alloc(0), '', 'Wild'],
    [77, Buffer.from([1, 2]), '0102', 'unknown-77'],
  ])('names family %i', (family, address, text, name) => {
    const e = parseXauthority(printXauthority([makeXauthEntry(family, address, '1', 'X', Buffer.alloc(0))])).entries[0];
    expect(e).toMatchObject({ addressText: text, familyName: name });
  });

  it.each([1, 2, 5, 10, XAUTH_BYTES.length - 1])('reports truncation after %i bytes', (n) => {
    const two = Buffer.concat([XAUTH_BYTES, XAUTH_BYTES.subarray(0, n)]);
    expect(parseXauthority(two)).toMatchObject({ truncated: true, entries: [{ display: '0' }] });
  });

  it('refuses to print a field longer than 65535 bytes', () => {
    expect(() => printXauthority([makeXauthEntry(256, Buffer.alloc(70000), '0', 'x', COOKIE)])).toThrow(ParseError);
  });
});

describe('pickCookie', () => {
  it.each([
    ['exact Local', [local('myhost', '0')], 'exact', 0],
    ['Wild', [wild('0')], 'wild', 0],
    ['first match wins', [wild('0'), local('myhost', '0')], 'wild', 0],
    ['skips other displays', [local('myhost', '1'), local('myhost', '0')], 'exact', 1],
    ['empty display matches any', [local('myhost', '')], 'exact', 0],
    ['other hostname', [local('oldname', '0')], 'hostname-mismatch', 0],
    ['other display only', [local('myhost', '1')], 'none', null],
    ['nothing', [], 'none', null],
  ] as const)('%s', (_title, entries, reason, index) => {
    const r = pickCookie([...entries], { display: '0', hostname: 'myhost' });
    expect(r.reason).toBe(reason);
    expect(r.entry).toBe(index === null ? null : entries[index]);
  });
});

const latin1 = fc.string({ maxLength: 20, unit: fc.integer({ min: 0, max: 255 }).map((c) => String.fromCharCode(c)) });
const bytes = fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a));
const entryArb = fc
  .tuple(fc.oneof(fc.constantFrom(0, 6, 252, 254, 256, 65535), fc.nat(65535)), bytes, latin1, latin1, bytes)
  .map(([f, a, d, n, data]) => makeXauthEntry(f, a, d, n, data));

describe('xauthority properties', () => {
  it('never throws on garbage and only returns whole records', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (a) => {
        const r = parseXauthority(Buffer.from(a));
        expect(printXauthority(r.entries).length <= a.length).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('round-trips printXauthority', () => {
    fc.assert(
      fc.property(fc.array(entryArb, { maxLength: 5 }), (entries) => {
        expect(parseXauthority(printXauthority(entries))).toEqual({ entries, truncated: false });
      }),
      { numRuns: 300 },
    );
  });
});
