import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import check from '../../../src/checks/mounts/host-run.js';
import { parseMountinfo } from '../../../src/parse/mountinfo.js';
import type { CheckOutcome, ManualStep, UmountStep } from '../../../src/core/types.js';
import { FakeTarget, fakeContext, type FakeScenario } from '../support/fake-target.js';
import { rootedAt, scriptedHost, type HostScript } from '../support/scripted-host.js';

const made: FakeTarget[] = [];
const dirs: string[] = [];
afterEach(() => {
  while (made.length) made.pop()!.dispose();
  while (dirs.length) rmSync(dirs.pop()!, { recursive: true, force: true });
});

// /run lives on the root filesystem here (as on the test machine); /run/user/1000 is its own tmpfs.
const HOST = [
  '27 1 254:0 / / rw - ext4 /dev/vda rw',
  '30 27 0:50 / /run/user/1000 rw - tmpfs tmpfs rw,mode=700,uid=1000',
  '31 27 0:31 / /srv/g rw - overlay overlay rw',
];

/** A guest mount table (guest paths), as /proc/PID/mountinfo of a chrooted process shows it. */
const guest = (...lines: string[]) => parseMountinfo(lines.join('\n'));

async function run(scenario: FakeScenario & { root?: string }, script: HostScript = {}): Promise<CheckOutcome> {
  const fake = new FakeTarget({ kind: 'chroot', ...scenario });
  made.push(fake);
  const ctx = fakeContext(rootedAt(fake, scenario.root ?? '/srv/g'), {}, scriptedHost({ mountinfo: HOST.join('\n'), ...script }));
  const applies = check.appliesTo(ctx);
  if (applies !== true) return { status: 'skip', summary: applies, findings: [], fixes: [] };
  return check.run(ctx);
}

const codes = (o: CheckOutcome) => o.findings.map((f) => f.code);

describe('mounts.host-run', () => {
  it('fails on an rbind of the host\'s /run (same device, root /run) and explains poweroff', async () => {
    const o = await run(
      { mounts: guest('40 31 254:0 /run /run rw - ext4 /dev/vda rw', '41 40 0:50 / /run/user/1000 rw - tmpfs tmpfs rw') },
      { mountinfo: [...HOST, '40 31 254:0 /run /srv/g/run rw - ext4 /dev/vda rw', '41 40 0:50 / /srv/g/run/user/1000 rw - tmpfs tmpfs rw'].join('\n') },
    );
    expect(o.status).toBe('fail');
    expect(codes(o)).toEqual(['host-run-mounted']);
    expect(o.findings[0]?.message).toContain('poweroff');
    expect(o.findings[0]?.evidence.guestMountPoint).toBe('/run');
  });

  it('offers, for a chroot, make-rslave + umount, a tmpfs, a private /run/user/UID, and the setup commands', async () => {
    const o = await run(
      { mounts: guest('40 31 254:0 /run /run rw - ext4 /dev/vda rw') },
      { mountinfo: [...HOST, '40 31 254:0 /run /srv/g/run rw - ext4 /dev/vda rw', '41 40 0:50 / /srv/g/run/user/1000 rw - tmpfs tmpfs rw'].join('\n') },
    );
    const live = o.fixes.find((f) => f.id === 'mounts.private-run');
    expect(live?.safety).toBe('safe');
    const [umount, tmpfs, mkRunUser, mkUser, userTmpfs, ...rest] = live!.steps;
    expect(umount).toMatchObject({ kind: 'umount', path: '/srv/g/run', recursive: true, makeRslave: true, lazy: false } satisfies Partial<UmountStep>);
    // C3: mounts go on the descriptor of a guest directory, and every mount point stays root's until the last bind.
    expect(tmpfs).toMatchObject({ kind: 'mount', where: 'guest', path: '/run', source: { kind: 'tmpfs', options: 'rw,nosuid,nodev,mode=755' } });
    expect(mkRunUser).toMatchObject({ kind: 'mkdir', where: 'guest', path: '/run/user', uid: 0 });
    expect(mkUser).toMatchObject({ kind: 'mkdir', where: 'guest', path: '/run/user/1000', uid: 0, mode: 0o700 });
    expect(userTmpfs).toMatchObject({ kind: 'mount', path: '/run/user/1000', source: { kind: 'tmpfs', options: 'rw,nosuid,nodev,mode=700' } });
    expect(rest.at(-1)).toMatchObject({ kind: 'mkdir', path: '/run/user/1000', uid: 1000, gid: 1000, mode: 0o700 });
    expect(live!.steps.some((st) => st.kind === 'exec')).toBe(false);
    const script = o.fixes.find((f) => f.id === 'mounts.private-run-setup');
    expect((script?.steps[0] as ManualStep).snippet).toContain('mount -t tmpfs -o rw,nosuid,nodev,mode=755 tmpfs /srv/g/run');
  });

  it('marks the live fix unsafe while processes run in the guest', async () => {
    const o = await run(
      { mounts: guest('40 31 254:0 /run /run rw - ext4 /dev/vda rw'), processes: [{ pid: 5, ppid: 1, uid: 0, comm: 'sleep', cmdline: ['sleep'] }] },
      { mountinfo: [...HOST, '40 31 254:0 /run /srv/g/run rw - ext4 /dev/vda rw'].join('\n') },
    );
    expect(o.fixes.find((f) => f.id === 'mounts.private-run')?.safety).toBe('unsafe');
  });

  it.each([
    ['a guest tmpfs on /run', ['40 31 0:77 / /run rw - tmpfs tmpfs rw']],
    ['a targeted bind of /run/user/1000/pulse', ['40 31 0:77 / /run rw - tmpfs tmpfs rw', '41 40 0:50 /pulse /run/user/1000/pulse rw - tmpfs tmpfs rw']],
    ['the host /run hidden under a newer tmpfs', ['40 31 254:0 /run /run rw - ext4 /dev/vda rw', '42 40 0:78 / /run rw - tmpfs tmpfs rw']],
    ['a bind of another directory of the root fs', ['40 31 254:0 /srv/data /data rw - ext4 /dev/vda rw']],
  ])('passes with %s', async (_name, lines) => {
    const o = await run({ mounts: guest(...lines) });
    expect(o.status).toBe('pass');
    expect(o.findings).toEqual([]);
  });

  it('warns on the host\'s /run/user/1000 bound into the guest', async () => {
    const o = await run({ mounts: guest('40 31 0:77 / /run rw - tmpfs tmpfs rw', '41 40 0:50 / /run/user/1000 rw - tmpfs tmpfs rw') });
    expect(o.status).toBe('warn');
    expect(codes(o)).toEqual(['host-user-run-mounted']);
  });

  it('sees the host\'s /run shown through a bind of the whole host root', async () => {
    const o = await run({ mounts: guest('40 31 254:0 / /mnt/host rw - ext4 /dev/vda rw') });
    expect(codes(o)).toContain('host-run-mounted');
    expect(o.findings[0]?.message).toContain('/mnt/host/run');
  });

  it('when /run is a tmpfs on the host, matches by its device', async () => {
    const host = ['27 1 254:0 / / rw - ext4 /dev/vda rw', '28 27 0:25 / /run rw - tmpfs tmpfs rw'];
    const o = await run({ mounts: guest('40 31 0:25 / /run rw - tmpfs tmpfs rw') }, { mountinfo: host.join('\n') });
    expect(codes(o)).toEqual(['host-run-mounted']);
  });

  it('schroot: shows the exact fstab line to remove (file, line number) and the lines to add', async () => {
    const etc = mkdtempSync('/tmp/ctd-unit-schroot-');
    dirs.push(etc);
    mkdirSync(`${etc}/chroot.d`);
    mkdirSync(`${etc}/box`);
    writeFileSync(`${etc}/chroot.d/box`, '[box]\ntype=directory\ndirectory=/srv/box\nprofile=box\n');
    writeFileSync(`${etc}/box/fstab`, '# fs mp type opts\n/proc  /proc  none  rw,bind  0  0\n/run            /run            none    rw,rbind         0       0\n');
    const o = await run(
      { kind: 'schroot', schroot: { chroot: 'box', session: 's1' }, root: '/run/schroot/mount/s1', mounts: guest('40 31 254:0 /run /run rw - ext4 /dev/vda rw') },
      { schrootPaths: { configDir: etc, sessionDir: `${etc}/none` }, mountinfo: [...HOST, '50 27 254:0 /srv/box /run/schroot/mount/s1 rw - ext4 /dev/vda rw', '51 50 254:0 /run /run/schroot/mount/s1/run rw - ext4 /dev/vda rw'].join('\n') },
    );
    const fix = o.fixes.find((f) => f.id === 'mounts.schroot-private-run');
    expect(fix?.title).toContain(`${etc}/box/fstab, replace line 3`);
    const [remove, add] = fix!.steps as ManualStep[];
    expect(remove?.snippet).toBe('/run            /run            none    rw,rbind         0       0');
    expect(add?.snippet?.split('\n')).toEqual([
      'tmpfs  /run  tmpfs  rw,nosuid,nodev,mode=755  0  0',
      'tmpfs  /run/user/1000  tmpfs  rw,nosuid,nodev,mode=700,uid=1000,gid=1000  0  0',
    ]);
    // The open session can be repaired now as well.
    expect(o.fixes.find((f) => f.id === 'mounts.private-run')?.steps[0]).toMatchObject({ kind: 'umount', path: '/run/schroot/mount/s1/run' });
  });

  it('nspawn: names the --bind to drop and gives the pulse bind and the .nspawn lines', async () => {
    const o = await run({
      kind: 'nspawn', nspawn: { machine: 'box', nspawnPid: 10, argv: ['systemd-nspawn', '-b', '-D', '/srv/g', '--bind=/run'] },
      mounts: guest('40 31 254:0 /run /run rw - ext4 /dev/vda rw'),
    });
    const fix = o.fixes.find((f) => f.id === 'mounts.nspawn-private-run');
    expect(fix?.title).toContain('--bind=/run');
    expect((fix?.steps[0] as ManualStep).snippet).toContain('--bind=/run/user/1000/pulse:/run/user/pulse');
    expect((fix?.steps[1] as ManualStep).snippet).toContain('Bind=/run/user/1000/pulse:/run/user/pulse');
  });

  it('skips on the bare host', async () => {
    expect((await run({ kind: 'host', root: '/' })).status).toBe('skip');
  });
});
