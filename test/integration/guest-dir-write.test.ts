/**
 * dconf.runtime-dir's write test by the user's probe child (issue 14: fewer guest commands): on an
 * overlay of this host and on a genuine Debian 12 root, the `dir-write` probe gives the verdict the
 * old guest command (`mktemp -d` and `rmdir` as the user, through the guest's sh) gave, for a
 * writable directory, a read-only mount, another owner's directory and a missing one; it leaves
 * nothing behind, and a symlink in the guest is followed inside the root, never to the host's path.
 */
import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { describeIntegration } from '../harness/skip.js';
import { createWorld, guestWorlds, type World } from '../harness/world.js';
import { HostContext } from '../../src/host/host-context.js';
import { openTarget } from '../../src/targets/open-target.js';
import { endProbeChildren } from '../../src/guest/probe-client.js';
import runtimeDir from '../../src/checks/dconf/runtime-dir.js';
import type { Target } from '../../src/core/target.js';

/** The write test as it was: a guest command as the user. */
const OLD_WRITE_TEST = 'd=$(mktemp -d "$1/.ctr-doctor-XXXXXX") && rmdir "$d"';
const OPTIONS = { pingTarget: '127.0.0.1', dnsName: 'example.test', timeoutMs: 10_000, compareHost: false };

for (const world of guestWorlds())
  describeIntegration.skipIf(world.skip !== null)(`the runtime directory's write test as the user (${world.name})`, () => {
    let w: World;
    let root: string;
    let target: Target;
    let user: { uid: number; gid: number };
    const dirOf = (guestPath: string): string => join(root, guestPath);

    beforeAll(async () => {
      w = await createWorld(world.options);
      const g = await w.guestRoot('dir-write');
      root = g.root;
      user = { uid: g.user.uid, gid: g.user.gid };
      mkdirSync(dirOf('/run/user'), { recursive: true, mode: 0o755 });
      target = (await openTarget(`chroot:${root}`, { host: new HostContext({ invokingEnv: { XDG_RUNTIME_DIR: '/run/user/1000' } }) }))
        .target;
    }, 600_000);

    afterAll(async () => {
      await endProbeChildren();
      await w.dispose();
    });

    /** The probe's verdict and the old command's, for one guest directory; and what the directory holds after. */
    async function both(guestPath: string): Promise<{ probe: boolean; old: boolean; errno: string | null; left: string[] }> {
      const r = await target.probe('dir-write', { path: guestPath }, { asUser: true, timeoutMs: 10_000 });
      const old = await target.exec(['sh', '-c', OLD_WRITE_TEST, 'sh', guestPath], {
        user: { ...user, groups: [] },
        env: { PATH: '/usr/bin:/bin' },
        timeoutMs: 10_000,
      });
      const left = existsSync(dirOf(guestPath)) ? readdirSync(dirOf(guestPath)).filter((n) => n.startsWith('.ctr-doctor-')) : [];
      return { probe: r.ok, old: old.exitCode === 0, errno: r.ok ? null : r.errno, left };
    }

    function runtime(uid: number, mode: number): string {
      const dir = dirOf('/run/user/1000');
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir, { mode });
      chownSync(dir, uid, uid);
      return '/run/user/1000';
    }

    test('writable: made and removed, as before; and the check passes with no guest command for it', async () => {
      const dir = runtime(user.uid, 0o700);
      expect(await both(dir)).toEqual({ probe: true, old: true, errno: null, left: [] });
      const exec = target.exec.bind(target);
      const commands: string[][] = [];
      target.exec = (argv, opts) => (commands.push(argv), exec(argv, opts));
      try {
        const out = await runtimeDir.run({ target, host: new HostContext({ invokingEnv: {} }), options: OPTIONS });
        expect(out.findings.map((f) => f.code)).toContain('runtime-dir-ok');
        expect(commands).toEqual([]);
      } finally {
        target.exec = exec;
      }
    }, 60_000);

    test("another owner's directory: refused (EACCES), as before", async () => {
      expect(await both(runtime(0, 0o700))).toEqual({ probe: false, old: false, errno: 'EACCES', left: [] });
      const out = await runtimeDir.run({ target, host: new HostContext({ invokingEnv: {} }), options: OPTIONS });
      expect(out.findings.map((f) => f.code)).toEqual(expect.arrayContaining(['runtime-dir-wrong-owner', 'runtime-dir-not-writable']));
    }, 60_000);

    test('a read-only mount: refused (EROFS), as before', async () => {
      const dir = runtime(user.uid, 0o700);
      const host = dirOf(dir);
      execFileSync('mount', ['--bind', host, host]);
      w.cleanup.deferCmd(`umount ${host}`, ['umount', '-l', host], [0, 32]);
      execFileSync('mount', ['-o', 'remount,bind,ro', host]);
      try {
        expect(await both(dir)).toEqual({ probe: false, old: false, errno: 'EROFS', left: [] });
        const out = await runtimeDir.run({ target, host: new HostContext({ invokingEnv: {} }), options: OPTIONS });
        expect(out.findings.map((f) => f.code)).toContain('runtime-dir-not-writable');
      } finally {
        execFileSync('umount', [host]);
      }
    }, 60_000);

    test('missing: the walk says so (the old command failed too)', async () => {
      rmSync(dirOf('/run/user/1000'), { recursive: true, force: true });
      expect(await both('/run/user/1000')).toEqual({ probe: false, old: false, errno: 'ENOENT', left: [] });
    }, 60_000);

    test("a guest symlink to an absolute path is followed inside the root: the host's directory of that name is untouched", async () => {
      const elsewhere = `/tmp/ctd-${w.id}-elsewhere`;
      mkdirSync(dirOf(elsewhere), { recursive: true });
      chownSync(dirOf(elsewhere), user.uid, user.gid);
      rmSync(dirOf('/run/user/1000'), { recursive: true, force: true });
      symlinkSync(elsewhere, dirOf('/run/user/1000'));
      const r = await target.probe('dir-write', { path: '/run/user/1000' }, { asUser: true, timeoutMs: 10_000 });
      expect(r).toEqual({ ok: true, guestPath: elsewhere });
      // Made in the guest's /tmp (and removed), never in this machine's.
      expect(existsSync(elsewhere)).toBe(false);
      expect(readdirSync(dirOf(elsewhere))).toEqual([]);
      rmSync(dirOf('/run/user/1000'));
    }, 60_000);
  });
