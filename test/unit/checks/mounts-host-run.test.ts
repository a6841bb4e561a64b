import { expect } from 'vitest';
import check from '../../../src/checks/mounts/host-run.js';
import { parseMountinfo } from '../../../src/parse/mountinfo.js';
import type { CheckOutcome, ManualStep, UmountStep } from '../../../src/core/types.js';
import { checkTester } from '../support/check-tester.js';
import type { FakeHostScenario } from '../support/fake-host.js';
import type { FakeScenario } from '../support/fake-target.js';

// /run lives on the root filesystem here (as on the test machine); /run/user/1000 is its own tmpfs.
const HOST = [
  '27 1 254:0 / / rw - ext4 /dev/vda rw',
  '30 27 0:50 / /run/user/1000 rw - tmpfs tmpfs rw,mode=700,uid=1000',
  '31 27 0:31 / /srv/g rw - overlay overlay rw',
];

/** A guest mount table (guest paths), as /proc/PID/mountinfo of a chrooted process shows it. */
const guest = (...lines: string[]) => parseMountinfo(lines.join('\n'));
const chroot = (more: FakeScenario = {}): FakeScenario => ({ kind: 'chroot', root: '/srv/g', ...more });
const host = (more: string[] = [], rest: Omit<FakeHostScenario, 'mountinfo'> = {}): FakeHostScenario => ({
  mountinfo: [...HOST, ...more].join('\n'),
  ...rest,
});
const RUN_RBIND = guest('40 31 254:0 /run /run rw - ext4 /dev/vda rw', '41 40 0:50 / /run/user/1000 rw - tmpfs tmpfs rw');
const HOST_RUN_RBIND = ['40 31 254:0 /run /srv/g/run rw - ext4 /dev/vda rw', '41 40 0:50 / /srv/g/run/user/1000 rw - tmpfs tmpfs rw'];
const fix = (o: CheckOutcome, id: string) => o.fixes.find((f) => f.id === id);

// The schroot chroot "box" whose profile fstab rbinds /run (line 3).
const FSTAB_RUN = '/run            /run            none    rw,rbind         0       0';
const schrootHost = host(
  ['50 27 254:0 /srv/box /run/schroot/mount/s1 rw - ext4 /dev/vda rw', '51 50 254:0 /run /run/schroot/mount/s1/run rw - ext4 /dev/vda rw'],
  {
    files: {
      '/etc/schroot/chroot.d/box': '[box]\ntype=directory\ndirectory=/srv/box\nprofile=box\n',
      '/etc/schroot/box/fstab': `# fs mp type opts\n/proc  /proc  none  rw,bind  0  0\n${FSTAB_RUN}\n`,
    },
  },
);
// Host sockets and their guest copies: same device and inode means the very same socket.
const hostSocket = (ino: number) => ({ content: '', dev: 7, ino });

checkTester(check, [
  {
    name: "an rbind of the host's /run (same device, root /run): fail, poweroff explained; a chroot gets the live repair and the setup commands",
    target: chroot({ mounts: RUN_RBIND }),
    host: host(HOST_RUN_RBIND),
    status: 'fail',
    codes: ['host-run-mounted'],
    fixes: ['mounts.private-run', 'mounts.private-run-setup'],
    assert: (o) => {
      expect(o.findings[0]?.message).toBe(
        'the host\'s /run is mounted in the guest at /run: the guest talks to the host\'s init and buses: "poweroff" inside the guest shuts the host down',
      );
      expect(o.findings[0]?.evidence.guestMountPoint).toBe('/run');
      const live = fix(o, 'mounts.private-run');
      expect(live?.safety).toBe('safe');
      const [umount, tmpfs, mkRunUser, mkUser, userTmpfs, ...rest] = live!.steps;
      expect(umount).toMatchObject({
        kind: 'umount',
        path: '/srv/g/run',
        recursive: true,
        makeRslave: true,
        lazy: false,
      } satisfies Partial<UmountStep>);
      // C3: mounts go on the descriptor of a guest directory, and every mount point stays root's until the last bind.
      expect(tmpfs).toMatchObject({
        kind: 'mount',
        where: 'guest',
        path: '/run',
        source: { kind: 'tmpfs', options: 'rw,nosuid,nodev,mode=755' },
      });
      expect(mkRunUser).toMatchObject({ kind: 'mkdir', where: 'guest', path: '/run/user', uid: 0 });
      expect(mkUser).toMatchObject({ kind: 'mkdir', where: 'guest', path: '/run/user/1000', uid: 0, mode: 0o700 });
      expect(userTmpfs).toMatchObject({
        kind: 'mount',
        path: '/run/user/1000',
        source: { kind: 'tmpfs', options: 'rw,nosuid,nodev,mode=700' },
      });
      expect(rest.at(-1)).toMatchObject({ kind: 'mkdir', path: '/run/user/1000', uid: 1000, gid: 1000, mode: 0o700 });
      expect(live!.steps.some((st) => st.kind === 'exec')).toBe(false);
      expect((fix(o, 'mounts.private-run-setup')?.steps[0] as ManualStep).snippet).toContain(
        'mount -t tmpfs -o rw,nosuid,nodev,mode=755 tmpfs /srv/g/run',
      );
    },
  },
  {
    name: "the host's pulse and dconf dirs that exist are bound back in",
    target: chroot({ mounts: RUN_RBIND }),
    host: host(HOST_RUN_RBIND, { files: { '/run/user/1000/pulse': { dir: true } } }),
    status: 'fail',
    codes: ['host-run-mounted'],
    fixes: ['mounts.private-run', 'mounts.private-run-setup'],
    assert: (o) => {
      const binds = fix(o, 'mounts.private-run')!.steps.filter((st) => st.kind === 'mount' && st.source.kind === 'bind');
      expect(binds).toEqual([expect.objectContaining({ path: '/run/user/1000/pulse' })]);
    },
  },
  {
    name: 'processes run in the guest: the live repair is unsafe',
    target: chroot({
      mounts: guest('40 31 254:0 /run /run rw - ext4 /dev/vda rw'),
      processes: [{ pid: 5, ppid: 1, uid: 0, comm: 'sleep', cmdline: ['sleep'] }],
    }),
    host: host(['40 31 254:0 /run /srv/g/run rw - ext4 /dev/vda rw']),
    status: 'fail',
    codes: ['host-run-mounted'],
    fixes: ['mounts.private-run', 'mounts.private-run-setup'],
    assert: (o) => expect(fix(o, 'mounts.private-run')?.safety).toBe('unsafe'),
  },
  ...(
    [
      ['a guest tmpfs on /run', ['40 31 0:77 / /run rw - tmpfs tmpfs rw']],
      [
        'a targeted bind of /run/user/1000/pulse',
        ['40 31 0:77 / /run rw - tmpfs tmpfs rw', '41 40 0:50 /pulse /run/user/1000/pulse rw - tmpfs tmpfs rw'],
      ],
      [
        'the host /run hidden under a newer tmpfs',
        ['40 31 254:0 /run /run rw - ext4 /dev/vda rw', '42 40 0:78 / /run rw - tmpfs tmpfs rw'],
      ],
      ['a bind of another directory of the root fs', ['40 31 254:0 /srv/data /data rw - ext4 /dev/vda rw']],
    ] as const
  ).map(([name, lines]) => ({
    name: `passes with ${name}`,
    target: chroot({ mounts: guest(...lines) }),
    host: host(),
    status: 'pass' as const,
    codes: [],
    summary: 'the guest has its own /run; no host daemon sockets are visible',
  })),
  {
    name: "the host's /run/user/1000 bound into the guest: warn",
    target: chroot({ mounts: guest('40 31 0:77 / /run rw - tmpfs tmpfs rw', '41 40 0:50 / /run/user/1000 rw - tmpfs tmpfs rw') }),
    host: host(),
    status: 'warn',
    codes: ['host-user-run-mounted'],
    fixes: ['mounts.private-run-setup'],
  },
  {
    name: "the host's /run shown through a bind of the whole host root",
    target: chroot({ mounts: guest('40 31 254:0 / /mnt/host rw - ext4 /dev/vda rw') }),
    host: host(),
    status: 'fail',
    codes: ['host-run-mounted'],
    fixes: ['mounts.private-run-setup'],
    assert: (o) => expect(o.findings[0]?.message).toContain('/mnt/host/run'),
  },
  {
    name: "the host's /run/systemd alone",
    target: chroot({
      mounts: guest('40 31 0:77 / /run rw - tmpfs tmpfs rw', '41 40 254:0 /run/systemd /run/systemd rw - ext4 /dev/vda rw'),
    }),
    host: host(),
    status: 'fail',
    codes: ['host-systemd-run-mounted'],
    fixes: ['mounts.private-run-setup'],
  },
  {
    name: "the host's /run/dbus alone",
    target: chroot({ mounts: guest('40 31 0:77 / /run rw - tmpfs tmpfs rw', '41 40 254:0 /run/dbus /run/dbus rw - ext4 /dev/vda rw') }),
    host: host(),
    status: 'fail',
    codes: ['host-dbus-mounted'],
    fixes: ['mounts.private-run-setup'],
  },
  {
    name: 'when /run is a tmpfs on the host, matched by its device',
    target: chroot({ mounts: guest('40 31 0:25 / /run rw - tmpfs tmpfs rw') }),
    host: { mountinfo: ['27 1 254:0 / / rw - ext4 /dev/vda rw', '28 27 0:25 / /run rw - tmpfs tmpfs rw'].join('\n') },
    status: 'fail',
    codes: ['host-run-mounted'],
    fixes: ['mounts.private-run-setup'],
  },
  {
    name: "the guest reaches the host's system bus socket itself (same device and inode), with no mount to say how",
    target: chroot({ files: { '/run/dbus/system_bus_socket': 'x' } }),
    host: host([], { files: { '/run/dbus/system_bus_socket': hostSocket(99) } }),
    setup: async ({ target, host: h }) => {
      // The guest's copy is a real temp file: give the host's the same device and inode.
      const st = await target.stat('/run/dbus/system_bus_socket');
      if ('dev' in st) h.setFile('/run/dbus/system_bus_socket', { content: '', dev: st.dev, ino: st.ino });
    },
    status: 'fail',
    codes: ['host-socket-visible'],
    assert: (o) =>
      expect(o.findings[0]?.message).toBe(
        "/run/dbus/system_bus_socket in the guest is the host's own socket (same device and inode): the guest talks to the host's system bus",
      ),
  },
  {
    name: "a file of the same name but another inode is not the host's socket",
    target: chroot({ files: { '/run/systemd/private': 'x' } }),
    host: host([], { files: { '/run/systemd/private': hostSocket(98) } }),
    status: 'pass',
    codes: [],
  },
  {
    name: 'schroot: the exact fstab line to remove (file, line number) and the lines to add; the open session repaired too',
    target: {
      kind: 'schroot',
      schroot: { chroot: 'box', session: 's1' },
      root: '/run/schroot/mount/s1',
      mounts: guest('40 31 254:0 /run /run rw - ext4 /dev/vda rw'),
    },
    host: schrootHost,
    status: 'fail',
    codes: ['host-run-mounted'],
    fixes: ['mounts.private-run', 'mounts.schroot-private-run'],
    assert: (o) => {
      const f = fix(o, 'mounts.schroot-private-run');
      expect(f?.title).toContain('/etc/schroot/box/fstab, replace line 3');
      const [remove, add] = f!.steps as ManualStep[];
      expect(remove?.snippet).toBe(FSTAB_RUN);
      expect(add?.snippet?.split('\n')).toEqual([
        'tmpfs  /run  tmpfs  rw,nosuid,nodev,mode=755  0  0',
        'tmpfs  /run/user/1000  tmpfs  rw,nosuid,nodev,mode=700,uid=1000,gid=1000  0  0',
      ]);
      expect(fix(o, 'mounts.private-run')?.steps[0]).toMatchObject({ kind: 'umount', path: '/run/schroot/mount/s1/run' });
    },
  },
  {
    name: 'nspawn: names the --bind to drop and gives the pulse bind and the .nspawn lines',
    target: {
      kind: 'nspawn',
      root: '/srv/g',
      nspawn: { machine: 'box', nspawnPid: 10, argv: ['systemd-nspawn', '-b', '-D', '/srv/g', '--bind=/run'] },
      mounts: guest('40 31 254:0 /run /run rw - ext4 /dev/vda rw'),
    },
    host: host(),
    status: 'fail',
    codes: ['host-run-mounted'],
    fixes: ['mounts.nspawn-private-run'],
    assert: (o) => {
      const f = fix(o, 'mounts.nspawn-private-run');
      expect(f?.title).toContain('--bind=/run');
      expect((f?.steps[0] as ManualStep).snippet).toContain('--bind=/run/user/1000/pulse:/run/user/pulse');
      expect((f?.steps[1] as ManualStep).snippet).toContain('Bind=/run/user/1000/pulse:/run/user/pulse');
    },
  },
  { name: 'the bare host: skip', target: { kind: 'host', root: '/' }, status: 'skip', codes: [] },
  { name: 'self: skip', target: { kind: 'self', root: '/' }, status: 'skip', codes: [] },
]);
