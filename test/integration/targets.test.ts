/**
 * The core path end to end on real guests: every target kind is found, entered and
 * reported on, files are read through the guest's own root, and `list` sees them all.
 */
import { mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { mountChrootApi, startChrootProcess, type ChrootProcess } from '../harness/chroot-guest.js';
import { bootNspawn, type NspawnGuest } from '../harness/nspawn-guest.js';
import { beginSession, createSchroot, simulateReboot, startSessionProcess } from '../harness/schroot-guest.js';
import { describeIntegration } from '../harness/skip.js';
import { runTool, validateReport } from '../harness/tool.js';
import { createWorld, type World } from '../harness/world.js';
import type { Report } from '../../src/core/types.js';

describeIntegration('targets: chroot, schroot, nspawn, pid, list', () => {
  let w: World;
  let chrootRoot: string;
  let chrootProc: ChrootProcess;
  let schrootName: string;
  let sessionId: string;
  let staleId: string;
  let nspawn: NspawnGuest;
  let netns: string;
  const tool = (args: string[]) => runTool(args, { netns });
  const report = async (args: string[]) => {
    const r = await tool([...args, '--json']);
    await validateReport(r.json);
    return { ...r, report: r.json as Report };
  };
  const result = (rep: Report, id: string) => rep.results.find((x) => x.id === id)!;

  beforeAll(async () => {
    w = await createWorld();
    netns = w.net.offNsPath;
    const g = await w.guestRoot('chroot with space');
    chrootRoot = g.root;
    await mountChrootApi(chrootRoot, w.cleanup, {});
    chrootProc = await startChrootProcess(
      w.net,
      chrootRoot,
      { uid: 1000, env: { PATH: '/usr/bin:/bin', DISPLAY: ':77', HOME: g.user.home } },
      w.cleanup,
    );

    const s = await w.guestRoot('schroot');
    schrootName = w.name('s');
    createSchroot(w.net, s.root, schrootName, w.cleanup, {});
    sessionId = await beginSession(schrootName, w.name('s1'));
    await startSessionProcess(w.net, sessionId, w.cleanup);
    const stale = await w.guestRoot('schroot-stale');
    const staleName = w.name('t');
    createSchroot(w.net, stale.root, staleName, w.cleanup, {});
    staleId = await beginSession(staleName, w.name('t1'));
    await simulateReboot(staleId);

    const n = await w.guestRoot('nspawn');
    writeFileSync(join(n.root, 'etc/resolv.conf'), 'nameserver 198.51.100.77\n');
    nspawn = await bootNspawn(w.net, n.root, w.name('n'), w.cleanup, {});
  }, 120_000);
  afterAll(async () => w?.dispose());

  test('chroot with a process: its netns, environment and user are used', async () => {
    const { report: rep, exitCode } = await report([`chroot:${chrootRoot}`, '--only', 'dns.resolv-conf']);
    expect(exitCode).toBe(0);
    expect(rep.target).toMatchObject({ kind: 'chroot', name: chrootRoot, root: chrootRoot, pid: chrootProc.pid });
    expect(result(rep, 'dns.resolv-conf').status).toBe('pass');
    expect(result(rep, 'dns.resolv-conf').findings.find((f) => f.code === 'resolv-conf-nameservers')?.evidence.nameservers).toEqual([
      '203.0.113.53',
    ]);
  });

  test('a bare directory path is a chroot target too', async () => {
    const { report: rep } = await report([chrootRoot, '--only', 'dns']);
    expect(rep.target.kind).toBe('chroot');
  });

  test('resolv.conf as an absolute symlink to a host-only path: the guest view wins', async () => {
    const dir = w.minimalRoot('hostlink');
    rmSync(join(dir, 'etc/resolv.conf'), { force: true });
    mkdirSync(join(dir, 'etc'), { recursive: true });
    // /etc/debian_version exists on the host but not in this minimal guest.
    symlinkSync('/etc/debian_version', join(dir, 'etc/resolv.conf'));
    const { report: rep, exitCode } = await report([`chroot:${dir}`, '--only', 'dns.resolv-conf']);
    expect(exitCode).toBe(1);
    const f = result(rep, 'dns.resolv-conf').findings.find((x) => x.code === 'resolv-conf-dangling-symlink');
    expect(f?.evidence).toMatchObject({ target: '/etc/debian_version', existsOnHost: true });
    // With a file of its own at that path, the guest's content is what is read.
    mkdirSync(join(dir, 'etc'), { recursive: true });
    writeFileSync(join(dir, 'etc/debian_version'), 'nameserver 192.0.2.99\n');
    const again = await report([`chroot:${dir}`, '--only', 'dns.resolv-conf']);
    expect(
      result(again.report, 'dns.resolv-conf').findings.find((x) => x.code === 'resolv-conf-nameservers')?.evidence.nameservers,
    ).toEqual(['192.0.2.99']);
  });

  test('schroot:NAME opens its one open session; session:ID names it directly', async () => {
    const byName = await report([`schroot:${schrootName}`, '--only', 'dns.resolv-conf']);
    expect(byName.report.target).toMatchObject({ kind: 'schroot', name: sessionId, root: `/run/schroot/mount/${sessionId}` });
    expect(byName.report.target.pid).toBeGreaterThan(1);
    const bySession = await report([`session:${sessionId}`, '--only', 'dns.resolv-conf']);
    expect(bySession.report.target.name).toBe(sessionId);
    expect(result(bySession.report, 'dns.resolv-conf').status).toBe('pass');
  });

  test('nspawn:NAME is found by scanning systemd-nspawn processes; files come from the guest', async () => {
    const { report: rep } = await report([`nspawn:${nspawn.machine}`, '--only', 'dns.resolv-conf']);
    expect(rep.target).toMatchObject({ kind: 'nspawn', name: nspawn.machine, pid: nspawn.leaderPid });
    expect(result(rep, 'dns.resolv-conf').findings.find((f) => f.code === 'resolv-conf-nameservers')?.evidence.nameservers).toEqual([
      '198.51.100.77',
    ]);
  });

  test('pid:N opens any process', async () => {
    const { report: rep } = await report([`pid:${nspawn.leaderPid}`, '--only', 'dns.resolv-conf']);
    expect(rep.target).toMatchObject({ kind: 'pid', pid: nspawn.leaderPid });
    expect(result(rep, 'dns.resolv-conf').findings.find((f) => f.code === 'resolv-conf-nameservers')?.evidence.nameservers).toEqual([
      '198.51.100.77',
    ]);
  });

  test('list finds the running chroot, both sessions (active and stale) and the machine', async () => {
    const r = await tool(['list', '--json']);
    expect(r.exitCode).toBe(0);
    const guests = r.json as { target: string; state: string; kind: string }[];
    expect(guests).toContainEqual(expect.objectContaining({ target: `chroot:${chrootRoot}`, state: 'running' }));
    expect(guests).toContainEqual(expect.objectContaining({ target: `session:${sessionId}`, state: 'active' }));
    expect(guests).toContainEqual(expect.objectContaining({ target: `session:${staleId}`, state: 'stale' }));
    expect(guests).toContainEqual(expect.objectContaining({ target: `nspawn:${nspawn.machine}`, state: 'running' }));
  });

  test("text and JUnit reports, and the contract's usage errors", async () => {
    const text = await tool([`chroot:${chrootRoot}`, '--only', 'dns', '--format', 'text']);
    expect(text.stdout).toMatch(/^PASS \d+ passed: (\S+, )*dns\.resolv-conf\b/m);
    const junit = await tool([`chroot:${chrootRoot}`, '--only', 'dns.resolv-conf', '--format', 'junit']);
    expect(junit.stdout).toMatch(/^<\?xml[\s\S]*<testcase classname="ctr-doctor.dns" name="dns.resolv-conf"/);
    for (const args of [
      ['nspawn:no-such-machine'],
      ['pid:999999999'],
      ['schroot:nope'],
      ['chroot:/nonexistent/dir'],
      ['--only', 'no.such-check'],
    ]) {
      const r = await tool(args);
      expect(r.exitCode, args.join(' ')).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
  });
});
