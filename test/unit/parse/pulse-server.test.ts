import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parsePulseServer } from '../../../src/parse/pulse-server.js';

describe('parsePulseServer', () => {
  it.each([
    ['unix:/run/user/1000/pulse/native', [{ kind: 'unix', path: '/run/user/1000/pulse/native' }]],
    ['/run/user/pulse/native', [{ kind: 'unix', path: '/run/user/pulse/native' }]],
    ['tcp:localhost:4713', [{ kind: 'tcp', host: 'localhost', port: 4713 }]],
    ['tcp:192.0.2.1', [{ kind: 'tcp', host: '192.0.2.1', port: 4713 }]],
    ['tcp4:192.0.2.1:1234', [{ kind: 'tcp', host: '192.0.2.1', port: 1234 }]],
    ['tcp6:[::1]:4713', [{ kind: 'tcp', host: '::1', port: 4713 }]],
    ['tcp6:[::1]', [{ kind: 'tcp', host: '::1', port: 4713 }]],
    ['::1', [{ kind: 'tcp', host: '::1', port: 4713 }]],
    ['myhost', [{ kind: 'tcp', host: 'myhost', port: 4713 }]],
    ['myhost:4000', [{ kind: 'tcp', host: 'myhost', port: 4000 }]],
    ['{0123abcd}unix:/tmp/pulse-x/native', [{ kind: 'unix', path: '/tmp/pulse-x/native', machineId: '0123abcd' }]],
    ['{abc}tcp:host:1', [{ kind: 'tcp', host: 'host', port: 1, machineId: 'abc' }]],
    [
      ' unix:/a   tcp:b:2 ',
      [
        { kind: 'unix', path: '/a' },
        { kind: 'tcp', host: 'b', port: 2 },
      ],
    ],
    ['', []],
  ])('reads %j', (s, want) => {
    expect(parsePulseServer(s)).toEqual(want);
  });

  it.each([
    'unix:',
    'unix:relative',
    '{id}unix:relative',
    'tcp:host:0',
    'tcp:host:99999',
    'tcp:host:x',
    'tcp:',
    'tcp6:[nope]:1',
    'tcp:/path',
  ])('drops the unusable item %j', (s) => {
    expect(parsePulseServer(`${s} /ok`)).toEqual([{ kind: 'unix', path: '/ok' }]);
  });
});

describe('pulse properties', () => {
  it('never throws and never yields more entries than items', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom('u', 'n', 'i', 'x', ':', '/', '{', '}', '[', ']', ' ', '1', 't', 'c', 'p') }), (s) => {
        const got = parsePulseServer(s);
        expect(got.length).toBeLessThanOrEqual(s.split(/\s+/).filter((x) => x !== '').length);
        for (const e of got) if (e.kind === 'tcp') expect(e.port >= 1 && e.port <= 65535).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('reads back generated tcp items', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[a-z][a-z0-9.-]{0,15}$/), fc.integer({ min: 1, max: 65535 }), (host, port) => {
        expect(parsePulseServer(`tcp:${host}:${port}`)).toEqual([{ kind: 'tcp', host, port }]);
      }),
      { numRuns: 300 },
    );
  });
});
