/**
 * The system-plumbing checks on a booted systemd-nspawn machine (its own /dev, /dev/pts,
 * /dev/shm, hostname and PID 1) and on guests in user namespaces: a booted guest with a failing
 * unit, fixed by masking it; a healthy booted guest on which every system check passes; a guest
 * whose user namespace maps only root, and one that maps every id the guest uses.
 */
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { bootNspawn, type NspawnGuest } from '../harness/nspawn-guest.js';
import { commOf, rootOf, spawnDaemon, waitFor } from '../harness/proc.js';
import { describeIntegration } from '../harness/skip.js';
import { runTool, validateReport } from '../harness/tool.js';
import { createWorld, type World } from '../harness/world.js';
import type { CheckResult, Report } from '../../src/core/types.js';

const SYSTEM_CHECKS = 'fs.api,dev.pts,dev.shm,dbus.machine-id,hosts.hostname,locale.lang,nss.hosts,nspawn.boot,userns.idmap';

describeIntegration('system checks on booted nspawn guests and in user namespaces', () => {
  let w: World;
  let broken: NspawnGuest;
  let healthy: NspawnGuest;
  const tool = (args: string[]) => runTool([...args, '--timeout', '5000'], { netns: w.net.offNsPath, timeoutMs: 120_000 });
  async function check(spec: string, ids: string): Promise<{ report: Report; by: (id: string) => CheckResult }> {
    const r = await tool(['check', spec, '--only', ids, '--user', '1000', '--json']);
    await validateReport(r.json);
    const report = r.json as Report;
    return {
      report,
      by: (id) =>
        report.results.find((x) => x.id === id) ??
        (() => {
          throw new Error(`no ${id}: ${r.stderr}`);
        })(),
    };
  }
  const codes = (r: CheckResult) => r.findings.map((f) => f.code);

  beforeAll(async () => {
    w = await createWorld();
    // A unit that fails at every boot, enabled the way `systemctl enable` would.
    const b = await w.guestRoot('boot-broken');
    writeFileSync(
      join(b.root, 'etc/systemd/system/ctrtest-fail.service'),
      '[Unit]\nDescription=ctr-doctor test: fails at boot\n[Service]\nType=oneshot\nExecStart=/bin/sh -c "echo ctrtest: giving up >&2; exit 3"\n[Install]\nWantedBy=multi-user.target\n',
    );
    mkdirSync(join(b.root, 'etc/systemd/system/multi-user.target.wants'), { recursive: true });
    symlinkSync(
      '/etc/systemd/system/ctrtest-fail.service',
      join(b.root, 'etc/systemd/system/multi-user.target.wants/ctrtest-fail.service'),
    );
    const h = await w.guestRoot('boot-healthy');
    [broken, healthy] = await Promise.all([
      bootNspawn(w.net, b.root, w.name('sb'), w.cleanup, { bootTimeoutMs: 60_000 }),
      bootNspawn(w.net, h.root, w.name('sh'), w.cleanup, { bootTimeoutMs: 60_000 }),
    ]);
  }, 180_000);
  afterAll(async () => w?.dispose());

  test('a booted guest with a failing unit is degraded: the unit, its exit status and its last log line are named; --unsafe masks it, then running', async () => {
    expect(broken.state).toBe('degraded');
    const before = (await check(`nspawn:${broken.machine}`, 'nspawn.boot')).by('nspawn.boot');
    expect(before.status).toBe('warn');
    expect(codes(before)).toEqual(['boot-degraded']);
    expect(before.summary).toContain('"degraded"');
    expect(before.summary).toContain('ctrtest-fail.service (exit-code, status 3)');
    expect(before.summary).toContain('ctrtest-fail.service logged "ctrtest: giving up"');
    const mask = before.fixes.find((f) => f.id === 'nspawn.mask-failed-units');
    expect(mask?.safety).toBe('unsafe');
    const safeOnly = await tool(['fix', `nspawn:${broken.machine}`, '--only', 'nspawn.boot', '--yes', '--json']);
    expect((await broken.exec(['systemctl', 'is-system-running'])).stdout.trim(), safeOnly.stderr).toBe('degraded');
    const fixed = await tool(['fix', `nspawn:${broken.machine}`, '--only', 'nspawn.boot', '--yes', '--unsafe', '--json']);
    expect(fixed.exitCode, fixed.stderr + fixed.stdout).toBe(0);
    expect((await broken.exec(['systemctl', 'is-enabled', 'ctrtest-fail.service'])).stdout.trim()).toBe('masked');
    expect((await broken.exec(['systemctl', 'is-system-running'])).stdout.trim()).toBe('running');
    expect((await check(`nspawn:${broken.machine}`, 'nspawn.boot')).by('nspawn.boot').status).toBe('pass');
  });

  test('a healthy booted guest passes every system check (nspawn provides /dev, /dev/pts and /dev/shm)', async () => {
    expect(healthy.state).toBe('running');
    const { report, by } = await check(`nspawn:${healthy.machine}`, SYSTEM_CHECKS);
    for (const r of report.results) expect(r.status, `${r.id}: ${r.summary}`).toBe('pass');
    expect(by('dev.pts').summary).toMatch(/opened \/dev\/pts\/\d+/);
    expect(by('dev.shm').summary).toContain('1777 tmpfs');
    expect(codes(by('userns.idmap'))).toEqual(['userns-none']);
  });

  test('a booted guest renamed to a name its /etc/hosts lacks: hosts.hostname warns with the nspawn advice; fix --yes adds the line', async () => {
    // In the guest's own UTS namespace: the host's name is untouched.
    expect((await broken.exec(['hostname', 'ctrtest-renamed'])).exitCode).toBe(0);
    const r = (await check(`nspawn:${broken.machine}`, 'hosts.hostname')).by('hosts.hostname');
    expect(r.status).toBe('warn');
    expect(codes(r)).toEqual(['hostname-unresolvable']);
    expect(r.summary).toContain('sudo: unable to resolve host ctrtest-renamed');
    expect(r.fixes.map((f) => f.id).sort()).toEqual(['hosts.add-lines', 'hosts.nspawn-hostname']);
    const fixed = await tool(['fix', `nspawn:${broken.machine}`, '--only', 'hosts.hostname', '--yes', '--json']);
    expect(fixed.exitCode, fixed.stderr).toBe(0);
    const inGuest = await broken.exec(['getent', 'hosts', 'ctrtest-renamed']);
    expect(
      inGuest.stdout,
      `${JSON.stringify((fixed.json as { plan: unknown }).plan)} ${JSON.stringify((fixed.json as { before: Report }).before.results.map((x) => [x.id, x.status, x.summary]))} ${(await broken.exec(['cat', '/etc/hosts'])).stdout}`,
    ).toContain('127.0.1.1');
    expect((await check(`nspawn:${broken.machine}`, 'hosts.hostname')).by('hosts.hostname').status).toBe('pass');
  });

  /** A process chrooted into a fresh guest inside a new user namespace whose maps the test writes. */
  async function inUserns(name: string, uidMap: string, gidMap: string): Promise<number> {
    const g = await w.guestRoot(name);
    const d = spawnDaemon(
      `userns guest ${name}`,
      [
        'nsenter',
        `--net=${w.net.guestNsPath}`,
        'unshare',
        '--user',
        '--mount',
        'sh',
        '-c',
        'while [ -z "$(cat /proc/self/uid_map)" ]; do sleep 0.05; done; exec chroot "$0" /usr/bin/env -i PATH=/usr/bin:/bin sleep 100000',
        g.root,
      ],
      w.cleanup,
    );
    await waitFor('the user namespace', () => readFileSync(`/proc/${d.pid}/uid_map`, 'utf8') === '' || undefined, {
      timeoutMs: 5000,
      intervalMs: 20,
    }).catch(() => undefined);
    writeFileSync(`/proc/${d.pid}/uid_map`, uidMap);
    writeFileSync(`/proc/${d.pid}/gid_map`, gidMap);
    await waitFor('the chrooted sleep', () => commOf(d.pid) === 'sleep' && rootOf(d.pid) !== '/', { timeoutMs: 5000, intervalMs: 20 });
    return d.pid;
  }

  test('a guest in a user namespace that maps only root: the desktop user and its home show as nobody', async () => {
    const pid = await inUserns('userns-root-only', '0 0 1\n', '0 0 1\n');
    const r = (await check(`pid:${pid}`, 'userns.idmap')).by('userns.idmap');
    expect(r.status).toBe('fail');
    expect(codes(r)).toEqual(expect.arrayContaining(['user-unmapped', 'path-unmapped']));
    expect(r.summary).toContain("has no id in the session's user namespace (uid_map 0 0 1)");
    const home = r.findings.find((f) => f.code === 'path-unmapped');
    expect(home?.message).toMatch(/shows as 65534:\d+ \(nobody:nogroup\)/);
    expect(r.fixes.map((f) => f.id)).toEqual(['userns.map-user']);
  });

  test('a guest in a user namespace that maps every id it uses passes', async () => {
    const pid = await inUserns('userns-mapped', '0 0 65536\n', '0 0 65536\n');
    const r = (await check(`pid:${pid}`, 'userns.idmap')).by('userns.idmap');
    expect(r.status, r.summary).toBe('pass');
    expect(codes(r)).toEqual(['userns-mapped']);
  });
});
