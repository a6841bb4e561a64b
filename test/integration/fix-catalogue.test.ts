/**
 * Every automatic fix in the catalogue on a real guest: the check fails, `fix --yes`
 * applies the plan, and the same check passes afterwards. The guests are whole-root
 * overlays (a running chroot in the world's guest namespace, or left-behind chroot
 * mounts); the host's own mounts and files are compared before and after.
 */
import { chmodSync, chownSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { Report } from '../../src/core/types.js';
import type { FixRunResult } from '../../src/fixes/fix-result.js';
import { mountChrootApi, startChrootProcess } from '../harness/chroot-guest.js';
import { must } from '../harness/proc.js';
import { guestPath, umountTree } from '../harness/rootfs.js';
import { describeIntegration } from '../harness/skip.js';
import { REPO_ROOT, runTool, validateReport } from '../harness/tool.js';
import { filesFingerprint } from '../harness/tree-hash.js';
import { createWorld, type World } from '../harness/world.js';

const status = (r: Report | null, id: string) => r?.results.find((x) => x.id === id)?.status;
const hostMountsUnder = (dir: string): string[] =>
  readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split(' ')[4]!)
    .filter((p) => p === dir || p.startsWith(`${dir}/`))
    .sort();

describeIntegration('fix: every automatic fix turns its check from fail to pass', () => {
  let w: World;
  let env: Record<string, string>;
  const fix = async (
    args: string[],
    hostFiles?: Record<string, string>,
  ): Promise<{ exitCode: number; out: FixRunResult; stderr: string }> => {
    const r = await runTool(['fix', ...args, '--yes', '--json'], { netns: w.net.guestNsPath, env, ...(hostFiles ? { hostFiles } : {}) });
    const out = r.json as FixRunResult;
    expect(out, r.stderr).toBeDefined();
    await validateReport(out.before);
    if (out.after) await validateReport(out.after);
    return { exitCode: r.exitCode, out, stderr: r.stderr };
  };

  beforeAll(async () => {
    w = await createWorld({ dns: true });
    env = { CTR_DOCTOR_STATE_DIR: join(w.stateDir, 'journal') };
  });
  afterAll(async () => w?.dispose());

  /** A running chroot: uid 1000's desktop session chrooted into an overlay, in the world's guest namespace. */
  async function runningGuest(name: string): Promise<string> {
    const g = await w.guestRoot(name, { resolvConf: '' });
    rmSync(guestPath(g.root, '/run/user'), { recursive: true, force: true });
    await startChrootProcess(
      w.net,
      g.root,
      {
        uid: 1000,
        gid: g.user.gid,
        env: { PATH: '/usr/bin:/bin', HOME: g.user.home, XDG_RUNTIME_DIR: '/run/user/1000', XDG_SESSION_TYPE: 'x11' },
      },
      w.cleanup,
    );
    return g.root;
  }

  test('dns.write-resolv-conf and dconf.make-runtime-dir on a running chroot (the Loki and dconf cases)', async () => {
    const root = await runningGuest('running');
    const hostBefore = filesFingerprint(['/etc/resolv.conf', '/run/user']);
    // The host's nameserver answers from the guest's namespace (the world's DNS): the write is verified, so safe.
    const { exitCode, out, stderr } = await fix(
      [`chroot:${root}`, '--only', 'dns.resolv-conf,dconf.runtime-dir', '--user', '1000', '--dns-name', 'example.test'],
      { '/etc/resolv.conf': `nameserver ${w.net.dnsV4}\n` },
    );
    expect(exitCode, stderr).toBe(0);
    expect(status(out.before, 'dns.resolv-conf')).toBe('fail');
    expect(status(out.before, 'dconf.runtime-dir')).toBe('fail');
    expect(out.applied.map((a) => [a.fixId, a.status]).sort()).toEqual([
      ['dconf.make-runtime-dir', 'fixed'],
      ['dns.write-resolv-conf', 'fixed'],
    ]);
    expect(status(out.after, 'dns.resolv-conf')).toBe('pass');
    expect(status(out.after, 'dconf.runtime-dir')).toBe('pass');
    expect(readFileSync(guestPath(root, '/etc/resolv.conf'), 'utf8')).toMatch(/^nameserver 203\.0\.113\.53$/m);
    expect(filesFingerprint(['/etc/resolv.conf', '/run/user'])).toEqual(hostBefore);
  });

  test('dns.write-resolv-conf with a host nameserver the guest cannot reach: shown as manual, never written', async () => {
    const root = await runningGuest('unverified');
    const { out } = await fix([`chroot:${root}`, '--only', 'dns.resolv-conf', '--dns-name', 'example.test'], {
      '/etc/resolv.conf': 'nameserver 192.0.2.199\n',
    });
    const planned = out.plan.find((p) => p.fixId === 'dns.write-resolv-conf');
    expect(planned?.action, JSON.stringify(out.plan)).toBe('manual');
    expect(JSON.stringify(planned)).toContain("asked example.test from the guest's network namespace and got 192.0.2.199: timeout");
    expect(out.applied.map((a) => a.fixId)).not.toContain('dns.write-resolv-conf');
    expect(readFileSync(guestPath(root, '/etc/resolv.conf'), 'utf8')).toBe('');
  });

  test("dconf.make-runtime-dir sets the mode of a 0755 runtime dir; the chown of the guest's own root-owned dir is safe, of the host's through a shared /run unsafe", async () => {
    const root = await runningGuest('dconf-modes');
    const dir = guestPath(root, '/run/user/1000');
    mkdirSync(dir, { recursive: true });
    chownSync(dir, 1000, 1000);
    chmodSync(dir, 0o755);
    const mode = await fix([`chroot:${root}`, '--only', 'dconf.runtime-dir', '--user', '1000']);
    expect(mode.exitCode, mode.stderr).toBe(0);
    expect(mode.out.applied).toMatchObject([{ fixId: 'dconf.make-runtime-dir', status: 'fixed' }]);

    // H2: the guest's own directory (no host mount), root's, in a root-owned /run/user: safe.
    chownSync(dir, 0, 0);
    const own = await fix([`chroot:${root}`, '--only', 'dconf.runtime-dir', '--user', '1000']);
    expect(own.exitCode, own.stderr).toBe(0);
    expect(own.out.applied).toMatchObject([{ fixId: 'dconf.chown-runtime-dir', status: 'fixed' }]);

    // The same directory on a bind of a host directory (standing in for a shared /run): unsafe, needs --unsafe.
    const hostRunUser = join(w.stateDir, 'host-run-user');
    mkdirSync(join(hostRunUser, '1000'), { recursive: true });
    chownSync(join(hostRunUser, '1000'), 0, 0);
    chmodSync(join(hostRunUser, '1000'), 0o700);
    await must(['mount', '--bind', hostRunUser, guestPath(root, '/run/user')]);
    w.cleanup.defer(`umount ${guestPath(root, '/run/user')}`, () => umountTree(guestPath(root, '/run/user')));
    const refused = await fix([`chroot:${root}`, '--only', 'dconf.runtime-dir', '--user', '1000']);
    expect(refused.exitCode).toBe(1);
    expect(refused.out.plan.find((p) => p.fixId === 'dconf.chown-runtime-dir')?.action).toBe('needs-unsafe');
    expect(refused.out.applied).toEqual([]);
    const unsafe = await fix([`chroot:${root}`, '--only', 'dconf.runtime-dir', '--user', '1000', '--unsafe']);
    expect(unsafe.exitCode, unsafe.stderr).toBe(0);
    expect(unsafe.out.applied).toMatchObject([{ fixId: 'dconf.chown-runtime-dir', status: 'fixed' }]);
    await umountTree(guestPath(root, '/run/user'));
  });

  test('mounts.unmount-leftovers: proc, sys and dev left under a chroot are unmounted (rslave first); the host keeps its own', async () => {
    const g = await w.guestRoot('leftover');
    await mountChrootApi(g.root, w.cleanup);
    const host = { sys: hostMountsUnder('/sys'), dev: hostMountsUnder('/dev'), proc: hostMountsUnder('/proc') };
    const { exitCode, out, stderr } = await fix([`chroot:${g.root}`, '--only', 'mounts.leftover']);
    expect(exitCode, stderr).toBe(0);
    expect(['fail', 'warn']).toContain(status(out.before, 'mounts.leftover'));
    expect(out.applied).toMatchObject([{ fixId: 'mounts.unmount-leftovers', status: 'fixed' }]);
    expect(out.applied[0]!.steps.every((s) => s.status === 'done')).toBe(true);
    expect(hostMountsUnder(g.root)).toEqual([g.root]);
    expect({ sys: hostMountsUnder('/sys'), dev: hostMountsUnder('/dev'), proc: hostMountsUnder('/proc') }).toEqual(host);
    const again = await runTool(['fix', `chroot:${g.root}`, '--only', 'mounts.leftover', '--yes'], { netns: w.net.guestNsPath, env });
    expect(again.stdout).toMatch(/Nothing to do/);
  });

  test("mounts.private-run: the host's /run rbind is replaced by a private tmpfs; the host's /run is untouched", async () => {
    const g = await w.guestRoot('host-run');
    await mountChrootApi(g.root, w.cleanup, { run: true });
    const hostRun = hostMountsUnder('/run');
    const r = await runTool(['fix', `chroot:${g.root}`, '--only', 'mounts.host-run', '--user', '1000', '--yes', '--unsafe', '--json'], {
      netns: w.net.guestNsPath,
      env,
    });
    const out = r.json as FixRunResult;
    expect(status(out.before, 'mounts.host-run'), r.stderr).toBe('fail');
    const applied = out.applied.find((a) => a.fixId === 'mounts.private-run');
    expect(applied, JSON.stringify(out.plan.map((p) => [p.fixId, p.action]))).toBeDefined();
    expect(applied!.status, JSON.stringify(applied!.steps)).toBe('fixed');
    expect(r.exitCode).toBe(0);
    expect(status(out.after, 'mounts.host-run')).toBe('pass');
    expect(hostMountsUnder('/run').filter((p) => !p.startsWith('/run/netns'))).toEqual(hostRun.filter((p) => !p.startsWith('/run/netns')));
  });

  test("the dns.stub symlink step (link /etc/resolv.conf to resolved's list), through a plugin check", async () => {
    const root = await runningGuest('stub-link');
    const plugin = join(w.stateDir, 'stub-link-plugin.mjs');
    writeFileSync(
      plugin,
      `
import { enableGuestResolvedFix } from ${JSON.stringify(join(REPO_ROOT, 'dist/src/fixes/plans/dns-stub-plans.js'))};
const fix = enableGuestResolvedFix({ booted: false, resolvedInstalled: true });
const link = fix.steps.find((s) => s.kind === 'symlink');
export const checks = [{
  id: 'fixtest.resolved-link', group: 'fixtest', title: 'resolv.conf links to resolved (test)', description: 'test plugin',
  findings: { 'not-linked': { severity: 'fail', description: 'not linked' } },
  fixDocs: { [fix.id]: fix.title },
  appliesTo: () => true,
  async run(ctx) {
    if ((await ctx.target.readlink('/etc/resolv.conf')) === link.target) return { status: 'pass', summary: 'linked', findings: [], fixes: [] };
    return { status: 'fail', summary: 'not linked', findings: [{ code: 'not-linked', severity: 'fail', message: 'not linked', evidence: {} }],
      fixes: [{ id: fix.id, title: fix.title, safety: 'safe', steps: [link] }] };
  },
}];
`,
    );
    const { exitCode, out, stderr } = await fix([`chroot:${root}`, '--plugin', plugin, '--only', 'fixtest.resolved-link']);
    expect(exitCode, stderr).toBe(0);
    expect(out.applied).toMatchObject([{ fixId: 'dns.enable-guest-resolved', status: 'fixed' }]);
    expect(status(out.after, 'fixtest.resolved-link')).toBe('pass');
    const undo = await runTool(['undo', `chroot:${root}`], { netns: w.net.guestNsPath, env });
    expect(undo.exitCode, undo.stdout).toBe(0);
    expect(readFileSync(guestPath(root, '/etc/resolv.conf'), 'utf8')).toBe('');
  });
});
