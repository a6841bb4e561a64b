import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  escapeMountField,
  isUnder,
  mountsUnder,
  parseMountinfo,
  parseMountinfoDetailed,
  printMountinfoLine,
  unescapeMountField,
  type MountEntry,
} from '../../../src/parse/mountinfo.js';

// Captured from a private mount namespace on the dev machine (tmpfs "my src" on "/tmp/pt a").
const REAL =
  [
    '22 27 0:21 / /proc rw,relatime - proc proc rw',
    '63 43 0:39 / /tmp/pt\\040a rw,relatime shared:1 - tmpfs my\\040src rw,size=1024k',
    '64 43 0:39 / /tmp/pt-b rw,relatime master:1 - tmpfs my\\040src rw,size=1024k',
    '65 43 254:0 /tmp/pt-c /tmp/pt-c rw,relatime unbindable - ext4 /dev/vda rw,discard,resv_strict,resuid=65534,resgid=65534',
    '36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 propagate_from:2 shared:7 - ext3 /dev/root rw,errors=continue',
  ].join('\n') + '\n';

describe('parseMountinfo', () => {
  const entries = parseMountinfo(REAL);

  it('reads every real line', () => {
    expect(entries.map((e) => e.id)).toEqual([22, 63, 64, 65, 36]);
  });

  it('decodes the space in a mount point and source', () => {
    expect(entries[1]).toMatchObject({ mountPoint: '/tmp/pt a', source: 'my src', fsType: 'tmpfs', shared: 1, master: null });
  });

  it.each([
    [0, { shared: null, master: null, propagateFrom: null, unbindable: false, optionalFields: [] }],
    [2, { shared: null, master: 1 }],
    [3, { unbindable: true, root: '/tmp/pt-c', major: 254, minor: 0 }],
    [4, { shared: 7, master: 1, propagateFrom: 2, optionalFields: ['master:1', 'propagate_from:2', 'shared:7'] }],
  ])('reads the propagation of entry %i', (i, want) => {
    expect(entries[i]).toMatchObject(want);
  });

  it('splits mount and super options', () => {
    expect(entries[3]?.mountOptions).toEqual(['rw', 'relatime']);
    expect(entries[3]?.superOptions).toContain('resuid=65534');
  });

  it.each([
    'garbage',
    '1 2 3 / / rw - ext4 /dev/x rw',
    '1 2 0:1 / / rw ext4 /dev/x rw',
    '1 2 0:1 / / rw - ext4 /dev/x',
    'a 2 0:1 / / rw - ext4 /dev/x rw',
    '1 2 0:1 / / rw - ext4 /dev/x rw extra',
  ])('skips the malformed line %j and keeps going', (bad) => {
    const r = parseMountinfoDetailed(`${bad}\n22 27 0:21 / /proc rw - proc proc rw\n`);
    expect(r.malformed).toEqual([{ line: 1, text: bad }]);
    expect(r.entries).toHaveLength(1);
  });

  it.each(['shared:', 'shared:x', 'shared:-1', 'shared:1e3'])('ignores the odd tag %j', (tag) => {
    expect(parseMountinfo(`1 2 0:1 / /x rw ${tag} - t s rw`)[0]).toMatchObject({ shared: null, optionalFields: [tag] });
  });

  it('keeps an empty source field', () => {
    expect(parseMountinfo('1 2 0:1 / /x rw - tmpfs  rw')[0]?.source).toBe('');
  });
});

describe('escapes', () => {
  it.each([
    ['a\\040b', 'a b'],
    ['a\\011b\\012c', 'a\tb\nc'],
    ['back\\134slash', 'back\\slash'],
    ['odd\\9', 'odd\\9'],
    ['short\\04', 'short\\04'],
    ['big\\477', 'big\\477'],
  ])('unescapes %j', (input, want) => {
    expect(unescapeMountField(input)).toBe(want);
  });

  it('escapes what the kernel escapes', () => {
    expect(escapeMountField('a b\t\n\\')).toBe('a\\040b\\011\\012\\134');
  });
});

describe('isUnder and mountsUnder', () => {
  it.each([
    ['/a/b', '/a', true],
    ['/a', '/a', true],
    ['/a/', '/a', true],
    ['/ab', '/a', false],
    ['/a/b', '/a/', true],
    ['//a//b', '/a', true],
    ['/anything', '/', true],
    ['/', '/a', false],
    ['relative', '/', false],
    ['/a/b/', '/a/b', true],
    ['/a//', '/a', true],
    ['/', '/', true],
    ['/a', '/a/b', false],
  ])('isUnder(%j, %j) is %s', (p, d, want) => {
    expect(isUnder(p, d)).toBe(want);
  });

  it('answers as collapsing slashes and dropping a trailing one, then comparing whole components, would', () => {
    // The slow, obvious definition: isUnder's fast path for paths already normal must agree with it everywhere.
    const normal = (x: string) => {
      const c = x.replace(/\/+/g, '/');
      return c.length > 1 ? c.replace(/\/$/, '') : c;
    };
    const reference = (x: string, dir: string) => {
      const [p, d] = [normal(x), normal(dir)];
      return d === '/' ? p.startsWith('/') : p === d || p.startsWith(`${d}/`);
    };
    const pathArb = fc.string({ maxLength: 10, unit: fc.constantFrom('a', 'b', '/') });
    fc.assert(
      fc.property(pathArb, pathArb, (x, dir) => {
        expect(isUnder(x, dir)).toBe(reference(x, dir));
      }),
      { numRuns: 2000 },
    );
  });

  it('orders mounts deepest first, newest first at equal depth', () => {
    const m = (id: number, mountPoint: string) => parseMountinfo(`${id} 1 0:1 / ${mountPoint} rw - t s rw`)[0] as MountEntry;
    const list = [m(10, '/srv/g'), m(11, '/srv/g/proc'), m(12, '/srv/g/dev'), m(13, '/srv/g/dev/pts'), m(14, '/srv/gx'), m(15, '/proc')];
    expect(mountsUnder(list, '/srv/g').map((e) => e.id)).toEqual([13, 12, 11, 10]);
  });
});

const field = fc.string({ minLength: 1, unit: fc.constantFrom('a', ' ', '\t', '\n', '\\', '0', '4', ',', '-', 'é', '/') });
const option = fc.string({ minLength: 1, maxLength: 8, unit: fc.constantFrom('r', 'w', '=', ' ', ',', '\\', '1') });
const entryArb = fc
  .record({
    id: fc.nat(),
    parentId: fc.nat(),
    major: fc.nat(4095),
    minor: fc.nat(),
    root: field,
    mountPoint: field,
    mountOptions: fc.array(option, { maxLength: 4 }),
    tags: fc.subarray(['shared:3', 'master:4', 'propagate_from:5', 'unbindable']),
    fsType: fc.string(),
    source: fc.string({ unit: fc.constantFrom('x', ' ', '\\', '-') }),
    superOptions: fc.array(option, { maxLength: 4 }),
  })
  .map(({ tags, ...e }): MountEntry => ({
    ...e,
    optionalFields: tags,
    shared: tags.includes('shared:3') ? 3 : null,
    master: tags.includes('master:4') ? 4 : null,
    propagateFrom: tags.includes('propagate_from:5') ? 5 : null,
    unbindable: tags.includes('unbindable'),
  }));

describe('mountinfo properties', () => {
  it('never throws and accounts for every non-empty line', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (s) => {
        const r = parseMountinfoDetailed(s);
        expect(r.entries.length + r.malformed.length).toBe(s.split('\n').filter((l) => l !== '').length);
      }),
      { numRuns: 300 },
    );
  });

  it('round-trips printMountinfoLine', () => {
    fc.assert(
      fc.property(entryArb, (e) => {
        expect(parseMountinfo(printMountinfoLine(e))).toEqual([e]);
      }),
      { numRuns: 300 },
    );
  });

  it('unescape inverts escape', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (s) => {
        expect(unescapeMountField(escapeMountField(s))).toBe(s);
      }),
      { numRuns: 300 },
    );
  });
});
