/**
 * Table tests of dev.access over FakeTarget and FakeHost: the host's device nodes come from the
 * FakeHost, the guest's side from a scripted api-fs probe. Every code and every fix id is
 * covered here; the faults themselves are staged for real in test/integration/dev-access.test.ts.
 */
import { describe, expect, test } from 'vitest';
import devAccess from '../../../src/checks/dev/access.js';
import { checkTester } from '../support/check-tester.js';
import { parseGetfacl } from '../../../src/parse/getfacl.js';
import { allowsReadWrite, parseDevicePolicy, parseDevicesList, parseProcDevices } from '../../../src/parse/device-cgroup.js';
import type { FakeProbe } from '../support/fake-target.js';
import type { HostDeviceNode } from '../../../src/core/host.js';
import type { NodeInfo } from '../../../src/core/api-fs-types.js';
import type { CheckOutcome } from '../../../src/core/types.js';

const RENDER: HostDeviceNode = {
  path: '/dev/dri/renderD128',
  major: 226,
  minor: 128,
  mode: 0o660,
  uid: 0,
  gid: 992,
  acl: [],
  aclMask: null,
  aclGroup: null,
};
const CARD: HostDeviceNode = {
  path: '/dev/dri/card0',
  major: 226,
  minor: 0,
  mode: 0o660,
  uid: 0,
  gid: 44,
  acl: [{ who: 'user', id: 1001, perms: 'rw-' }],
  aclMask: 'rw-',
  aclGroup: 'rw-',
};
const PCM: HostDeviceNode = {
  path: '/dev/snd/pcmC0D0p',
  major: 116,
  minor: 16,
  mode: 0o660,
  uid: 0,
  gid: 29,
  acl: [],
  aclMask: null,
  aclGroup: null,
};
/** mknod -m 600, then setfacl -m u:1001:rw: the mode's group bits now show the mask (rw), group:: stays ---. */
const SEAT: HostDeviceNode = {
  path: '/dev/snd/seq',
  major: 116,
  minor: 1,
  mode: 0o660,
  uid: 0,
  gid: 0,
  acl: [{ who: 'user', id: 1001, perms: 'rw-' }],
  aclMask: 'rw-',
  aclGroup: '---',
};

const HOST_GROUPS = 'root:x:0:\naudio:x:29:\nvideo:x:44:\nrender:x:992:\n';
const PROC_DEVICES = 'Character devices:\n  1 mem\n116 alsa\n226 drm\n\nBlock devices:\n  7 loop\n';

/** The guest's view of a host node: the same node, opened (or not) with `openErrno`. */
const same = (h: HostDeviceNode, openErrno: string | null = null, extra: Partial<NodeInfo> = {}): NodeInfo => ({
  path: h.path,
  type: 'char',
  major: h.major,
  minor: h.minor,
  mode: h.mode,
  uid: h.uid,
  gid: h.gid,
  size: 0,
  openErrno,
  ...extra,
});
const gone = (h: HostDeviceNode): NodeInfo => ({
  path: h.path,
  type: 'missing',
  major: null,
  minor: null,
  mode: 0,
  uid: null,
  gid: null,
  size: 0,
  openErrno: 'ENOENT',
});
const look = (nodes: NodeInfo[], groups?: number[]): FakeProbe => ({
  name: 'api-fs',
  response: { filesystems: [], nodes, selfExe: null, pty: null, shm: null, uid: 1000, ...(groups ? { groups } : {}) },
});

const hostWith = (
  nodes: HostDeviceNode[],
  files: Record<string, string> = {},
  commands: { argv: string[]; result: { stdout: string; exitCode: number } }[] = [],
) => ({ deviceNodes: nodes, files: { '/etc/group': HOST_GROUPS, '/proc/devices': PROC_DEVICES, ...files }, commands });
const guestGroups = (text: string) => ({ '/etc/group': text });

const snippets = (o: CheckOutcome) => o.fixes.flatMap((f) => f.steps.map((s) => ('snippet' in s ? (s.snippet ?? '') : ''))).join('\n');
const messages = (o: CheckOutcome) => o.findings.map((f) => f.message).join('\n');

checkTester(devAccess, [
  {
    name: 'no device nodes on the host: a pass, nothing probed',
    host: hostWith([]),
    status: 'pass',
    codes: ['no-host-devices'],
    assert: (_o, { target }) => expect(target.log.probes).toEqual([]),
  },
  {
    name: 'every node there and opened',
    host: hostWith([RENDER, PCM]),
    target: {
      user: { groups: [29, 992] },
      files: guestGroups('audio:x:29:user\nrender:x:992:user\n'),
      probes: [look([same(RENDER), same(PCM)])],
    },
    status: 'pass',
    codes: ['devices-ok'],
    summary: "user opens the host's 2 device nodes in the guest",
  },
  {
    name: 'chroot without /dev/dri and /dev/snd: the binds, quoted, under the root',
    host: hostWith([RENDER, PCM]),
    target: { kind: 'chroot', probes: [look([gone(RENDER), gone(PCM)])] },
    status: 'warn',
    codes: ['devices-missing'],
    fixes: ['dev.bind-devices-chroot'],
    assert: (o, { target }) => {
      expect(messages(o)).toContain('/dev/dri/renderD128, /dev/snd/pcmC0D0p are on the host but not in the guest');
      expect(messages(o)).toContain('libGL error: failed to open drm device');
      expect(snippets(o)).toContain(`mkdir -p ${target.root}/dev/dri && mount --bind /dev/dri ${target.root}/dev/dri`);
      expect(snippets(o)).toContain(`mount --bind /dev/snd ${target.root}/dev/snd`);
    },
  },
  {
    name: 'schroot: the fstab lines',
    host: hostWith([PCM]),
    target: { kind: 'schroot', schroot: { chroot: 'bookworm', session: null }, probes: [look([gone(PCM)])] },
    status: 'warn',
    codes: ['devices-missing'],
    fixes: ['dev.bind-devices-schroot'],
    assert: (o) => expect(snippets(o)).toContain('/dev/snd /dev/snd none rw,bind 0 0'),
  },
  {
    name: 'nspawn: --bind= with DeviceAllow= by class from /proc/devices, and the .nspawn lines',
    host: hostWith([RENDER, PCM]),
    target: { kind: 'nspawn', nspawn: { machine: 'box', nspawnPid: 5, argv: [] }, probes: [look([gone(RENDER), gone(PCM)])] },
    status: 'warn',
    codes: ['devices-missing'],
    fixes: ['dev.bind-devices-nspawn'],
    assert: (o) => {
      expect(snippets(o)).toContain(
        "--bind=/dev/dri --bind=/dev/snd --property='DeviceAllow=char-drm rw' --property='DeviceAllow=char-alsa rw'",
      );
      expect(snippets(o)).toContain('Bind=/dev/dri\nBind=/dev/snd');
      expect(snippets(o)).toContain('DeviceAllow=char-drm rw');
    },
  },
  {
    name: 'a copied /dev: a plain file where the host has the node',
    host: hostWith([RENDER]),
    target: { probes: [look([same(RENDER, null, { type: 'file', major: null, minor: null })])] },
    status: 'warn',
    codes: ['device-differs'],
    assert: (o) => expect(messages(o)).toContain("/dev/dri/renderD128 in the guest is a file, not the host's char device 226:128"),
  },
  {
    name: 'render gid unnamed in the guest: groupadd -g, usermod, chroot --groups',
    host: hostWith([RENDER]),
    target: { kind: 'chroot', files: guestGroups('video:x:44:\n'), probes: [look([same(RENDER, 'EACCES')])] },
    status: 'fail',
    codes: ['gid-unnamed'],
    fixes: ['dev.guest-groups'],
    assert: (o) => {
      expect(messages(o)).toContain('belongs to gid 992 (render on the host), which has no name in the guest');
      expect(snippets(o)).toContain('groupadd -g 992 host-render\nusermod -aG host-render user');
      expect(snippets(o)).toContain('chroot --groups=992 --userspec=user');
    },
  },
  {
    name: 'render gid is systemd-resolve in the guest (intuneme#33): named, and a -o alias',
    host: hostWith([RENDER]),
    target: { files: guestGroups('systemd-resolve:x:992:\nrender:x:107:\n'), probes: [look([same(RENDER, 'EACCES')])] },
    status: 'fail',
    codes: ['gid-other-name'],
    fixes: ['dev.guest-groups'],
    assert: (o) => {
      expect(messages(o)).toContain(
        "gid 992, render on the host but systemd-resolve in the guest (the guest's render is gid 107); user is not in systemd-resolve",
      );
      expect(snippets(o)).toContain('groupadd -o -g 992 host-render');
    },
  },
  {
    name: 'same group, user not a member',
    host: hostWith([PCM]),
    target: { files: guestGroups('audio:x:29:\n'), probes: [look([same(PCM, 'EACCES')])] },
    status: 'fail',
    codes: ['not-in-group'],
    fixes: ['dev.guest-groups'],
    assert: (o) => expect(snippets(o)).toContain('usermod -aG audio user\nchroot --groups=29'),
  },
  {
    name: 'a seat node granted by ACL to another uid',
    host: hostWith([SEAT]),
    target: { probes: [look([same(SEAT, 'EACCES')])] },
    status: 'fail',
    codes: ['no-acl'],
    fixes: ['dev.grant-acl'],
    assert: (o) => {
      expect(messages(o)).toContain("its ACL grants only uid 1001 (logind's uaccess");
      expect(snippets(o)).toBe('setfacl -m u:1000:rw -- /dev/snd/seq');
    },
  },
  {
    name: 'ACL unreadable on the host: said so',
    host: hostWith([{ ...SEAT, acl: null }]),
    target: { probes: [look([same(SEAT, 'EACCES')])] },
    status: 'fail',
    codes: ['no-acl'],
    fixes: ['dev.grant-acl'],
    assert: (o) => expect(messages(o)).toContain('could not be read on the host (no getfacl)'),
  },
  {
    name: 'group 65534 in a user namespace',
    host: hostWith([PCM]),
    target: { probes: [look([same(PCM, 'EACCES', { gid: 65534 })])] },
    status: 'fail',
    codes: ['unmapped-group'],
    assert: (o) => expect(messages(o)).toContain("does not map the host's gid 29 (audio)"),
  },
  {
    name: 'EPERM where the mode allows it: the device cgroup',
    host: hostWith([RENDER]),
    target: { user: { groups: [992] }, files: guestGroups('render:x:992:user\n'), probes: [look([same(RENDER, 'EPERM')])] },
    status: 'fail',
    codes: ['cgroup-denies'],
    assert: (o) => expect(messages(o)).toContain('open as user returned EPERM although the mode allows it'),
  },
  {
    name: 'cgroup v1 devices.list without drm: named, and the devices.allow line',
    host: hostWith([RENDER], {
      '/proc/42/cgroup': '5:devices:/ctd/box\n0::/\n',
      '/sys/fs/cgroup/devices/ctd/box/devices.list': 'c 1:3 rwm\nc 136:* rw\n',
      '/proc/42/status': 'Uid:\t1000\t1000\t1000\t1000\nGroups:\t992\n',
    }),
    target: { pid: 42, user: { groups: [992] }, files: guestGroups('render:x:992:user\n'), probes: [look([same(RENDER)])] },
    status: 'fail',
    codes: ['cgroup-denies'],
    fixes: ['dev.allow-in-device-cgroup'],
    assert: (o) => {
      expect(messages(o)).toContain("the guest's device cgroup (cgroup v1 devices:/ctd/box) does not allow c 226:128 rw");
      expect(snippets(o)).toBe("echo 'c 226:* rw' > /sys/fs/cgroup/devices/ctd/box/devices.allow");
    },
  },
  {
    name: 'cgroup v2 machine scope: DevicePolicy=closed without char-drm, set-property on the unit',
    host: hostWith(
      [RENDER],
      { '/proc/42/cgroup': '0::/machine.slice/machine-box.scope/payload\n', '/proc/42/status': 'Uid:\t1000\nGroups:\t992\n' },
      [
        {
          argv: ['/usr/bin/systemctl', 'show', '-p', 'DevicePolicy', '-p', 'DeviceAllow', '--', 'machine-box.scope'],
          result: { stdout: 'DevicePolicy=closed\nDeviceAllow=char-pts rw\nDeviceAllow=/dev/net/tun rwm\n', exitCode: 0 },
        },
      ],
    ),
    target: {
      kind: 'nspawn',
      nspawn: { machine: 'box', nspawnPid: 5, argv: [] },
      pid: 42,
      user: { groups: [992] },
      files: guestGroups('render:x:992:user\n'),
      probes: [look([same(RENDER)])],
    },
    status: 'fail',
    codes: ['cgroup-denies'],
    fixes: ['dev.allow-in-device-cgroup'],
    assert: (o) => expect(snippets(o)).toBe("systemctl set-property --runtime machine-box.scope 'DeviceAllow=char-drm rw'"),
  },
  {
    name: 'cgroup v2 with char-drm allowed: passes',
    host: hostWith(
      [RENDER],
      { '/proc/42/cgroup': '0::/machine.slice/machine-box.scope/payload\n', '/proc/42/status': 'Uid:\t1000\nGroups:\t992\n' },
      [
        {
          argv: ['/usr/bin/systemctl', 'show', '-p', 'DevicePolicy', '-p', 'DeviceAllow', '--', 'machine-box.scope'],
          result: { stdout: 'DevicePolicy=closed\nDeviceAllow=char-drm rw\n', exitCode: 0 },
        },
      ],
    ),
    target: { pid: 42, user: { groups: [992] }, files: guestGroups('render:x:992:user\n'), probes: [look([same(RENDER)])] },
    status: 'pass',
    codes: ['devices-ok'],
  },
  {
    name: 'the probe was not given the gid the guest gives the user (M2): judged by the mode, and said so',
    host: hostWith([PCM]),
    target: { user: { groups: [29] }, files: guestGroups('audio:x:29:user\n'), probes: [look([same(PCM, 'EACCES')], [1000])] },
    status: 'pass',
    codes: ['devices-ok'],
    assert: (o) =>
      expect(messages(o)).toContain(
        "/dev/snd/pcmC0D0p by its mode and gid 29, which the guest's /etc/group gives user: the tool's own open ran without gid 29",
      ),
  },
  {
    name: 'a node with no driver: info, the check still passes',
    host: hostWith([PCM]),
    target: { user: { groups: [29] }, files: guestGroups('audio:x:29:user\n'), probes: [look([same(PCM, 'ENXIO')])] },
    status: 'pass',
    codes: ['no-driver', 'devices-ok'],
    assert: (o) => expect(messages(o)).toContain('ENXIO (No such device or address)'),
  },
  {
    name: 'EACCES although the group grants it: a nodev mount, said as it is',
    host: hostWith([PCM]),
    target: { user: { groups: [29] }, files: guestGroups('audio:x:29:user\n'), probes: [look([same(PCM, 'EACCES')])] },
    status: 'fail',
    codes: ['open-failed'],
    assert: (o) => expect(messages(o)).toContain('nodev'),
  },
  {
    name: 'member in /etc/group, but the session process started before',
    host: hostWith([PCM], { '/proc/42/status': 'Uid:\t1000\t1000\t1000\t1000\nGroups:\t24 27\n' }),
    target: { pid: 42, user: { groups: [29] }, files: guestGroups('audio:x:29:user\n'), probes: [look([same(PCM)])] },
    status: 'warn',
    codes: ['session-lacks-group'],
    assert: (o) => expect(messages(o)).toContain('the session process 42 does not have it (Groups: 24 27)'),
  },
  {
    name: "a user namespace that does not map the host's audio gid: unmapped-group, and the session's group 29 unmapped too",
    host: hostWith([PCM], { '/proc/42/gid_map': '         0     100000      65536\n', '/proc/42/status': 'Uid:\t1000\nGroups:\t29\n' }),
    target: { pid: 42, user: { groups: [29] }, files: guestGroups('audio:x:29:user\n'), probes: [look([same(PCM, 'EACCES')])] },
    status: 'fail',
    codes: ['unmapped-group', 'groups-overflow'],
    assert: (o) => expect(messages(o)).toContain("does not map the host's gid 29 (audio)"),
  },
  {
    name: "a user namespace that maps gid 29 to itself: the guest's own group names it",
    host: hostWith([PCM], {
      '/proc/42/gid_map': '         0          0         30\n      1000     101000      1\n',
      '/proc/42/status': 'Uid:\t1000\nGroups:\t29\n',
    }),
    target: { pid: 42, user: { groups: [29] }, files: guestGroups('audio:x:29:user\n'), probes: [look([same(PCM)])] },
    status: 'pass',
    codes: ['devices-ok'],
  },
  {
    name: "group 65534 among the session's groups",
    host: hostWith([PCM], { '/proc/42/status': 'Uid:\t1000\nGroups:\t29 65534\n' }),
    target: { pid: 42, user: { groups: [29] }, files: guestGroups('audio:x:29:user\n'), probes: [look([same(PCM)])] },
    status: 'warn',
    codes: ['groups-overflow'],
  },
  {
    name: "another user's process: its groups are not the session's",
    host: hostWith([PCM], { '/proc/42/status': 'Uid:\t0\nGroups:\t\n' }),
    target: { pid: 42, user: { groups: [29] }, files: guestGroups('audio:x:29:user\n'), probes: [look([same(PCM)])] },
    status: 'pass',
    codes: ['devices-ok'],
  },
  {
    name: 'card0 video gid unnamed AND pcm not-in-group: two findings, one groups fix',
    host: hostWith([CARD, PCM]),
    target: { files: guestGroups('audio:x:29:\n'), probes: [look([same(CARD, 'EACCES'), same(PCM, 'EACCES')])] },
    status: 'fail',
    codes: ['gid-unnamed', 'not-in-group'],
    fixes: ['dev.guest-groups'],
    assert: (o) => expect(snippets(o)).toContain('groupadd -g 44 host-video\nusermod -aG host-video user\nusermod -aG audio user'),
  },
  {
    name: "no desktop session: skipped with the target's reason",
    host: hostWith([PCM]),
    target: { session: null, noSessionReason: 'no desktop session: no regular user' },
    status: 'skip',
    codes: [],
  },
  { name: 'on the bare host: skipped', target: { kind: 'host' }, status: 'skip', codes: [] },
]);

describe('dev.access parsers', () => {
  test('getfacl: named entries and the mask per file, octal escapes undone', () => {
    const acl = parseGetfacl(
      '# file: /dev/snd/seq\n# owner: 0\n# group: 29\nuser::rw-\nuser:1000:rw-\ngroup::rw-\ngroup:44:r--\nmask::rw-\nother::---\n\n# file: /dev/a\\040b\nuser::rw-\n',
    );
    expect(acl.get('/dev/snd/seq')).toEqual({
      entries: [
        { who: 'user', id: 1000, perms: 'rw-' },
        { who: 'group', id: 44, perms: 'r--' },
      ],
      mask: 'rw-',
      owningGroup: 'rw-',
    });
    expect(acl.get('/dev/a b')).toEqual({ entries: [], mask: null, owningGroup: null });
  });
  test('devices.list and DevicePolicy rules', () => {
    expect(allowsReadWrite(parseDevicesList('a *:* rwm\n', 'v1'), 226, 128, '/dev/dri/renderD128')).toBe(true);
    const v1 = parseDevicesList('c 1:3 rwm\nc 226:* rw\n', 'v1');
    expect(allowsReadWrite(v1, 226, 128, '/dev/dri/renderD128')).toBe(true);
    expect(allowsReadWrite(v1, 116, 1, '/dev/snd/seq')).toBe(false);
    const majors = parseProcDevices('Character devices:\n116 alsa\n195 nvidia\n195 nvidiactl\n\nBlock devices:\n226 drm-block\n');
    expect(majors.get('alsa')).toEqual([116]);
    expect(majors.has('drm-block')).toBe(false);
    const v2 = parseDevicePolicy('DevicePolicy=auto\nDeviceAllow=char-nvidia* rw /dev/snd/seq rw\n', 'x.scope', majors);
    expect(v2.open).toBe(false);
    expect(allowsReadWrite(v2, 195, 0, '/dev/nvidia0')).toBe(true);
    expect(allowsReadWrite(v2, 116, 1, '/dev/snd/seq')).toBe(true);
    expect(allowsReadWrite(v2, 116, 2, '/dev/snd/timer')).toBe(false);
    expect(parseDevicePolicy('DevicePolicy=auto\nDeviceAllow=\n', 'x.scope', majors).open).toBe(true);
  });
});
