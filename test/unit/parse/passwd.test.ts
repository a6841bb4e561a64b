import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseGroup, parsePasswd } from '../../../src/parse/passwd.js';

const PASSWD = `root:x:0:0:root:/root:/bin/bash
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
# comment
alice:x:1000:1000:Alice,,,:/home/alice:/bin/bash\r
+::::::
broken:x:notanumber:1:x:/:/bin/sh
short:x:5:5
:x:6:6::/:/bin/sh
nosh:x:7:7:::
`;

describe('parsePasswd', () => {
  it('reads valid accounts and skips the rest', () => {
    expect(parsePasswd(PASSWD)).toEqual([
      { name: 'root', uid: 0, gid: 0, home: '/root', shell: '/bin/bash' },
      { name: 'daemon', uid: 1, gid: 1, home: '/usr/sbin', shell: '/usr/sbin/nologin' },
      { name: 'alice', uid: 1000, gid: 1000, home: '/home/alice', shell: '/bin/bash' },
      { name: 'nosh', uid: 7, gid: 7, home: '', shell: '' },
    ]);
  });
});

describe('parseGroup', () => {
  it.each([
    ['audio:x:29:alice,bob', { name: 'audio', gid: 29, members: ['alice', 'bob'] }],
    ['root:x:0:', { name: 'root', gid: 0, members: [] }],
    ['video:x:44:alice,,', { name: 'video', gid: 44, members: ['alice'] }],
  ])('reads %j', (line, want) => {
    expect(parseGroup(line)).toEqual([want]);
  });

  it.each(['audio:x:29', 'audio:x:x:alice', '+:::', '# c:x:1:'])('skips %j', (line) => {
    expect(parseGroup(line)).toEqual([]);
  });
});

describe('passwd properties', () => {
  it('never throws and only returns numeric ids', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom(':', '1', 'a', '\n', ',', '#', '/') }), (s) => {
        for (const p of parsePasswd(s)) expect(Number.isInteger(p.uid) && Number.isInteger(p.gid)).toBe(true);
        for (const g of parseGroup(s)) expect(g.members.every((m) => m !== '')).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('reads back generated entries', () => {
    const name = fc.stringMatching(/^[a-z_][a-z0-9_-]{0,15}$/);
    fc.assert(
      fc.property(name, fc.nat(70000), fc.nat(70000), fc.array(name, { maxLength: 4 }), (n, uid, gid, members) => {
        expect(parsePasswd(`${n}:x:${uid}:${gid}::/home/${n}:/bin/sh\n`)).toEqual([
          { name: n, uid, gid, home: `/home/${n}`, shell: '/bin/sh' },
        ]);
        expect(parseGroup(`${n}:x:${gid}:${members.join(',')}\n`)).toEqual([{ name: n, gid, members }]);
      }),
      { numRuns: 300 },
    );
  });

  it('reads what the line-by-line reading of the format reads, \r\n line ends and NIS lines included', () => {
    // The format read the plain way (split into lines, then fields), against the one-pass parser.
    const fields = (text: string, n: number) =>
      text
        .split('\n')
        .map((l) => l.replace(/\r$/, ''))
        .filter((t) => t !== '' && !/^[#+-]/.test(t))
        .map((t) => t.split(':'))
        .filter((f) => f.length === n && f[0] !== '');
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom(':', '1', 'a', '\n', '\r', ',', ' ', '#', '+', '-') }), (s) => {
        expect(parsePasswd(s)).toEqual(
          fields(s, 7)
            .filter((f) => /^\d+$/.test(f[2]!) && /^\d+$/.test(f[3]!))
            .map((f) => ({ name: f[0], uid: Number(f[2]), gid: Number(f[3]), home: f[5], shell: f[6] })),
        );
        expect(parseGroup(s)).toEqual(
          fields(s, 4)
            .filter((f) => /^\d+$/.test(f[2]!))
            .map((f) => ({
              name: f[0],
              gid: Number(f[2]),
              members: f[3]!
                .split(',')
                .map((m) => m.trim())
                .filter((m) => m !== ''),
            })),
        );
      }),
      { numRuns: 500 },
    );
  });
});
