import { describe, expect, test } from 'vitest';
import { archiveTablesEnd, parseLocaleArchive, ARCHIVE_HEADER_BYTES } from '../../../src/parse/locale-archive.js';
import { addListedAliases } from '../../../src/parse/locale-alias.js';
import { buildLocaleArchive } from '../support/locale-archive.js';

const parse = (b: Buffer, size = b.length) => parseLocaleArchive(b, size);

describe('parseLocaleArchive', () => {
  test('lists the used slots of the name hash table, once each', () => {
    const b = buildLocaleArchive({ names: ['en_US.utf8', 'de_DE.utf8', 'C.utf8'], tail: 5000 });
    expect(parse(b)).toEqual({ ok: true, names: ['en_US.utf8', 'de_DE.utf8', 'C.utf8'] });
    // Only the header and the two first tables need reading.
    expect(archiveTablesEnd(b.subarray(0, ARCHIVE_HEADER_BYTES))).toBe(56 + 7 * 12 + 'en_US.utf8 de_DE.utf8 C.utf8 '.length);
  });

  test('an empty archive lists nothing', () => {
    expect(parse(buildLocaleArchive({ names: [] }))).toEqual({ ok: true, names: [] });
  });

  test('the same name in two slots is listed once', () => {
    const b = buildLocaleArchive({ names: ['en_US.utf8', 'x'] });
    // Point the second used slot at the first name.
    b.writeUInt32LE(b.readUInt32LE(56 + 4), 56 + 2 * 12 + 4);
    expect(parse(b)).toEqual({ ok: true, names: ['en_US.utf8'] });
  });

  const FULL = buildLocaleArchive({ names: ['en_US.utf8'], tail: 100 });
  // Hostile archives: each is a reason, never a throw and never a partial list.
  const hostile: [string, () => Buffer, number | null, string][] = [
    ['empty file', () => Buffer.alloc(0), null, 'short'],
    ['truncated header', () => buildLocaleArchive({ names: ['a'] }).subarray(0, 30), null, 'short'],
    ['wrong magic', () => buildLocaleArchive({ names: ['a'], patch: { 0: 0x12345678 } }), null, 'magic'],
    ['other byte order', () => buildLocaleArchive({ names: ['a'], patch: { 0: 0x090102de } }), null, 'magic'],
    ['name table past the end', () => buildLocaleArchive({ names: ['a'], patch: { 2: 0xfffffff0 } }), null, 'bounds'],
    ['huge slot count', () => buildLocaleArchive({ names: ['a'], patch: { 4: 0xffffffff } }), null, 'bounds'],
    ['string table past the end', () => buildLocaleArchive({ names: ['a'], patch: { 7: 1 << 30 } }), null, 'bounds'],
    ['records past the end', () => buildLocaleArchive({ names: ['a'], patch: { 8: 1 << 30 } }), null, 'bounds'],
    ['sums past the end', () => buildLocaleArchive({ names: ['a'], patch: { 13: 1 << 30 } }), null, 'bounds'],
    [
      'a name offset past the end',
      () => {
        const b = buildLocaleArchive({ names: ['a'] });
        b.writeUInt32LE(b.length + 10, 56 + 4);
        return b;
      },
      null,
      'bounds',
    ],
    [
      'a name that never ends',
      () => {
        const b = Buffer.concat([buildLocaleArchive({ names: ['a'] }), Buffer.alloc(600, 0x41)]);
        b.writeUInt32LE(b.length - 600, 56 + 4);
        return b;
      },
      null,
      'name',
    ],
    [
      'an empty name',
      () => {
        const b = buildLocaleArchive({ names: ['a'] });
        b.writeUInt32LE(b.readUInt32LE(56 + 4) + 1, 56 + 4);
        return b;
      },
      null,
      'name',
    ],
    ['tables past what was read', () => FULL.subarray(0, 70), FULL.length, 'beyond-read'],
  ];
  test.each(hostile)('%s: %s', (_name, make, sizeOverride, problem) => {
    const b = make();
    const size = sizeOverride ?? b.length;
    const r = parse(b, size);
    expect(r).toMatchObject({ ok: false, problem });
    if (!r.ok) expect(r.message).not.toBe('');
  });

  test('fuzz: random bytes and random header words never throw', () => {
    let seed = 7;
    const rnd = (): number => (seed = (seed * 1103515245 + 12345) >>> 0);
    for (let i = 0; i < 2000; i++) {
      const b = buildLocaleArchive({ names: ['en_US.utf8', 'C.utf8'], tail: rnd() % 64 });
      // Flip a few words, header or tables, to anything.
      for (let k = 0; k < 1 + (rnd() % 4); k++) {
        const at = (rnd() % Math.floor(b.length / 4)) * 4;
        b.writeUInt32LE(rnd() % 3 === 0 ? rnd() % (b.length + 50) : rnd(), at);
      }
      const cut = rnd() % 3 === 0 ? b.subarray(0, rnd() % b.length) : b;
      const r = parseLocaleArchive(cut, rnd() % 2 === 0 ? cut.length : b.length);
      if (r.ok) for (const n of r.names) expect(n.length).toBeGreaterThan(0);
    }
  });
});

describe('addListedAliases', () => {
  test('adds an alias whose value is listed, in file order, byte for byte', () => {
    const names = new Set(['C', 'POSIX', 'en_US.utf8']);
    addListedAliases(
      [
        '# comment',
        '   # indented comment',
        'english\ten_US.utf8',
        'eng english', // an alias of an alias added just before
        'german de_DE.ISO-8859-1',
        'utf en_US.UTF-8', // not the same bytes
        'lonely',
        '',
        '  spaced   en_US.utf8   trailing words',
      ].join('\n'),
      names,
    );
    expect([...names]).toEqual(['C', 'POSIX', 'en_US.utf8', 'english', 'eng', 'spaced']);
  });

  test('an alias listed before its target is not added', () => {
    const names = new Set(['C']);
    addListedAliases('b a\na C\n', names);
    expect([...names]).toEqual(['C', 'a']);
  });
});
