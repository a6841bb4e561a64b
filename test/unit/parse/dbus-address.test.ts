import { describe, expect, test } from 'vitest';
import { parseDbusAddress } from '../../../src/parse/dbus-address.js';
import { authExternalLine, helloMessage, takeMessage } from '../../../src/guest/probes/dbus-wire.js';

describe('parseDbusAddress', () => {
  test('alternatives, percent-escapes, guid ignored', () => {
    expect(
      parseDbusAddress('unix:path=/run/user/1000/b%20us,guid=ab;unix:abstract=/tmp/dbus-x;unix:runtime=yes;tcp:host=127.0.0.1,port=1'),
    ).toEqual([
      { kind: 'path', path: '/run/user/1000/b us', text: 'unix:path=/run/user/1000/b%20us,guid=ab' },
      { kind: 'abstract', name: '/tmp/dbus-x', text: 'unix:abstract=/tmp/dbus-x' },
      { kind: 'runtime', text: 'unix:runtime=yes' },
      { kind: 'other', transport: 'tcp', text: 'tcp:host=127.0.0.1,port=1' },
    ]);
  });
  test.each([
    ['unix:path', 'does not contain an equal sign'],
    ['/run/user/1000/bus', 'does not contain a colon'],
    ['unix:guid=00', 'needs path='],
    ['unix:path=relative', 'not an absolute path'],
    ['unix:path=%zz', 'percent-escape'],
    [';', 'Empty address'],
  ])('%s is refused', (address, why) => {
    const r = parseDbusAddress(address);
    expect('error' in r && r.error).toContain(why);
  });
});

describe('dbus wire', () => {
  test('AUTH EXTERNAL states the uid as hex of its digits', () => expect(authExternalLine(1000)).toBe('AUTH EXTERNAL 31303030\r\n'));
  test('Hello is a whole, 8-aligned little-endian METHOD_CALL that takeMessage reads back', () => {
    const m = helloMessage();
    expect(m.length % 8).toBe(0);
    expect(m.toString('latin1')).toContain('Hello');
    const back = takeMessage(Buffer.concat([m, Buffer.from('x')]));
    expect(back).toMatchObject({ type: 1, firstString: null, errorName: null });
    expect(back !== null && back !== 'malformed' && back.rest.toString()).toBe('x');
    expect(takeMessage(m.subarray(0, m.length - 1))).toBeNull();
    expect(takeMessage(Buffer.alloc(16, 0x41))).toBe('malformed');
  });
});
