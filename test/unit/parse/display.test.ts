import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseDisplay } from '../../../src/parse/display.js';

describe('parseDisplay', () => {
  it.each([
    [':0', { protocol: 'unix', host: '', display: 0, screen: 0 }],
    [':0.0', { protocol: 'unix', host: '', display: 0, screen: 0 }],
    [':1.2', { protocol: 'unix', host: '', display: 1, screen: 2 }],
    ['unix:1', { protocol: 'unix', host: '', display: 1, screen: 0 }],
    ['localhost:10.0', { protocol: 'tcp', host: 'localhost', display: 10, screen: 0 }],
    ['192.0.2.5:3', { protocol: 'tcp', host: '192.0.2.5', display: 3, screen: 0 }],
    ['myhost/unix:0', { protocol: 'unix', host: 'myhost', display: 0, screen: 0 }],
    ['tcp/myhost:2', { protocol: 'tcp', host: 'myhost', display: 2, screen: 0 }],
    ['unix/:4', { protocol: 'unix', host: '', display: 4, screen: 0 }],
    ['[::1]:0', { protocol: 'tcp', host: '::1', display: 0, screen: 0 }],
    ['/tmp/.X11-unix/X0', { protocol: 'local-path', host: '', display: 0, screen: 0, path: '/tmp/.X11-unix/X0' }],
    [
      '/private/tmp/com.apple.launchd.x/org.xquartz:0',
      { protocol: 'local-path', display: 0, path: '/private/tmp/com.apple.launchd.x/org.xquartz' },
    ],
  ])('reads %j', (s, want) => {
    expect(parseDisplay(s)).toEqual(expect.objectContaining(want));
  });

  it.each([
    '',
    ':',
    '0',
    ':a',
    ':0.',
    ':-1',
    'host::0',
    '::1:0',
    'a b:0',
    ' :0',
    ':0 ',
    'ftp/host:0',
    'tcp/:0',
    ':999999',
    '/tmp/socket',
    '[::1]0',
  ])('rejects %j', (s) => {
    expect(parseDisplay(s)).toBeNull();
  });
});

describe('display properties', () => {
  it('never throws', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom(':', '.', '/', '0', '1', 'a', '[', ']', 'x', 'u', ' ') }), (s) => {
        const d = parseDisplay(s);
        if (d !== null) expect(Number.isInteger(d.display) && d.display >= 0).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('reads back generated displays', () => {
    fc.assert(
      fc.property(fc.nat(1000), fc.nat(9), fc.constantFrom('', 'localhost', 'unix', 'h.example'), (n, screen, host) => {
        const d = parseDisplay(`${host}:${n}.${screen}`);
        expect(d).toMatchObject({ display: n, screen, protocol: host === '' || host === 'unix' ? 'unix' : 'tcp' });
      }),
      { numRuns: 300 },
    );
  });
});
