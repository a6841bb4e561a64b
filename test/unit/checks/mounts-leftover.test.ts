import { afterEach, describe, expect, it } from 'vitest';
import check from '../../../src/checks/mounts/leftover.js';
import { unmountUnits } from '../../../src/host/unmount-order.js';
import { apiMountRoots } from '../../../src/host/guest-mount-roots.js';
import { parseMountinfo } from '../../../src/parse/mountinfo.js';
import type { UmountStep } from '../../../src/core/types.js';
import { FakeTarget, fakeContext, type FakeScenario } from '../support/fake-target.js';
import { rootedAt, scriptedHost, type HostScript } from '../support/scripted-host.js';

const made: FakeTarget[] = [];
afterEach(() => { while (made.length) made.pop()!.dispose(); });

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

async function run(script: HostScript, scenario: FakeScenario & { root?: string } = { kind: 'host' }) {
  const fake = new FakeTarget(scenario);
  made.push(fake);
  const ctx = fakeContext(rootedAt(fake, scenario.root ?? (scenario.kind === 'host' ? '/' : ROOT)), {}, scriptedHost(script));
  const applies = check.appliesTo(ctx);
  if (applies !== true) return { status: 'skip', summary: applies, findings: [], fixes: [] };
  return check.run(ctx);
}

const codes = (o: { findings: { code: string }[] }) => o.findings.map((f) => f.code);
const umounts = (fix: { steps: unknown[] } | undefined) => (fix?.steps ?? []) as UmountStep[];

describe('mounts.leftover', () => {
  it('finds the leftover rbinds of a chroot whose path has a space, on the bare host', async () => {
    const o = await run({ mountinfo: [...HOST, ...GUEST].join('\n') });
    expect(o.status).toBe('warn');
    const left = o.findings.find((f) => f.code === 'leftover-mounts');
    expect(left?.evidence.root).toBe(ROOT);
    expect((left?.evidence.mounts as unknown[]).length).toBe(5);
    expect(left?.message).toContain('/srv/my guest');
  });

  it('unmounts deepest first, each after --make-rslave, one recursive step per tree', async () => {
    const o = await run({ mountinfo: [...HOST, ...GUEST].join('\n') });
    const fix = o.fixes.find((f) => f.id === 'mounts.unmount-leftovers');
    expect(fix?.safety).toBe('safe');
    const steps = umounts(fix);
    expect(steps.map((s) => [s.path, s.recursive])).toEqual([
      ['/srv/my guest/sys', false], ['/srv/my guest/dev', true], ['/srv/my guest/proc', false],
    ]);
    expect(steps.every((s) => s.kind === 'umount' && s.where === 'host' && s.makeRslave && !s.lazy)).toBe(true);
  });

  it('warns that the /dev rbind shares propagation with the host\'s own /dev', async () => {
    const o = await run({ mountinfo: [...HOST, ...GUEST].join('\n') });
    const shared = o.findings.find((f) => f.code === 'leftover-mounts-shared');
    expect(shared?.message).toContain('/dev/pts');
    const mounts = shared?.evidence.mounts as { mountPoint: string; peers: string[] }[];
    expect(mounts.map((m) => m.mountPoint)).toEqual(['/srv/my guest/dev/pts', '/srv/my guest/dev/shm', '/srv/my guest/dev']);
    // /sys is a slave (master:5), so it cannot propagate back.
    expect(mounts.some((m) => m.mountPoint.endsWith('/sys'))).toBe(false);
  });

  it('names the process that keeps a mount busy, and offers lazy unmount only as unsafe', async () => {
    const o = await run({
      mountinfo: [...HOST, ...GUEST].join('\n'),
      files: [{ pid: 4242, comm: 'bash', cwd: '/srv/my guest/dev/shm/x' }, { pid: 77, comm: 'less', fds: ['/srv/my guest/dev/pts/3 (deleted)'] }],
    });
    const busy = o.findings.find((f) => f.code === 'leftover-mount-busy');
    expect(busy?.evidence.pids).toEqual([4242, 77]);
    expect(busy?.message).toContain('target is busy');
    expect(busy?.message).toContain('4242 (bash');
    // The busy /dev tree is left out of the safe plan; /sys and /proc still go.
    expect(umounts(o.fixes.find((f) => f.id === 'mounts.unmount-leftovers')).map((s) => s.path)).toEqual(['/srv/my guest/sys', '/srv/my guest/proc']);
    expect(o.fixes.find((f) => f.id === 'mounts.stop-holders')?.steps[0]).toMatchObject({ kind: 'manual', snippet: 'kill 4242 77' });
    const lazy = o.fixes.find((f) => f.id === 'mounts.lazy-unmount');
    expect(lazy?.safety).toBe('unsafe');
    expect(umounts(lazy)).toEqual([expect.objectContaining({ path: '/srv/my guest/dev', lazy: true, makeRslave: true, recursive: true })]);
  });

  it('ignores holders in another mount namespace (they hold their own copies)', async () => {
    const o = await run({ mountinfo: [...HOST, ...GUEST].join('\n'), files: [{ pid: 9, comm: 'x', mntns: 'mnt:[2]', cwd: '/srv/my guest/dev/shm' }] });
    expect(codes(o)).not.toContain('leftover-mount-busy');
  });

  it('passes when a process is rooted in the guest', async () => {
    const o = await run({ mountinfo: [...HOST, ...GUEST].join('\n'), processes: [{ pid: 500, comm: 'sleep', rootLink: ROOT }] });
    expect(o.status).toBe('pass');
    expect(codes(o)).toEqual(['mounts-in-use']);
    expect(o.fixes).toEqual([]);
  });

  it('leaves an open schroot session\'s mounts alone', async () => {
    const { mkdtempSync, writeFileSync, mkdirSync, rmSync } = await import('node:fs');
    const dir = mkdtempSync('/tmp/ctd-unit-sess-');
    try {
      mkdirSync(`${dir}/session`);
      writeFileSync(`${dir}/session/s1`, '[s1]\nname=s1\noriginal-name=box\nmount-location=/var/run/schroot/mount/s1\n');
      const o = await run({
        schrootPaths: { configDir: `${dir}/etc`, sessionDir: `${dir}/session` },
        mountinfo: [...HOST, '50 27 254:0 /srv/box /run/schroot/mount/s1 rw - ext4 /dev/vda rw', '51 50 0:41 / /run/schroot/mount/s1/proc rw - proc proc rw'].join('\n'),
      });
      expect(o.status).toBe('pass');
      expect(codes(o)).toEqual(['mounts-owned-by-session']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('looks only at the target\'s root for a chroot target', async () => {
    const other = '60 27 0:60 / /srv/other/proc rw - proc proc rw';
    const o = await run({ mountinfo: [...HOST, ...GUEST, other].join('\n') }, { kind: 'chroot', root: '/srv/other' });
    expect(o.findings.find((f) => f.code === 'leftover-mounts')?.evidence.root).toBe('/srv/other');
    expect(umounts(o.fixes[0]).map((s) => s.path)).toEqual(['/srv/other/proc']);
  });

  it('passes with nothing mounted below the guest', async () => {
    const o = await run({ mountinfo: HOST.join('\n') }, { kind: 'chroot', root: '/srv/empty' });
    expect(o.status).toBe('pass');
    expect(o.findings).toEqual([]);
  });

  it('skips a guest reached only through /proc/PID/root', async () => {
    const o = await run({ mountinfo: HOST.join('\n') }, { kind: 'pid', root: '/proc/123/root' });
    expect(o.status).toBe('skip');
  });
});

describe('unmountUnits', () => {
  it('gives each layer of a mount stacked twice on one path its own step, newest first', () => {
    const m = parseMountinfo([
      '70 27 0:6 / /g/dev rw - devtmpfs devtmpfs rw',
      '71 70 0:24 / /g/dev/pts rw - devpts devpts rw',
      '72 70 0:6 / /g/dev rw - devtmpfs devtmpfs rw',
      '73 72 0:24 / /g/dev/pts rw - devpts devpts rw',
      '74 73 0:24 / /g/dev/pts rw - devpts devpts rw',
    ].join('\n'));
    const units = unmountUnits(m);
    expect(units.map((u) => [u.path, u.members.map((x) => x.id)])).toEqual([
      ['/g/dev', [72, 73, 74]],
      ['/g/dev', [70, 71]],
    ]);
  });
});

describe('apiMountRoots', () => {
  it('finds chroot roots by their API mounts, including a bind of the host\'s /run, outermost only', () => {
    const m = parseMountinfo([
      ...HOST,
      '80 27 254:0 /run /a/run rw - ext4 /dev/vda rw',
      '81 27 0:81 / /a/inner/proc rw - proc proc rw',
      '82 27 254:0 /data /b/run rw - ext4 /dev/vda rw',
      '83 27 0:83 / /c/dev rw - devtmpfs devtmpfs rw',
    ].join('\n'));
    // /b/run is a bind of /data, not of /run: not a chroot's /run.
    expect(apiMountRoots(m)).toEqual(['/a', '/c']);
  });
});
