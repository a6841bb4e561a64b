/**
 * H5 (security audit), the last window: umount(8) looks the mount point's name up again and, as
 * root, follows a symlink there. A name cannot change while its mount is on it, but a mount a user
 * may remove (FUSE, or an fstab `users` mount) in a directory that user owns can be removed and its
 * name swapped for a symlink to another mount between our id check and umount(8). Such a mount is
 * detached through its own descriptor. Here the user's removal is played by a racing process; run in
 * a private mount namespace over a throwaway tree, with its own /etc/fstab.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { hostOwnMounts } from '../harness/host-own-mounts.js';
import { run } from '../harness/proc.js';
import { describeIntegration } from '../harness/skip.js';
import { CLI_PATH } from '../harness/tool.js';
import { createWorld, type World } from '../harness/world.js';

const DIST = join(CLI_PATH, '../..');

const SCRIPT = `
import { execFileSync, spawn } from 'node:child_process';
import { chownSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { realCommandRunner, runUmountStep } from '${DIST}/src/fixes/command-steps.js';
import { HostContext } from '${DIST}/src/host/host-context.js';
const [T, rounds] = [process.argv[2], Number(process.argv[3])];
const sh = (...argv) => execFileSync(argv[0], argv.slice(1), { stdio: 'pipe' });
const home = T + '/g/home/u', mnt = home + '/mnt', victim = T + '/victim';
mkdirSync(home, { recursive: true });
chownSync(home, 1000, 1000);
mkdirSync(victim);
sh('mount', '-t', 'tmpfs', 'ctd-victim', victim);
// The user's mount, as the host's fstab lets users unmount it.
writeFileSync(T + '/fstab', 'ctd-users ' + mnt + ' tmpfs users,noauto 0 0\\n');
sh('mount', '--bind', T + '/fstab', '/etc/fstab');
const mounted = (p) => readFileSync('/proc/self/mountinfo', 'utf8').split('\\n').some((l) => l.split(' ')[4] === p);
const log = { saveBackup: async () => 'b', begin: async () => 0, finish: async () => undefined };
const runner = realCommandRunner({ exec: async () => ({ exitCode: 0, stdout: '', stderr: '', timedOut: false, notFound: false }) }, T + '/g', async () => [], new HostContext({ invokingEnv: {} }));
// The user: after a while, removes the mount and puts a symlink to the victim in its place.
const SWAP = "const cp=require('node:child_process'),fs=require('node:fs');const [m,v,d]=process.argv.slice(1);setTimeout(()=>{cp.execFileSync('umount',['-l',m]);fs.rmdirSync(m);fs.symlinkSync(v,m);},Number(d));";
const statuses = {};
let hit = null;
for (let i = 0; i < rounds && hit === null; i++) {
  mkdirSync(mnt);
  sh('mount', '-t', 'tmpfs', 'ctd-users', mnt);
  const swapper = spawn(process.execPath, ['-e', SWAP, mnt, victim, String(i % 12)], { stdio: 'ignore' });
  // Listened for at once: a step slower than the swapper's whole life must not miss its exit (and hang the script).
  const swapped = new Promise((r) => swapper.once('exit', r));
  await new Promise((r) => setTimeout(r, 30));
  const out = await runUmountStep({ kind: 'umount', where: 'host', path: mnt, recursive: false, makeRslave: false, lazy: false, description: 'x' }, { fixId: 't', step: 0 }, runner, log);
  statuses[out.status] = (statuses[out.status] ?? 0) + 1;
  await swapped;
  if (!mounted(victim)) { hit = i; sh('mount', '-t', 'tmpfs', 'ctd-victim', victim); }
  if (mounted(mnt)) sh('umount', '-l', mnt);
  sh('rm', '-rf', mnt);
}
console.log(JSON.stringify({ hit, statuses }));
`;

describeIntegration("hostile guest: a user's own mount removed and its name swapped for a symlink mid-unmount (H5)", () => {
  let w: World;
  beforeAll(async () => {
    w = await createWorld();
  });
  afterAll(async () => w?.dispose());

  test("H5: a mount a user may remove, in a directory the user owns, is detached through its descriptor: the symlink's target keeps its mount", async () => {
    const tree = join(w.base, 'umount-vanish');
    mkdirSync(tree);
    const script = join(w.stateDir, 'umount-vanish.mjs');
    writeFileSync(script, SCRIPT);
    const hostBefore = hostOwnMounts();
    const r = await run(['unshare', '-m', '--propagation', 'private', process.execPath, script, tree, '24'], { timeoutMs: 180_000 });
    expect(r.exitCode, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout.trim().split('\\n').pop()!) as { hit: number | null; statuses: Record<string, number> };
    expect(result.hit, JSON.stringify(result.statuses)).toBeNull();
    expect(result.statuses.done ?? 0).toBeGreaterThan(0);
    expect(hostBefore.filter((m) => !hostOwnMounts().includes(m))).toEqual([]);
  });
});
