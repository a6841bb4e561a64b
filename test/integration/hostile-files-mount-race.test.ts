/**
 * C3 (security audit): the desktop user (uid 1000), from outside the chroot, swaps the pulse mount
 * point for a symlink to a root-owned directory in a tight loop while the engine applies
 * mounts.private-run. Mount points stay root-owned until the last bind and every mount is made
 * on the descriptor of the checked directory, so the bind lands in the guest or nowhere, never on
 * the symlink's target. Run in a private mount namespace over a throwaway tree.
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
import { mkdirSync, readFileSync, statSync } from 'node:fs';
import { applyFix } from '${DIST}/src/fixes/engine.js';
import { realCommandRunner } from '${DIST}/src/fixes/command-steps.js';
import { HostContext } from '${DIST}/src/host/host-context.js';
import { privateRunLiveFix } from '${DIST}/src/fixes/plans/mount-plans.js';
const [T, rounds] = [process.argv[2], Number(process.argv[3])];
const sh = (...argv) => execFileSync(argv[0], argv.slice(1), { stdio: 'pipe' });
const mounts = () => readFileSync('/proc/self/mountinfo', 'utf8').split('\\n').filter(Boolean).map((l) => l.split(' ')[4]);
// The host side: the user's pulse directory (on a tmpfs private to this namespace).
sh('mount', '-t', 'tmpfs', '-o', 'mode=755', 'host-run-user', '/run/user');
mkdirSync('/run/user/1000/pulse', { recursive: true });
sh('chown', '-R', '1000:1000', '/run/user/1000');
const victim = T + '/victim';
mkdirSync(victim, { recursive: true });
// As soon as the pulse mount point appears as a directory: move it away, put a symlink in its place.
const ATTACK = "const fs=require('node:fs');const [d,v]=process.argv.slice(1);for(;;){try{if(fs.lstatSync(d+'/pulse').isDirectory()){fs.renameSync(d+'/pulse',d+'/p'+Math.random());fs.symlinkSync(v,d+'/pulse');}}catch{}}";
const results = [];
for (let i = 0; i < rounds; i++) {
  const G = T + '/g' + i;
  mkdirSync(G + '/run/user', { recursive: true });
  // Stands for the host's /run/user bound into the guest: the fix unmounts it first.
  sh('mount', '-t', 'tmpfs', 'stand-in', G + '/run/user');
  const unit = { path: G + '/run/user', recursive: false, shared: false, members: [] };
  const r = { uid: 1000, gid: 1000, binds: ['/run/user/1000/pulse'] };
  const fix = privateRunLiveFix.length === 5 ? privateRunLiveFix(G, '/run/user', unit, r, 'safe') : privateRunLiveFix('/run/user', unit, r, 'safe');
  const log = { saveBackup: async () => 'b', begin: async () => 0, finish: async () => undefined };
  const runner = realCommandRunner({ exec: async () => ({ exitCode: 1, stdout: '', stderr: '', timedOut: false, notFound: false }) }, G, async () => [], new HostContext({ invokingEnv: {} }));
  const apply = (steps) => applyFix({ fixId: fix.id, title: fix.title, safety: 'safe', checkIds: [], action: 'apply', steps }, { fileRoot: G, log, runner });
  // The stand-in goes first (a process looking into it would keep it busy); then the race.
  const [unmount, ...rest] = fix.steps;
  const first = await apply([unmount]);
  // The user watches the guest's runtime dir from outside the chroot, as in the audit.
  const attacker = spawn(process.execPath, ['-e', ATTACK, G + '/run/user/1000', victim], { stdio: 'ignore', uid: 1000, gid: 1000 });
  const steps = [...first, ...await apply(rest)];
  attacker.kill('SIGKILL');
  await new Promise((res) => attacker.once('exit', res));
  const m = mounts();
  results.push({
    statuses: steps.map((s) => s.status).join(','),
    failed: steps.filter((s) => s.status === 'failed').map((s) => s.message).join('; '),
    onVictim: m.includes(victim),
    inGuest: m.includes(G + '/run/user/1000/pulse'),
    owner: (() => { try { return statSync(G + '/run/user/1000').uid; } catch { return null; } })(),
  });
  for (const p of [victim, G + '/run/user/1000/pulse', G + '/run/user/1000', G + '/run/user']) while (mounts().includes(p)) sh('umount', p);
}
console.log(JSON.stringify(results));
`;

describeIntegration('hostile guest: a symlink raced in during the private-/run mount fix (C3)', () => {
  let w: World;
  beforeAll(async () => {
    w = await createWorld();
  });
  afterAll(async () => w?.dispose());

  test('the bind lands on the guest directory, never on the target of a swapped-in symlink', async () => {
    const tree = join(w.base, 'mount-race');
    mkdirSync(tree);
    const script = join(w.stateDir, 'mount-race.mjs');
    writeFileSync(script, SCRIPT);
    const hostBefore = hostOwnMounts();
    const r = await run(['unshare', '-m', '--propagation', 'private', process.execPath, script, tree, '30'], { timeoutMs: 120_000 });
    expect(r.exitCode, r.stderr).toBe(0);
    const results = JSON.parse(r.stdout.trim().split('\n').pop()!) as {
      statuses: string;
      onVictim: boolean;
      inGuest: boolean;
      owner: number;
    }[];
    expect(
      results.filter((x) => x.onVictim),
      JSON.stringify(results),
    ).toEqual([]);
    // The user could not touch the mount point, so every round completed, and the user got the dir only at the end.
    for (const x of results) {
      expect(x.inGuest, JSON.stringify(x)).toBe(true);
      expect(x.owner).toBe(1000);
    }
    const hostAfter = hostOwnMounts();
    expect(hostBefore.filter((m) => !hostAfter.includes(m))).toEqual([]);
  });
});
