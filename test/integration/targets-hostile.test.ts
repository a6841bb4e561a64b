/**
 * Guests that try to choose the target, or to swamp the tool: a fake systemd-nspawn (audit H4),
 * a 100 MB environ (audit M4), an schroot whose directory is `/` (audit M7, only ever inside a
 * private mount and PID namespace over an overlay copy of the host), and `fix` with no TARGET.
 */
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startChrootProcess } from '../harness/chroot-guest.js';
import { killSync } from '../harness/cleanup.js';
import { describeIntegration, requireTool } from '../harness/skip.js';
import { commOf, killAndWait, must, run, spawnDaemon, waitFor } from '../harness/proc.js';
import { CLI_PATH, REPO_ROOT, runTool, validateReport } from '../harness/tool.js';
import { createWorld, type World } from '../harness/world.js';
import { parseNspawnArgs } from '../../src/parse/nspawn-args.js';
import type { Report } from '../../src/core/types.js';

describeIntegration('hostile targets: fake nspawn, huge environ, the host as a guest, fix without TARGET', () => {
  let w: World;
  beforeAll(async () => {
    w = await createWorld();
  });
  afterAll(async () => w?.dispose());

  test.skipIf(requireTool('cc') !== null)(
    'H4: a fake systemd-nspawn run by root (not the real binary) with a chrooted child is no machine',
    async () => {
      const g = await w.guestRoot('fake-nspawn');
      const bin = join(w.stateDir, 'fakebin');
      mkdirSync(bin, { recursive: true });
      // A program named systemd-nspawn taking nspawn's arguments: comm and argv are all a comm-based scan looked at.
      writeFileSync(
        join(bin, 'fake.c'),
        [
          '#include <unistd.h>',
          '#include <sys/wait.h>',
          'int main(int argc, char **argv) { pid_t p = fork(); if (p == 0) { if (chroot(argv[4]) != 0) return 1; execl("/bin/sleep", "sleep", "300", (char *)0); return 127; } waitpid(p, 0, 0); return 0; }',
        ].join('\n'),
      );
      await must(['cc', '-o', join(bin, 'systemd-nspawn'), join(bin, 'fake.c')]);
      const fake = spawnDaemon(
        'fake systemd-nspawn',
        ['nsenter', `--net=${w.net.guestNsPath}`, join(bin, 'systemd-nspawn'), '-M', 'fakebox', '-D', g.root, '-b'],
        w.cleanup,
      );
      const childrenOf = (pid: number): number[] =>
        readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
      const child = await waitFor("the fake machine's chrooted child", () => childrenOf(fake.pid).find((k) => commOf(k) === 'sleep'), {
        timeoutMs: 5000,
      });
      // The child outlives its parent and holds the guest root: it is ended by its pid, first.
      w.cleanup.defer(`kill the fake machine's child ${child}`, () => killAndWait(child).catch(() => undefined), {
        sync: () => killSync(child),
      });
      // The decoy is convincing by name and arguments: the old scan by comm and argv took it.
      const argv = readFileSync(`/proc/${fake.pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
      expect(commOf(fake.pid)).toBe('systemd-nspawn');
      expect(parseNspawnArgs(argv.slice(1)).effectiveMachine).toBe('fakebox');

      const list = await runTool(['list', '--json'], { netns: w.net.guestNsPath });
      expect(list.exitCode).toBe(0);
      expect((list.json as { target: string }[]).map((g2) => g2.target)).not.toContain('nspawn:fakebox');
      const opened = await runTool(['nspawn:fakebox', '--json'], { netns: w.net.guestNsPath });
      expect(opened.exitCode).toBe(2);
      expect(opened.stderr).toMatch(/^ctr-doctor: no systemd-nspawn machine named fakebox/);
      await killAndWait(child).catch(() => undefined);
      await killAndWait(fake.pid).catch(() => undefined);
    },
  );

  test.skipIf(requireTool('cc') !== null)(
    'M4: a session process with a 100 MB environ is read capped; the run stays small',
    async () => {
      const g = await w.guestRoot('big-environ');
      // execve allows about 6 MB of argv and environ; PR_SET_MM_MAP points a process's environ at any memory (test/harness/c/big-environ.c).
      const bin = join(w.stateDir, 'big-environ');
      await must(['cc', '-O1', '-o', bin, join(REPO_ROOT, 'test/harness/c/big-environ.c')]);
      const big = spawnDaemon('a process with a 100 MB environ', ['nsenter', `--net=${w.net.guestNsPath}`, bin, g.root], w.cleanup);
      await waitFor(
        'the big environ',
        () =>
          statSync(`/proc/${big.pid}/root`).ino === statSync(g.root).ino &&
          readFileSync(`/proc/${big.pid}/status`, 'utf8').includes('Uid:\t1000')
            ? true
            : undefined,
        { timeoutMs: 30_000, intervalMs: 100 },
      );
      expect(readFileSync(`/proc/${big.pid}/environ`).length).toBe(100 * 1024 * 1024);
      const r = await run(
        [
          'nsenter',
          `--net=${w.net.guestNsPath}`,
          '/usr/bin/time',
          '-f',
          'maxrss=%M',
          process.execPath,
          CLI_PATH,
          `chroot:${g.root}`,
          '--json',
          '--only',
          'session,dconf',
          '--ping-target',
          w.net.webV4,
        ],
        { timeoutMs: 60_000, env: { NO_COLOR: '1', CTR_DOCTOR_STATE_DIR: join(w.stateDir, 'state') } },
      );
      const report = JSON.parse(r.stdout) as Report;
      await validateReport(report);
      expect(
        report.results.every((x) => x.status !== 'error'),
        JSON.stringify(report.results.map((x) => [x.id, x.status, x.summary])),
      ).toBe(true);
      // The session is that process (uid 1000), its environment read no further than 256 KiB: the variable it sets is seen.
      expect(report.target.pid).toBe(big.pid);
      const dconf = report.results.find((x) => x.id === 'dconf.runtime-dir')!;
      expect(JSON.stringify(dconf.findings)).toContain('/run/user/1000');
      const maxRssKb = Number(/maxrss=(\d+)/.exec(r.stderr)?.[1]);
      console.log(`[targets-hostile] 100 MB environ: peak RSS ${Math.round(maxRssKb / 1024)} MB (the CLI and its probe children)`);
      expect(maxRssKb).toBeGreaterThan(0);
      expect(maxRssKb).toBeLessThan(150 * 1024);
      await killAndWait(big.pid).catch(() => undefined);
    },
    90_000,
  );

  test('M7: an schroot with directory=/ is refused, exit 2, also by fix (in a private mount and PID namespace over an overlay copy of the host)', async () => {
    // Never against this machine's real root: the copy is an overlay of / in a mount namespace that dies with the shell.
    const sandbox = join(w.stateDir, 'm7');
    mkdirSync(sandbox, { recursive: true });
    const conf = '[hostroot]\ntype=directory\ndirectory=/\ndescription=the host as a guest\nusers=root\n';
    writeFileSync(join(w.stateDir, 'hostroot.conf'), conf);
    const inner = [
      'set -e',
      'mount --make-rprivate /',
      'mount -t tmpfs ctdm7 "$1"',
      'mkdir "$1/u" "$1/w" "$1/root"',
      'mount -t overlay -o "lowerdir=/,upperdir=$1/u,workdir=$1/w" ctdm7 "$1/root"',
      'mount -t proc proc "$1/root/proc"',
      'mount --rbind /dev "$1/root/dev"',
      'mkdir -p "$1/root/etc/schroot/chroot.d" && cp "$2" "$1/root/etc/schroot/chroot.d/hostroot"',
      'rm -f "$1/root/.dockerenv"',
      'for args in "check schroot:hostroot --json" "fix schroot:hostroot --yes --unsafe"; do',
      '  set +e; chroot "$1/root" /usr/bin/env -i PATH=/usr/bin:/bin NO_COLOR=1 CTR_DOCTOR_STATE_DIR=/tmp/ctd-m7-state "$3" "$4" $args --ping-target 203.0.113.10 2>&1; echo "exit=$?"; set -e',
      'done',
    ].join('\n');
    const r = await run(
      [
        'nsenter',
        `--net=${w.net.guestNsPath}`,
        'unshare',
        '-m',
        '-p',
        '-f',
        '--mount-proc',
        'sh',
        '-c',
        inner,
        'sh',
        sandbox,
        join(w.stateDir, 'hostroot.conf'),
        process.execPath,
        CLI_PATH,
      ],
      { timeoutMs: 60_000 },
    );
    const lines = r.stdout.trim().split('\n');
    expect(lines, r.stdout + r.stderr).toEqual([
      "ctr-doctor: the root of hostroot (/) is the host's own /, not a guest (ctr-doctor refuses to diagnose or fix the host as a guest; use `self` to check the environment ctr-doctor runs in)",
      'exit=2',
      "ctr-doctor: the root of hostroot (/) is the host's own /, not a guest (ctr-doctor refuses to diagnose or fix the host as a guest; use `self` to check the environment ctr-doctor runs in)",
      'exit=2',
    ]);
  });

  test('fix never picks a target by itself: no TARGET is exit 2 with the candidates listed', async () => {
    const g = await w.guestRoot('fix-candidates');
    await startChrootProcess(w.net, g.root, { uid: 1000 }, w.cleanup);
    const r = await runTool(['fix', '--yes'], { netns: w.net.guestNsPath });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/^ctr-doctor: fix needs a TARGET: it never picks one by itself/);
    expect(r.stderr).toContain(`chroot:${g.root}`);
    expect(r.stdout).toBe('');
  });

  test('M1: a pinned target process that is gone is a one-line error, exit 2', async () => {
    const g = await w.guestRoot('pinned');
    const p = await startChrootProcess(w.net, g.root, { uid: 1000 }, w.cleanup);
    const { ProcessPin } = await import('../../src/targets/process-pin.js');
    const pin = ProcessPin.take(p.pid)!;
    expect(pin.problem()).toBeNull();
    await p.stop();
    expect(pin.problem()).toBe(`process ${p.pid} has exited`);
    expect(() => pin.verify(`chroot:${g.root}`)).toThrow(
      new RegExp(`^chroot:${g.root.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} changed under ctr-doctor: process ${p.pid} has exited$`),
    );
    pin.release();
    await must(['true']);
  });
});
