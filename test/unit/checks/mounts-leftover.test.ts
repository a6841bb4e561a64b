import { describe, expect, it } from 'vitest';
import check from '../../../src/checks/mounts/leftover.js';
import { unmountUnits } from '../../../src/host/unmount-order.js';
import { apiMountRoots } from '../../../src/host/guest-mount-roots.js';
import { parseMountinfo } from '../../../src/parse/mountinfo.js';
import type { CheckOutcome, UmountStep } from '../../../src/core/types.js';
import { checkTester } from '../support/check-tester.js';
import type { FakeHostScenario } from '../support/fake-host.js';

const HOST = [
  '27 1 254:0 / / rw,relatime - ext4 /dev/vda rw',
  '24 27 0:6 / /dev rw,relatime shared:2 - devtmpfs devtmpfs rw,mode=755',
  '25 24 0:23 / /dev/shm rw,relatime shared:3 - tmpfs tmpfs rw',
  '26 24 0:24 / /dev/pts rw,relatime shared:4 - devpts devpts rw',
  '28 27 0:20 / /sys rw,relatime shared:5 - sysfs sysfs rw',
  '29 27 0:5 / /proc rw,relatime - proc proc rw',
];
// A chroot at "/srv/my guest" (the kernel writes the space as \040): proc, an rbind of /dev that is still
// shared with the host's /dev, and an rslave rbind of /sys.
const GUEST = [
  '40 27 0:40 / /srv/my\\040guest/proc rw,relatime - proc proc rw',
  '41 27 0:6 / /srv/my\\040guest/dev rw,relatime shared:2 - devtmpfs devtmpfs rw,mode=755',
  '42 41 0:23 / /srv/my\\040guest/dev/shm rw,relatime shared:3 - tmpfs tmpfs rw',
  '43 41 0:24 / /srv/my\\040guest/dev/pts rw,relatime shared:4 - devpts devpts rw',
  '44 27 0:20 / /srv/my\\040guest/sys rw,relatime master:5 - sysfs sysfs rw',
];
const ROOT = '/srv/my guest';

const host = (extra: Omit<FakeHostScenario, 'mountinfo'> & { lines?: string[] } = {}): FakeHostScenario => {
  const { lines = [...HOST, ...GUEST], ...more } = extra;
  return { mountinfo: lines.join('\n'), ...more };
};
const bareHost = { kind: 'host' as const, root: '/' };
const umounts = (o: CheckOutcome, id: string) => (o.fixes.find((f) => f.id === id)?.steps ?? []) as UmountStep[];
const finding = (o: CheckOutcome, code: string) => o.findings.find((f) => f.code === code);
// An open schroot session s1 (its state file in the FakeHost's /var/lib/schroot/session) with a mount below it.
const sessionFile = '[s1]\nname=s1\noriginal-name=box\nmount-location=/var/run/schroot/mount/s1\n';

checkTester(check, [
  {
    name: 'the leftover rbinds of a chroot whose path has a space, on the bare host',
    target: bareHost,
    host: host(),
    status: 'warn',
    codes: ['leftover-mounts', 'leftover-mounts-shared'],
    fixes: ['mounts.unmount-leftovers'],
    assert: (o) => {
      const left = finding(o, 'leftover-mounts');
      expect(left?.evidence.root).toBe(ROOT);
      expect((left?.evidence.mounts as unknown[]).length).toBe(5);
      expect(left?.message).toBe(
        '5 mount(s) are left below /srv/my guest (sys, dev, proc) and no process or schroot session uses them; deleting the directory would delete host files through them',
      );
      // Deepest first, each after --make-rslave, one recursive step per tree.
      const fix = o.fixes.find((f) => f.id === 'mounts.unmount-leftovers');
      expect(fix?.safety).toBe('safe');
      const steps = umounts(o, 'mounts.unmount-leftovers');
      expect(steps.map((st) => [st.path, st.recursive])).toEqual([
        ['/srv/my guest/sys', false],
        ['/srv/my guest/dev', true],
        ['/srv/my guest/proc', false],
      ]);
      expect(steps.every((st) => st.kind === 'umount' && st.where === 'host' && st.makeRslave && !st.lazy)).toBe(true);
      // The /dev rbind shares propagation with the host's own /dev; /sys is a slave (master:5), so it cannot propagate back.
      const shared = finding(o, 'leftover-mounts-shared');
      expect(shared?.message).toContain('/dev/pts');
      const mounts = shared?.evidence.mounts as { mountPoint: string }[];
      expect(mounts.map((m) => m.mountPoint)).toEqual(['/srv/my guest/dev/pts', '/srv/my guest/dev/shm', '/srv/my guest/dev']);
    },
  },
  {
    name: 'a process keeps a mount busy: it is named, its tree left out of the safe plan, lazy unmount only as unsafe',
    target: bareHost,
    host: host({
      holders: [
        { pid: 4242, comm: 'bash', how: 'cwd', path: '/srv/my guest/dev/shm/x', mountId: 42 },
        { pid: 77, comm: 'less', how: 'fd', path: '/srv/my guest/dev/pts/3 (deleted)', mountId: 43 },
      ],
    }),
    status: 'warn',
    codes: ['leftover-mounts', 'leftover-mounts-shared', 'leftover-mount-busy'],
    fixes: ['mounts.unmount-leftovers', 'mounts.stop-holders', 'mounts.lazy-unmount'],
    assert: (o) => {
      const busy = finding(o, 'leftover-mount-busy');
      expect(busy?.evidence.pids).toEqual([4242, 77]);
      expect(busy?.message).toMatch(/^umount: \/srv\/my guest\/dev: target is busy: held by 4242 \(bash/);
      expect(umounts(o, 'mounts.unmount-leftovers').map((st) => st.path)).toEqual(['/srv/my guest/sys', '/srv/my guest/proc']);
      expect(o.fixes.find((f) => f.id === 'mounts.stop-holders')?.steps[0]).toMatchObject({ kind: 'manual', snippet: 'kill 4242 77' });
      expect(o.fixes.find((f) => f.id === 'mounts.lazy-unmount')?.safety).toBe('unsafe');
      expect(umounts(o, 'mounts.lazy-unmount')).toEqual([
        expect.objectContaining({ path: '/srv/my guest/dev', lazy: true, makeRslave: true, recursive: true }),
      ]);
    },
  },
  {
    name: 'every mount busy: no safe plan, only who to stop and the lazy unmount',
    target: bareHost,
    host: host({
      lines: [...HOST, '40 27 0:40 / /srv/g/proc rw - proc proc rw'],
      holders: [{ pid: 9, comm: 'top', how: 'cwd', path: '/srv/g/proc/1', mountId: 40 }],
    }),
    status: 'warn',
    codes: ['leftover-mounts', 'leftover-mount-busy'],
    fixes: ['mounts.stop-holders', 'mounts.lazy-unmount'],
  },
  {
    name: 'a holder is matched to its mount by id, not by the path it shows (a guest names its files as it likes)',
    target: bareHost,
    host: host({ holders: [{ pid: 9, comm: 'x', how: 'fd', path: '/srv/my guest/proc/looks-like-proc', mountId: 42 }] }),
    status: 'warn',
    codes: ['leftover-mounts', 'leftover-mounts-shared', 'leftover-mount-busy'],
    fixes: ['mounts.unmount-leftovers', 'mounts.stop-holders', 'mounts.lazy-unmount'],
    // Mount 42 is dev/shm, in the /dev tree: that tree is busy; proc (whose path the holder shows) is not.
    assert: (o) => {
      expect(finding(o, 'leftover-mount-busy')?.evidence.mountPoint).toBe('/srv/my guest/dev');
      expect(umounts(o, 'mounts.unmount-leftovers').map((st) => st.path)).toEqual(['/srv/my guest/sys', '/srv/my guest/proc']);
    },
  },
  {
    name: 'a busy host: the holder scan stopped at its budget; the one holder it found is named, and the rest are said to be unknown',
    target: bareHost,
    host: host({
      holders: [{ pid: 4242, comm: 'bash', how: 'cwd', path: '/srv/my guest/dev/shm', mountId: 42 }],
      holderScan: { finished: false, read: 1800, total: 10004, elapsedMs: 100, budgetMs: 100 },
    }),
    status: 'warn',
    codes: ['leftover-mounts', 'leftover-mounts-shared', 'holders-unknown', 'leftover-mount-busy'],
    fixes: ['mounts.unmount-leftovers', 'mounts.stop-holders', 'mounts.lazy-unmount'],
    assert: (o) => {
      expect(finding(o, 'holders-unknown')?.message).toBe(
        'who holds the mounts below /srv/my guest (sys, dev, proc) is known only in part: the host scan read 1800 of 10004 processes within its budget of 100 ms, so holders among the rest go unnamed here; fix names them if umount says "target is busy"',
      );
      expect(finding(o, 'holders-unknown')?.evidence).toMatchObject({ read: 1800, total: 10004, elapsedMs: 100, holdersFound: 1 });
      expect(finding(o, 'leftover-mount-busy')?.evidence.pids).toEqual([4242]);
    },
  },
  {
    name: 'a busy host, nothing found before the budget: every mount goes in the safe plan (umount itself says if one is busy)',
    target: bareHost,
    host: host({
      lines: [...HOST, '40 27 0:40 / /srv/g/proc rw - proc proc rw'],
      holderScan: { finished: false, read: 0, total: 10004, elapsedMs: 100 },
    }),
    status: 'warn',
    codes: ['leftover-mounts', 'holders-unknown'],
    fixes: ['mounts.unmount-leftovers'],
  },
  {
    name: "some processes' files unreadable (not root): said once",
    target: bareHost,
    host: host({
      lines: [...HOST, '40 27 0:40 / /srv/g/proc rw - proc proc rw'],
      holderScan: { unreadable: 2 },
    }),
    status: 'warn',
    codes: ['leftover-mounts', 'holders-incomplete'],
    fixes: ['mounts.unmount-leftovers'],
    assert: (o) => expect(finding(o, 'holders-incomplete')?.evidence).toEqual({ unreadable: 2 }),
  },
  {
    name: 'a process rooted in the guest: in use, pass',
    target: bareHost,
    host: host({ processes: [{ pid: 500, comm: 'sleep', rootLink: ROOT }] }),
    status: 'pass',
    codes: ['mounts-in-use'],
    summary: '5 mount(s) below /srv/my guest are in use by 1 process(es) rooted there',
  },
  {
    name: "the target's own processes count too",
    target: { kind: 'chroot', root: ROOT, processes: [{ pid: 501, ppid: 1, uid: 0, comm: 'sh', cmdline: ['sh'] }] },
    host: host(),
    status: 'pass',
    codes: ['mounts-in-use'],
  },
  {
    name: "an open schroot session's mounts are left alone",
    target: bareHost,
    host: host({
      lines: [
        ...HOST,
        '50 27 254:0 /srv/box /run/schroot/mount/s1 rw - ext4 /dev/vda rw',
        '51 50 0:41 / /run/schroot/mount/s1/proc rw - proc proc rw',
      ],
      files: { '/var/lib/schroot/session/s1': sessionFile },
    }),
    status: 'pass',
    codes: ['mounts-owned-by-session'],
    summary: '1 mount(s) below /run/schroot/mount/s1 belong to the open schroot session s1',
  },
  {
    name: 'a chroot target: only its own root is looked at',
    target: { kind: 'chroot', root: '/srv/other' },
    host: host({ lines: [...HOST, ...GUEST, '60 27 0:60 / /srv/other/proc rw - proc proc rw'] }),
    status: 'warn',
    codes: ['leftover-mounts'],
    fixes: ['mounts.unmount-leftovers'],
    assert: (o) => {
      expect(finding(o, 'leftover-mounts')?.evidence.root).toBe('/srv/other');
      expect(umounts(o, 'mounts.unmount-leftovers').map((st) => st.path)).toEqual(['/srv/other/proc']);
    },
  },
  {
    name: 'nothing mounted below the guest',
    target: { kind: 'chroot', root: '/srv/empty' },
    host: host({ lines: HOST }),
    status: 'pass',
    codes: [],
    summary: 'no mounts below /srv/empty',
  },
  {
    name: 'no guest roots with mounts on the bare host',
    target: bareHost,
    host: host({ lines: HOST }),
    status: 'pass',
    codes: [],
    summary: 'no guest roots with mounts on this host',
  },
  {
    name: 'a guest reached only through /proc/PID/root: skip',
    target: { kind: 'pid', root: '/proc/123/root', rootViaProcess: true },
    host: host({ lines: HOST }),
    status: 'skip',
    codes: [],
  },
]);

describe('unmountUnits', () => {
  it('gives each layer of a mount stacked twice on one path its own step, newest first', () => {
    const m = parseMountinfo(
      [
        '70 27 0:6 / /g/dev rw - devtmpfs devtmpfs rw',
        '71 70 0:24 / /g/dev/pts rw - devpts devpts rw',
        '72 70 0:6 / /g/dev rw - devtmpfs devtmpfs rw',
        '73 72 0:24 / /g/dev/pts rw - devpts devpts rw',
        '74 73 0:24 / /g/dev/pts rw - devpts devpts rw',
      ].join('\n'),
    );
    const units = unmountUnits(m);
    expect(units.map((u) => [u.path, u.members.map((x) => x.id)])).toEqual([
      ['/g/dev', [72, 73, 74]],
      ['/g/dev', [70, 71]],
    ]);
  });
});

describe('apiMountRoots', () => {
  it("finds chroot roots by their API mounts, including a bind of the host's /run, outermost only", () => {
    const m = parseMountinfo(
      [
        ...HOST,
        '80 27 254:0 /run /a/run rw - ext4 /dev/vda rw',
        '81 27 0:81 / /a/inner/proc rw - proc proc rw',
        '82 27 254:0 /data /b/run rw - ext4 /dev/vda rw',
        '83 27 0:83 / /c/dev rw - devtmpfs devtmpfs rw',
      ].join('\n'),
    );
    // /b/run is a bind of /data, not of /run: not a chroot's /run.
    expect(apiMountRoots(m)).toEqual(['/a', '/c']);
  });
});
