import { describe, expect, it } from 'vitest';
import { capabilitiesOf, guestArgv, netnsArgv, utsArgv, type GuestPlacement } from '../../../src/guest/guest-argv.js';
import { DEFAULT_PATH, guestCommandEnv } from '../../../src/guest/guest-env.js';

const nspawn: GuestPlacement = {
  root: '/proc/42/root',
  pid: 42,
  netnsPath: '/proc/42/ns/net',
  enterUserns: false,
  boundingSet: ['chown', 'kill', 'setuid', 'setgid', 'sys_chroot', 'net_bind_service'],
};
const chroot: GuestPlacement = { root: '/srv/guest', pid: null, netnsPath: null, enterUserns: false, boundingSet: null };
const argvOf = (r: ReturnType<typeof guestArgv>): string[] => {
  if ('error' in r) throw new Error(r.error);
  return r.argv;
};
/** The stages of a built argv, split at each host program. */
const stages = (argv: string[]): string[][] => {
  const out: string[][] = [];
  for (const a of argv) {
    if (a.startsWith('/usr/') || out.length === 0) out.push([a]);
    else out[out.length - 1]!.push(a);
  }
  return out;
};

describe('guestArgv (C2): every stage before the guest command is a host program by absolute path', () => {
  it("a root command in a process guest: all namespaces with the host root kept, setpriv with the guest's bounding set, env, then the chroot", () => {
    const argv = argvOf(guestArgv(nspawn, ['systemctl', 'enable', 'x'], { PATH: DEFAULT_PATH, LC_ALL: 'C' }));
    expect(argv).toEqual([
      '/usr/bin/nsenter',
      '-t',
      '42',
      '-m',
      '-u',
      '-i',
      '-n',
      '-p',
      '-C',
      '--root=/',
      '--wd=.',
      '--',
      '/usr/bin/setpriv',
      '--nnp',
      '--inh-caps=-all',
      '--bounding-set=-all,+chown,+kill,+setuid,+setgid,+sys_chroot,+net_bind_service',
      '--',
      '/usr/bin/env',
      '-i',
      'LC_ALL=C',
      `PATH=${DEFAULT_PATH}`,
      '/usr/bin/nsenter',
      '--root=.',
      '--wdns=/',
      '--',
      'systemctl',
      'enable',
      'x',
    ]);
  });

  it('a user command drops gid and groups in setpriv and the uid in the last stage, before the guest program', () => {
    const argv = argvOf(
      guestArgv(nspawn, ['dconf', 'read', '/x'], { PATH: DEFAULT_PATH }, { uid: 1000, gid: 1000, groups: [29, 44] }, '/home/u'),
    );
    const [, drop, , last] = stages(argv);
    // No --nnp for the user: it would strip the file capabilities (ping) the user's own programs have.
    expect(drop).toEqual([
      '/usr/bin/setpriv',
      '--inh-caps=-all',
      '--bounding-set=-all,+chown,+kill,+setuid,+setgid,+sys_chroot,+net_bind_service',
      '--regid',
      '1000',
      '--groups=29,44',
      '--',
    ]);
    expect(last).toEqual(['/usr/bin/nsenter', '--root=.', '--wdns=/home/u', '-S', '1000', '--', 'dconf', 'read', '/x']);
    expect(argvOf(guestArgv(nspawn, ['id'], {}, { uid: 1000, gid: 1000 }))).toContain('--clear-groups');
  });

  it('enters the user namespace only when asked, keeping our credentials for setpriv to set', () => {
    const argv = argvOf(guestArgv({ ...nspawn, enterUserns: true }, ['id'], {}));
    expect(stages(argv)[0]).toContain('-U');
    expect(stages(argv)[0]).toContain('--preserve-credentials');
    expect(stages(argvOf(guestArgv(nspawn, ['id'], {})))[0]).not.toContain('-U');
  });

  it('a chroot with no process: its netns only, no bounding set for root, the same env and drop', () => {
    const argv = argvOf(
      guestArgv({ ...chroot, netnsPath: '/run/netns/t' }, ['getent', 'hosts', 'x'], { PATH: DEFAULT_PATH }, { uid: 1000, gid: 100 }),
    );
    expect(stages(argv).map((s) => s[0])).toEqual(['/usr/bin/nsenter', '/usr/bin/setpriv', '/usr/bin/env', '/usr/bin/nsenter']);
    expect(argv.slice(0, 3)).toEqual(['/usr/bin/nsenter', '--net=/run/netns/t', '--']);
    expect(stages(argvOf(guestArgv(chroot, ['true'], {})))[0]).toEqual(['/usr/bin/setpriv', '--nnp', '--inh-caps=-all', '--']);
  });

  it("a process guest in all of our namespaces (a plain chroot's process): no namespace stage, but its bounding set, env and chroot", () => {
    const shared: GuestPlacement = { ...nspawn, root: '/srv/guest', netnsPath: null, sharesNamespaces: true };
    const argv = argvOf(guestArgv(shared, ['true'], { PATH: DEFAULT_PATH }));
    expect(stages(argv).map((s) => s[0])).toEqual(['/usr/bin/setpriv', '/usr/bin/env', '/usr/bin/nsenter']);
    expect(stages(argv)[0]).toContain('--bounding-set=-all,+chown,+kill,+setuid,+setgid,+sys_chroot,+net_bind_service');
    expect(argv).not.toContain('-t');
    // A network namespace that is not ours is still entered, whatever the flag says.
    const withNetns = argvOf(guestArgv({ ...shared, netnsPath: '/proc/42/ns/net' }, ['true'], {}));
    expect(withNetns.slice(0, 3)).toEqual(['/usr/bin/nsenter', '--net=/proc/42/ns/net', '--']);
    // Without the flag the process's namespaces are entered, as before.
    expect(argvOf(guestArgv({ ...shared, sharesNamespaces: false }, ['true'], {})).slice(0, 3)).toEqual(['/usr/bin/nsenter', '-t', '42']);
  });

  it('refuses a root command in a guest whose bounding set cannot chroot, an empty argv and a relative cwd', () => {
    expect(guestArgv({ ...nspawn, boundingSet: ['chown'] }, ['true'], {})).toEqual({
      error: expect.stringMatching(/lacks CAP_SYS_CHROOT/),
    });
    expect('argv' in guestArgv({ ...nspawn, boundingSet: ['chown'] }, ['true'], {}, { uid: 1000, gid: 1000 })).toBe(true);
    expect(guestArgv(nspawn, [], {})).toEqual({ error: 'empty command' });
    expect(guestArgv(nspawn, ['true'], {}, undefined, 'tmp')).toMatchObject({ error: expect.stringMatching(/not absolute/) });
  });

  it("C2: joins the guest's cgroups and closes stray descriptors in a host bash stage 0, only when there is something to do", () => {
    const argv = argvOf(
      guestArgv({ ...nspawn, cgroupProcs: ['/sys/fs/cgroup/unified/m/payload/cgroup.procs'], closeFds: [251, 2, 7] }, ['id'], {}),
    );
    const bash = argv.indexOf('ctr-doctor-stage0');
    expect(argv[0]).toMatch(/^\/(usr\/)?bin\/bash$/);
    expect(argv.slice(bash + 1, bash + 7)).toEqual([
      '/sys/fs/cgroup/unified/m/payload/cgroup.procs',
      '--',
      '251',
      '7',
      '--',
      '/usr/bin/nsenter',
    ]);
    expect(argvOf(guestArgv({ ...nspawn, cgroupProcs: [], closeFds: [] }, ['id'], {}))[0]).toBe('/usr/bin/nsenter');
  });

  it('host-only argv: the netns for host tools, the UTS namespace alone for the hostname', () => {
    expect(netnsArgv('/proc/7/ns/net', ['/usr/bin/cat', '/proc/net/unix'])).toEqual([
      '/usr/bin/nsenter',
      '--net=/proc/7/ns/net',
      '--',
      '/usr/bin/cat',
      '/proc/net/unix',
    ]);
    expect(netnsArgv(null, ['/usr/bin/ping'])).toEqual(['/usr/bin/ping']);
    expect(utsArgv(7, ['/usr/bin/uname', '-n'])).toEqual(['/usr/bin/nsenter', '-t', '7', '-u', '--', '/usr/bin/uname', '-n']);
  });
});

describe('capabilitiesOf', () => {
  it('names the bits of a status mask, limited to ours', () => {
    expect(capabilitiesOf('Name:\tx\nCapBnd:\t0000000000040001\n')).toEqual(['chown', 'sys_chroot']);
    expect(capabilitiesOf('CapBnd:\t00000000000400c1\n', 'CapBnd', ['chown', 'setuid', 'sys_chroot'])).toEqual([
      'chown',
      'setuid',
      'sys_chroot',
    ]);
    expect(capabilitiesOf('CapBnd:\t000001ffffffffff\n')).toHaveLength(41);
    expect(capabilitiesOf('CapBnd: zz\n')).toBeNull();
    expect(capabilitiesOf('')).toBeNull();
  });
});

describe('guestCommandEnv (C1): session variables only through the allow-list', () => {
  const hostile = {
    DISPLAY: ':0',
    WAYLAND_DISPLAY: 'wayland-0',
    XAUTHORITY: '/home/u/.Xauthority',
    XDG_RUNTIME_DIR: '/run/user/1000',
    PULSE_SERVER: 'unix:/run/user/1000/pulse/native',
    PULSE_COOKIE: '/home/u/.config/pulse/cookie',
    DBUS_SESSION_BUS_ADDRESS: 'unix:path=/run/user/1000/bus',
    HOME: '/home/u',
    USER: 'u',
    LOGNAME: 'u',
    LANG: 'C.UTF-8',
    LC_TIME: 'en_GB.UTF-8',
    PATH: '/tmp/evil:/usr/bin',
    LD_PRELOAD: '/tmp/evil.so',
    LD_LIBRARY_PATH: '/tmp',
    LD_AUDIT: '/tmp/a.so',
    GCONV_PATH: '/tmp',
    NODE_OPTIONS: '--require /tmp/x',
    SHELL: '/tmp/sh',
    IFS: 'x',
    LC_ALL: '/tmp/locale',
    LANGUAGE: 'x',
    'BAD-NAME': 'x',
    XDG_DATA_DIRS: '/tmp',
  };

  it('keeps the desktop variables and LC_*, drops LD_*, PATH and everything else; PATH is ours', () => {
    const env = guestCommandEnv(hostile);
    expect(Object.keys(env).sort()).toEqual([
      'DBUS_SESSION_BUS_ADDRESS',
      'DISPLAY',
      'HOME',
      'LANG',
      'LC_TIME',
      'LOGNAME',
      'PATH',
      'PULSE_COOKIE',
      'PULSE_SERVER',
      'USER',
      'WAYLAND_DISPLAY',
      'XAUTHORITY',
      'XDG_RUNTIME_DIR',
    ]);
    expect(env.PATH).toBe(DEFAULT_PATH);
  });

  it('a locale variable that names a path is dropped (host util-linux reads it before the guest program starts)', () => {
    expect(guestCommandEnv({ LANG: '../../tmp/x', LC_CTYPE: 'C.UTF-8' })).toEqual({ LC_CTYPE: 'C.UTF-8', PATH: DEFAULT_PATH });
  });

  it('our own variables pass, LD_* never, and a PATH of ours only when it is a plain list of absolute directories', () => {
    expect(guestCommandEnv({}, { LC_ALL: 'C', HOME: '/root', LD_PRELOAD: 'x', PATH: '/usr/bin:/bin' })).toEqual({
      LC_ALL: 'C',
      HOME: '/root',
      PATH: '/usr/bin:/bin',
    });
    expect(guestCommandEnv({}, { PATH: '.:/usr/bin' }).PATH).toBe(DEFAULT_PATH);
    expect(guestCommandEnv({ DISPLAY: 'a\0b' })).toEqual({ PATH: DEFAULT_PATH });
  });
});
