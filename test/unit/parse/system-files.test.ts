import { describe, expect, it } from 'vitest';
import { nssActionOf, parseNsswitch } from '../../../src/parse/nsswitch.js';
import {
  isCUtf8,
  localeAvailable,
  normaliseCodeset,
  normaliseLocaleName,
  parseLocaleList,
  parseLocaleName,
} from '../../../src/parse/locale-name.js';
import { hostsAddressesOf, isLoopbackAddress, parseEtcHosts } from '../../../src/parse/etc-hosts.js';
import { classifyMachineId, machineIdFromBytes } from '../../../src/parse/machine-id.js';
import { idInside, idOutside, isIdentityMap, parseIdMap } from '../../../src/parse/id-map.js';

describe('nsswitch.conf', () => {
  it('parses services and bracket actions, negation included; the last line of a database wins', () => {
    const dbs = parseNsswitch(
      '# comment\nhosts: files dns\nhosts:\tfiles myhostname resolve [!UNAVAIL=return] dns # trailing\npasswd: files\n',
    );
    const hosts = dbs.get('hosts')!;
    expect(hosts.line).toBe(3);
    expect(hosts.services.map((s) => s.name)).toEqual(['files', 'myhostname', 'resolve', 'dns']);
    const resolve = hosts.services[2]!;
    expect(resolve.text).toBe('resolve [!UNAVAIL=return]');
    expect(nssActionOf(resolve, 'UNAVAIL')).toBe('continue');
    expect(nssActionOf(resolve, 'NOTFOUND')).toBe('return');
    expect(nssActionOf(hosts.services[0]!, 'NOTFOUND')).toBe('continue');
    expect(nssActionOf(hosts.services[0]!, 'SUCCESS')).toBe('return');
  });
  it('ignores junk: a bracket before any service, bad statuses, an unterminated bracket', () => {
    const hosts = parseNsswitch('hosts: [NOTFOUND=return] files [BOGUS=return UNAVAIL=return] dns [TRYAGAIN=return\n').get('hosts')!;
    expect(hosts.services.map((s) => s.name)).toEqual(['files', 'dns']);
    expect(hosts.services[0]!.actions).toEqual({ UNAVAIL: 'return' });
    expect(hosts.services[1]!.actions).toEqual({ TRYAGAIN: 'return' });
  });
});

describe('locale names', () => {
  it.each([
    ['en_US.UTF-8', 'en_US.utf8'],
    ['de_DE.ISO-8859-1', 'de_DE.iso88591'],
    ['ja_JP.eucJP', 'ja_JP.eucjp'],
    ['de_DE@euro', 'de_DE@euro'],
    ['C.UTF-8', 'C.utf8'],
    ['en_US.8859', 'en_US.iso8859'],
    ['/some/path', '/some/path'],
  ])('%s normalises to %s', (name, want) => expect(normaliseLocaleName(name)).toBe(want));
  it('splits names and normalises codesets as glibc does', () => {
    expect(parseLocaleName('sr_RS.UTF-8@latin')).toEqual({ language: 'sr', territory: 'RS', codeset: 'UTF-8', modifier: 'latin' });
    expect(parseLocaleName('')).toBeNull();
    expect(normaliseCodeset('UTF_8')).toBe('utf8');
  });
  it('checks a name against locale -a output; C and POSIX are always there, C.UTF-8 only when listed', () => {
    const list = parseLocaleList('C\nC.utf8\nPOSIX\nen_US.utf8\n');
    expect(localeAvailable('en_US.UTF-8', list)).toBe(true);
    expect(localeAvailable('de_DE.UTF-8', list)).toBe(false);
    expect(localeAvailable('POSIX', new Set())).toBe(true);
    expect(localeAvailable('C.UTF-8', new Set(['C', 'POSIX']))).toBe(false);
    expect(isCUtf8('C.UTF-8')).toBe(true);
  });
});

describe('/etc/hosts', () => {
  it('parses entries, skips comments, compares names case-insensitively', () => {
    const e = parseEtcHosts(
      '127.0.0.1\tlocalhost\n# 10.0.0.1 x\n127.0.1.1 Guestbox guestbox.example # c\n::1 localhost ip6-localhost\nbroken\n',
    );
    expect(e).toHaveLength(3);
    expect(hostsAddressesOf(e, 'guestbox')).toEqual(['127.0.1.1']);
    expect(hostsAddressesOf(e, 'localhost')).toEqual(['127.0.0.1', '::1']);
    expect(hostsAddressesOf(e, 'other')).toEqual([]);
  });
  it.each([
    ['127.0.1.1', true],
    ['::1', true],
    ['0:0:0:0:0:0:0:1', true],
    ['192.0.2.1', false],
    ['fe80::1', false],
  ])('%s loopback: %s', (a, want) => expect(isLoopbackAddress(a)).toBe(want));
});

describe('machine-id', () => {
  it.each([
    ['3d1219c7c4c5404aaa1f6d2a48adfda4\n', 'valid'],
    ['3d1219c7c4c5404aaa1f6d2a48adfda4', 'valid'],
    ['', 'empty'],
    ['\n', 'empty'],
    ['uninitialized\n', 'uninitialized'],
    ['3D1219C7C4C5404AAA1F6D2A48ADFDA4\n', 'invalid'],
    ['3d1219c7-c4c5-404a-aa1f-6d2a48adfda4\n', 'invalid'],
    ['00000000000000000000000000000000\n', 'invalid'],
    ['3d1219c7c4c5404aaa1f6d2a48adfda4\nextra\n', 'invalid'],
  ])('%j is %s', (text, state) => expect(classifyMachineId(text).state).toBe(state));
  it('quotes the length libdbus quotes', () => expect(classifyMachineId('uninitialised\n')).toEqual({ state: 'invalid', length: 13 }));
  it('makes 32 hex digits with the v4 bits set', () => {
    const id = machineIdFromBytes(new Uint8Array(16).fill(0xff));
    expect(id).toMatch(/^[0-9a-f]{32}$/);
    expect(classifyMachineId(id).state).toBe('valid');
    expect(id[12]).toBe('4');
  });
});

describe('uid_map', () => {
  it('recognises the identity map and translates ids both ways', () => {
    expect(isIdentityMap(parseIdMap('         0          0 4294967295\n'))).toBe(true);
    const m = parseIdMap('0 0 1\n1000 100000 65536\nbad line\n');
    expect(isIdentityMap(m)).toBe(false);
    expect(idInside(m, 0)).toBe(0);
    expect(idInside(m, 1000)).toBeNull();
    expect(idInside(m, 100000)).toBe(1000);
    expect(idOutside(m, 1001)).toBe(100001);
    expect(idOutside(m, 5)).toBeNull();
  });
});

describe('local addresses', () => {
  it('reads LOCAL /32 leaves of fib_trie, if_inet6 in short form, getent ahosts addresses', async () => {
    const { parseFibTrieLocal, parseIfInet6, parseGetentAhosts } = await import('../../../src/parse/local-addresses.js');
    const trie =
      'Main:\n  +-- 0.0.0.0/0 3 0 5\n           |-- 127.0.0.1\n              /32 host LOCAL\n        |-- 127.255.255.255\n           /32 link BROADCAST\n           |-- 192.0.2.2\n              /32 host LOCAL\n';
    expect(parseFibTrieLocal(trie)).toEqual(['127.0.0.1', '192.0.2.2']);
    expect(
      parseIfInet6('00000000000000000000000000000001 01 80 10 80       lo\nfe8000000000000000fc00fffe000001 04 40 20 80     eth0\n'),
    ).toEqual(['::1', 'fe80::fc:ff:fe00:1']);
    expect(parseGetentAhosts('127.0.0.1       STREAM localhost\n127.0.0.1       DGRAM  \n::1 RAW\n')).toEqual(['127.0.0.1', '::1']);
  });
});
