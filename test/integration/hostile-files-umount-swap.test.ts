/**
 * H5 (security audit): a chroot in a user's directory is swapped, in a tight loop, with a symlink to
 * another tree that has mounts of its own, while `fix` unmounts the chroot's leftover /dev. Unmounts
 * act on the descriptor of the checked mount point, matched to its mountinfo id, so only the
 * chroot's own mounts go. Run in a private mount namespace over a throwaway tree; the host's mounts
 * are compared before and after.
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

/** Runs inside `unshare -m --propagation private`: sets up the tree, races the unmount step N times. */
const SCRIPT = `
import { execFileSync, spawn } from 'node:child_process';
import { chownSync, existsSync, lstatSync, mkdirSync, readFileSync, renameSync, symlinkSync } from 'node:fs';
import { realCommandRunner, runUmountStep } from '${DIST}/src/fixes/command-steps.js';
import { HostContext } from '${DIST}/src/host/host-context.js';
const [T, rounds] = [process.argv[2], Number(process.argv[3])];
const sh = (...argv) => execFileSync(argv[0], argv.slice(1), { stdio: 'pipe' });
const user = T + '/user', deb = user + '/deb';
mkdirSync(deb + '/dev', { recursive: true });
chownSync(user, 1000, 1000);
mkdirSync(T + '/victim/dev', { recursive: true });
sh('mount', '-t', 'tmpfs', 'victim-dev', T + '/victim/dev');
mkdirSync(T + '/victim/dev/pts');
sh('mount', '-t', 'tmpfs', 'victim-pts', T + '/victim/dev/pts');
symlinkSync(T + '/victim', user + '/deb.link');
const outside = () => readFileSync('/proc/self/mountinfo', 'utf8').split('\\n').filter(Boolean)
  .map((l) => l.split(' ')).filter((f) => !f[4].startsWith(user + '/')).map((f) => [f[4], f[6], f.at(-2)].join(' ')).sort().join('\\n');
const before = outside();
const log = { saveBackup: async () => 'b', begin: async () => 0, finish: async () => undefined };
const runner = realCommandRunner({ exec: async () => ({ exitCode: 0, stdout: '', stderr: '', timedOut: false, notFound: false }) }, deb, async () => [], new HostContext({ invokingEnv: {} }));
const SWAP = "const fs=require('node:fs');const [d,r,l]=process.argv.slice(1);for(;;){try{fs.renameSync(d,r);fs.renameSync(l,d);fs.renameSync(d,l);fs.renameSync(r,d);}catch{}}";
const statuses = {};
for (let i = 0; i < rounds; i++) {
  sh('mount', '-t', 'tmpfs', 'guest-dev', deb + '/dev');
  mkdirSync(deb + '/dev/pts');
  sh('mount', '-t', 'tmpfs', 'guest-pts', deb + '/dev/pts');
  const swapper = spawn(process.execPath, ['-e', SWAP, deb, user + '/deb.real', user + '/deb.link'], { stdio: 'ignore' });
  await new Promise((r) => setTimeout(r, 5));
  const out = await runUmountStep({ kind: 'umount', where: 'host', path: deb + '/dev', recursive: true, makeRslave: true, lazy: false, description: 'x' }, { fixId: 't', step: 0 }, runner, log);
  statuses[out.status] = (statuses[out.status] ?? 0) + 1;
  swapper.kill('SIGKILL');
  await new Promise((r) => swapper.once('exit', r));
  const isLink = (p) => { try { return lstatSync(p).isSymbolicLink(); } catch { return false; } };
  if (isLink(deb)) renameSync(deb, user + '/deb.link');
  if (existsSync(user + '/deb.real')) renameSync(user + '/deb.real', deb);
  if (!isLink(user + '/deb.link')) symlinkSync(T + '/victim', user + '/deb.link');
  while (readFileSync('/proc/self/mountinfo', 'utf8').includes(' ' + deb + '/dev ')) sh('umount', '-R', deb + '/dev');
  const now = outside();
  if (now !== before) {
    console.log(JSON.stringify({ leak: true, round: i, statuses, before, now }));
    process.exit(0);
  }
}
console.log(JSON.stringify({ leak: false, statuses }));
`;

describeIntegration('hostile guest: the chroot swapped for a symlink while its mounts are unmounted (H5)', () => {
  let w: World;
  beforeAll(async () => {
    w = await createWorld();
  });
  afterAll(async () => w?.dispose());

  test('only the checked mounts are unmounted; the tree behind the symlink and the host keep theirs', async () => {
    const tree = join(w.base, 'umount-swap');
    mkdirSync(tree);
    const script = join(w.stateDir, 'umount-swap.mjs');
    writeFileSync(script, SCRIPT);
    const hostBefore = hostOwnMounts();
    const r = await run(['unshare', '-m', '--propagation', 'private', process.execPath, script, tree, '25'], { timeoutMs: 120_000 });
    expect(r.exitCode, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout.trim().split('\n').pop()!) as {
      leak: boolean;
      statuses: Record<string, number>;
      now?: string;
      before?: string;
    };
    expect(result.leak, `mounts outside the chroot changed:\n${result.before}\n---\n${result.now}`).toBe(false);
    // Some rounds unmounted the chroot's /dev through its descriptor; the others refused a path that had changed.
    expect(result.statuses.done ?? 0).toBeGreaterThan(0);
    const hostAfter = hostOwnMounts();
    expect(hostBefore.filter((m) => !hostAfter.includes(m))).toEqual([]);
  });
});
