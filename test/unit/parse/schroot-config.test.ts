import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  effectiveSetupFiles,
  parseCopyfiles,
  parseNameList,
  parseSchrootConfig,
  parseSchrootSession,
} from '../../../src/parse/schroot-config.js';

const CONF = `# chroot.d file
[bookworm]
description=Debian bookworm #1 (the "good" one); amd64
type=directory
directory=/srv/chroot/bookworm
users=alice, bob
root-users=alice
groups=sbuild
root-groups=root,sbuild
aliases=stable,default
profile=desktop
setup.fstab=desktop/fstab
setup.copyfiles=desktop/copyfiles
setup.nssdatabases=desktop/nssdatabases
preserve-environment=true

[debian-12.1]
directory=/srv/chroot/d12
script-config=default/config
`;

// A real session file, written by schroot 1.6.13 for \`schroot -b -c parsetest -n parsetest-s1\`.
const SESSION = `[parsetest-s1]
aliases=
command-prefix=
description= (session chroot)
directory=/
groups=
message-verbosity=normal
mount-location=/var/run/schroot/mount/parsetest-s1
name=parsetest-s1
original-name=parsetest
preserve-environment=false
profile=minimal
root-users=root
selected-name=parsetest
setup.config=minimal/config
setup.copyfiles=minimal/copyfiles
setup.fstab=minimal/fstab
setup.nssdatabases=minimal/nssdatabases
type=directory
union-type=none
users=
`;

describe('parseSchrootConfig', () => {
  const { chroots, problems } = parseSchrootConfig(CONF, '/etc/schroot/chroot.d/bookworm.conf');

  it('reads a full definition without turning dotted keys into objects', () => {
    expect(problems).toEqual([]);
    expect(chroots[0]).toMatchObject({
      name: 'bookworm',
      line: 2,
      source: '/etc/schroot/chroot.d/bookworm.conf',
      type: 'directory',
      directory: '/srv/chroot/bookworm',
      profile: 'desktop',
      setupFstab: 'desktop/fstab',
      setupCopyfiles: 'desktop/copyfiles',
      setupNssdatabases: 'desktop/nssdatabases',
      preserveEnvironment: true,
      users: ['alice', 'bob'],
      rootUsers: ['alice'],
      groups: ['sbuild'],
      rootGroups: ['root', 'sbuild'],
      aliases: ['stable', 'default'],
    });
    expect(chroots[0]?.raw['setup.fstab']).toBe('desktop/fstab');
  });

  it('keeps #, ; and quotes inside values, as GLib does (the ini package would cut them)', () => {
    expect(chroots[0]?.raw['description']).toBe('Debian bookworm #1 (the "good" one); amd64');
  });

  it('keeps dots in chroot names and reads the old script-config key', () => {
    expect(chroots[1]).toMatchObject({ name: 'debian-12.1', line: 17, setupConfig: 'default/config', users: [] });
    expect(chroots[1]?.type).toBeUndefined();
  });

  it.each([
    ['directory=/x\n[a]\n', 1, /outside any/],
    ['[a]\njunk line\n', 2, /not a comment/],
    ['[a]\npreserve-environment=yes\n', 2, /not a boolean/],
    ['[a]\nx=1\n[a]\n', 3, /repeated/],
    ['[a]\nx=1\nx=2\n', 3, /last value wins/],
    ['[]\n', 1, /empty group/],
  ])('reports a problem in %j', (text, line, message) => {
    const r = parseSchrootConfig(text, 'f');
    expect(r.problems).toHaveLength(1);
    expect(r.problems[0]).toMatchObject({ line });
    expect(r.problems[0]?.message).toMatch(message);
  });

  it('merges a repeated group and lets the last key win', () => {
    const r = parseSchrootConfig('[a]\nx=1\n[a]\nx=2\ny=3\n', 'f');
    expect(r.chroots).toHaveLength(1);
    expect(r.chroots[0]?.raw).toEqual({ x: '2', y: '3' });
  });

  it('fills setup files from the profile', () => {
    const [c] = parseSchrootConfig('[a]\nprofile=buildd\nsetup.fstab=/etc/my-fstab\n', 'f').chroots;
    expect(c && effectiveSetupFiles(c)).toEqual({
      fstab: '/etc/my-fstab',
      copyfiles: 'buildd/copyfiles',
      nssdatabases: 'buildd/nssdatabases',
    });
    const [d] = parseSchrootConfig('[b]\n', 'f').chroots;
    expect(d && effectiveSetupFiles(d).fstab).toBe('default/fstab');
  });
});

describe('parseSchrootSession', () => {
  it('reads a real schroot 1.6 session file', () => {
    const s = parseSchrootSession(SESSION, '/var/lib/schroot/session/parsetest-s1');
    expect(s).toMatchObject({
      id: 'parsetest-s1',
      chroot: 'parsetest',
      type: 'directory',
      directory: '/',
      mountLocation: '/var/run/schroot/mount/parsetest-s1',
      problems: [],
    });
    expect(s.raw['setup.fstab']).toBe('minimal/fstab');
  });

  it('falls back to the file name and reports an empty file', () => {
    const s = parseSchrootSession('', '/var/lib/schroot/session/abc-123');
    expect(s).toMatchObject({ id: 'abc-123', chroot: null });
    expect(s.problems).toHaveLength(1);
  });

  it('uses selected-name when original-name is missing', () => {
    expect(parseSchrootSession('[s]\nselected-name=sid\n', 'x').chroot).toBe('sid');
  });
});

describe('name lists', () => {
  it('reads copyfiles and nssdatabases files', () => {
    expect(parseNameList('# Files to copy\n/etc/resolv.conf\n\n  /etc/hosts  \n')).toEqual(['/etc/resolv.conf', '/etc/hosts']);
    expect(parseCopyfiles('#x\n/etc/resolv.conf\n/etc/a /etc/b\n')).toEqual([
      { source: '/etc/resolv.conf', dest: '/etc/resolv.conf', line: 2 },
      { source: '/etc/a', dest: '/etc/b', line: 3 },
    ]);
  });
});

describe('schroot properties', () => {
  it('never throws, and every chroot has a header line that says so', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), fc.string(), (text, source) => {
        const { chroots } = parseSchrootConfig(text, source);
        const lines = text.split('\n');
        for (const c of chroots) expect(lines[c.line - 1]?.trim()).toBe(`[${c.name}]`);
        parseSchrootSession(text, source);
        parseNameList(text);
        parseCopyfiles(text);
      }),
      { numRuns: 300 },
    );
  });

  it('reads back any generated key=value exactly', () => {
    const key = fc.stringMatching(/^[a-z][a-z.-]{0,12}$/);
    const value = fc.string({ unit: fc.constantFrom('a', '#', ';', '"', '=', ' ', '.', '/') }).map((v) => v.trim());
    fc.assert(
      fc.property(fc.dictionary(key, value, { maxKeys: 8 }), (kv) => {
        const text =
          '[c.1]\n' +
          Object.entries(kv)
            .map(([k, v]) => `${k}=${v}\n`)
            .join('');
        const { chroots, problems } = parseSchrootConfig(text, 'f');
        expect(problems).toEqual([]);
        expect({ ...chroots[0]?.raw }).toEqual(kv);
      }),
      { numRuns: 300 },
    );
  });
});
