import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseFstab, printFstabLine, type FstabEntry } from '../../../src/parse/fstab.js';
import { ParseError } from '../../../src/parse/parse-error.js';

// /etc/schroot/default/fstab as shipped by Debian's schroot 1.6 (abridged).
const SCHROOT_DEFAULT = `# fstab: static file system information for chroots.
# <file system> <mount point>   <type>  <options>       <dump>  <pass>
/proc           /proc           none    rw,bind         0       0
/dev/pts        /dev/pts        none    rw,bind         0       0
/home           /home           none    rw,bind         0       0

#/run           /run            none    rw,bind         0       0
`;

describe('parseFstab', () => {
  it('reads the schroot default fstab', () => {
    const r = parseFstab(SCHROOT_DEFAULT);
    expect(r.malformed).toEqual([]);
    expect(r.entries.map((e) => e.file)).toEqual(['/proc', '/dev/pts', '/home']);
    expect(r.entries[0]).toEqual({ spec: '/proc', file: '/proc', vfstype: 'none', options: ['rw', 'bind'], freq: 0, passno: 0, line: 3 });
  });

  it.each<[string, Partial<FstabEntry>]>([
    ['/run/user/1000/pulse /run/user/pulse none rw,bind 0 0', { spec: '/run/user/1000/pulse', file: '/run/user/pulse' }],
    ['/srv/My\\040Files /mnt/x none bind', { spec: '/srv/My Files', freq: 0, passno: 0 }],
    ['tmpfs /tmp tmpfs', { options: ['defaults'] }],
    ['tmpfs /tmp tmpfs ,, 0 0', { options: ['defaults'] }],
    ['  UUID=ab /boot ext4 defaults 1 2  ', { spec: 'UUID=ab', freq: 1, passno: 2 }],
    ['a\\011b\t/x\tnone\trw,,bind', { spec: 'a\tb', options: ['rw', 'bind'] }],
  ])('reads %j', (line, want) => {
    const r = parseFstab(line);
    expect(r.malformed).toEqual([]);
    expect(r.entries[0]).toMatchObject(want);
  });

  it.each(['/only/two fields', '/srv/My Files /mnt/x none bind 0 0', '/a /b none bind x 0', '/a /b none bind 0 -1'])(
    'reports %j as malformed',
    (line) => {
      expect(parseFstab(`${line}\n/a /b none bind\n`)).toMatchObject({ malformed: [{ line: 1, text: line }], entries: [{ line: 2 }] });
    },
  );

  it('refuses to print an entry fstab cannot express', () => {
    const e: FstabEntry = { spec: '', file: '/x', vfstype: 'none', options: [], freq: 0, passno: 0, line: 1 };
    expect(() => printFstabLine(e)).toThrow(ParseError);
  });
});

const field = fc.string({ minLength: 1, unit: fc.constantFrom('a', ' ', '\t', '\n', '\\', '#', '/', '0', 'é') });
const entryArb = fc.record({
  spec: field,
  file: field,
  vfstype: field,
  options: fc.array(fc.string({ minLength: 1, unit: fc.constantFrom('r', 'w', ',', ' ', '=') }), { minLength: 1, maxLength: 4 }),
  freq: fc.nat(9),
  passno: fc.nat(2),
  line: fc.constant(1),
});

describe('fstab properties', () => {
  it('never throws and accounts for every content line', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (s) => {
        const r = parseFstab(s);
        const content = s.split('\n').filter((l) => !/^[ \t]*(#|$)/.test(l)).length;
        expect(r.entries.length + r.malformed.length).toBe(content);
      }),
      { numRuns: 300 },
    );
  });

  it('round-trips printFstabLine', () => {
    fc.assert(
      fc.property(entryArb, (e) => {
        expect(parseFstab(printFstabLine(e))).toEqual({ entries: [e], malformed: [] });
      }),
      { numRuns: 300 },
    );
  });
});
