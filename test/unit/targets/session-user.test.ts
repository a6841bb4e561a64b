import { describe, expect, it } from 'vitest';
import { chooseSession, isRegularUid, refusesLogin } from '../../../src/targets/session-user.js';
import { parseLoginDefs } from '../../../src/parse/login-defs.js';
import { parsePasswd } from '../../../src/parse/passwd.js';
import type { SessionCandidate } from '../../../src/targets/session-process.js';

const passwd = parsePasswd(
  [
    'root:x:0:0:root:/root:/bin/bash',
    'messagebus:x:100:107::/nonexistent:/usr/sbin/nologin',
    'systemd-resolve:x:996:996::/:/usr/sbin/nologin',
    'alice:x:1000:1000::/home/alice:/bin/bash',
    'nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin',
    'svc:x:1500:1500::/srv:/bin/false',
  ].join('\n'),
);
const range = { uidMin: 1000, uidMax: 60000 };
const proc = (pid: number, uid: number, env: Record<string, string> = { HOME: '/' }, startTime = pid): SessionCandidate => ({
  p: { pid, uid, startTime },
  env,
});

describe('login.defs', () => {
  it.each([
    ['', { uidMin: 1000, uidMax: 60000 }],
    ['UID_MIN  500\nUID_MAX 29999\n', { uidMin: 500, uidMax: 29999 }],
    ['# UID_MIN 10\nUID_MIN\t2000\n', { uidMin: 2000, uidMax: 60000 }],
    ['UID_MIN lots\n', { uidMin: 1000, uidMax: 60000 }],
    ['UID_MIN 9000\nUID_MAX 10\n', { uidMin: 1000, uidMax: 60000 }],
  ])('%j', (text, expected) => {
    expect(parseLoginDefs(text)).toEqual(expected);
  });
});

describe('regular accounts', () => {
  it.each([
    [0, false],
    [100, false],
    [996, false],
    [1000, true],
    [65534, false],
    [1500, false],
    [4242, true],
  ])('uid %i regular: %s', (uid, regular) => {
    expect(isRegularUid(uid, passwd, range)).toBe(regular);
  });
  it('nologin and false shells refuse logins', () => {
    expect(refusesLogin('/usr/sbin/nologin')).toBe(true);
    expect(refusesLogin('/bin/false')).toBe(true);
    expect(refusesLogin('/bin/bash')).toBe(false);
  });
});

describe('the session user (issue 12 item 3)', () => {
  const guest = 'nspawn:bookworm';
  it('never takes messagebus: with only system daemons running, the only regular user of passwd', () => {
    const c = chooseSession({ candidates: [proc(10, 100), proc(11, 996), proc(12, 0)], passwd, range, guest });
    expect(c.session).toEqual({ pid: null, uid: 1000, source: 'passwd' });
  });
  it("a regular user's process wins, with its environment", () => {
    const c = chooseSession({
      candidates: [proc(10, 100, { DISPLAY: ':0' }), proc(20, 1000, { XDG_RUNTIME_DIR: '/run/user/1000' })],
      passwd,
      range,
      guest,
    });
    expect(c.session).toEqual({ pid: 20, uid: 1000, source: 'process' });
    expect(c.env).toEqual({ XDG_RUNTIME_DIR: '/run/user/1000' });
  });
  it('--user names a system account: then its process counts', () => {
    const c = chooseSession({ candidates: [proc(10, 100)], passwd, range, guest, optionUid: 100 });
    expect(c.session).toEqual({ pid: 10, uid: 100, source: 'option' });
  });
  it('--user with no process of that user: the user, no process', () => {
    const c = chooseSession({ candidates: [proc(10, 100)], passwd, range, guest, optionUid: 1000 });
    expect(c.session).toEqual({ pid: null, uid: 1000, source: 'option' });
  });
  it('no regular user anywhere: no session, one reason naming the guest and --user', () => {
    const onlySystem = passwd.filter((p) => p.uid !== 1000);
    const c = chooseSession({ candidates: [proc(10, 100)], passwd: onlySystem, range, guest });
    expect(c.session).toBeNull();
    expect(c.reason).toBe(
      'no desktop session runs in nspawn:bookworm: no process of a regular user (uid 1000–60000 with a login shell) and no regular user in its /etc/passwd; name the desktop user with --user',
    );
  });
  it('two regular users and no process: no guess', () => {
    const two = parsePasswd('alice:x:1000:1000::/home/alice:/bin/bash\nbob:x:1001:1001::/home/bob:/bin/sh\n');
    const c = chooseSession({ candidates: [], passwd: two, range, guest });
    expect(c.session).toBeNull();
    expect(c.reason).toContain('2 regular users in its /etc/passwd (alice, bob)');
  });
  it('UID_MIN from login.defs moves the line', () => {
    const c = chooseSession({ candidates: [proc(10, 600)], passwd: [], range: { uidMin: 500, uidMax: 60000 }, guest });
    expect(c.session).toEqual({ pid: 10, uid: 600, source: 'process' });
  });
});
