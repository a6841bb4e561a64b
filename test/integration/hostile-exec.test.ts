/**
 * The hostile-guest suite, command side (issue 13): real attacks on how ctr-doctor runs programs
 * for a guest. Each test names in its first line the audit item it covers.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import {
  chmodSync,
  closeSync,
  existsSync,
  openSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startChrootProcess } from '../harness/chroot-guest.js';
import { killSync } from '../harness/cleanup.js';
import { descendantsOf, commOf, run, spawnDaemon, waitFor } from '../harness/proc.js';
import { describeIntegration } from '../harness/skip.js';
import { CLI_PATH, runTool } from '../harness/tool.js';
import { createWorld, guestWorlds, type World } from '../harness/world.js';
import { HostContext } from '../../src/host/host-context.js';
import { openTarget } from '../../src/targets/open-target.js';
import type { GuestTarget } from '../../src/targets/guest-target.js';

/** Programs a planted PATH could offer to the host: every host tool ctr-doctor starts for a guest. */
const PLANTED = ['nsenter', 'chroot', 'setpriv', 'env', 'uname', 'sh', 'cat', 'ping', 'getent', 'timeout', 'dconf', 'mktemp', 'node'];

const statusField = (status: string, field: string): string => new RegExp(`^${field}:\\s*(\\S+)`, 'm').exec(status)?.[1] ?? '';

// The same attacks on overlays of this host and on a genuine Debian 12 root (issue 13: real guests).
for (const world of guestWorlds())
  describeIntegration.skipIf(world.skip !== null)(`hostile guests: the programs ctr-doctor runs (${world.name})`, () => {
    let w: World;
    let root: string;
    let user: { uid: number; gid: number; name: string; home: string };
    let planted: string;
    let evilSo: string;
    let secret: string;
    let confinedPid: number;
    let confined: GuestTarget;

    const ran = (name: string): string => join(w.stateDir, `${name}-ran`);

    /** A guest process in its own mount, UTS, IPC, net and PID namespaces, chrooted, without CAP_SYS_ADMIN and friends. */
    async function startConfined(guestRoot: string): Promise<number> {
      const inside =
        'mount -t proc proc /proc && hostname ctd-guesty && exec /usr/bin/setpriv --bounding-set=-sys_admin,-sys_module,-sys_rawio,-sys_ptrace,-sys_boot -- /bin/sleep 100000';
      const d = spawnDaemon(
        'confined guest',
        [
          'unshare',
          '--mount',
          '--uts',
          '--ipc',
          '--net',
          '--pid',
          '--fork',
          '--kill-child',
          '--propagation',
          'private',
          '--',
          '/usr/sbin/chroot',
          guestRoot,
          '/bin/sh',
          '-c',
          inside,
        ],
        w.cleanup,
      );
      let pid = 0;
      await waitFor(
        "the confined guest's sleep",
        () => {
          pid = descendantsOf(d.pid).find((p) => commOf(p) === 'sleep') ?? 0;
          return pid !== 0;
        },
        { timeoutMs: 5000, intervalMs: 20 },
      );
      // Its PID namespace ends with it; the unshare in front of it is stopped by spawnDaemon's cleanup.
      w.cleanup.defer(`kill confined guest ${pid}`, () => killSync(pid), { sync: () => killSync(pid) });
      return pid;
    }

    /** Processes of the confined guest still running `argv0 arg` (its PID namespace's members, from the host). */
    function leftInGuest(needle: string): number[] {
      const want = readlinkSync(`/proc/${confinedPid}/ns/pid`);
      const out: number[] = [];
      for (const e of readdirSync('/proc')) {
        if (!/^\d+$/.test(e)) continue;
        try {
          if (readlinkSync(`/proc/${e}/ns/pid`) !== want) continue;
          if (readFileSync(`/proc/${e}/cmdline`, 'utf8').split('\0').join(' ').includes(needle)) out.push(Number(e));
        } catch {
          /* gone */
        }
      }
      return out;
    }

    beforeAll(async () => {
      w = await createWorld(world.options);
      const g = await w.guestRoot('hostile-exec');
      root = g.root;
      user = g.user;
      secret = join(w.stateDir, 'host-secret');
      writeFileSync(secret, 'HOST-ONLY\n');

      // A host directory of fake tools, each leaving a trace when run.
      planted = join(w.stateDir, 'planted-bin');
      mkdirSync(planted, { mode: 0o755 });
      for (const name of PLANTED) {
        writeFileSync(join(planted, name), `#!/bin/sh\necho "$0 $*" >> ${ran('planted')}\nexit 0\n`);
        chmodSync(join(planted, name), 0o755);
      }
      // A preload library that leaves a trace in whatever process loads it.
      evilSo = join(w.stateDir, 'evil.so');
      writeFileSync(
        join(w.stateDir, 'evil.c'),
        `#include <stdio.h>\n#include <unistd.h>\n__attribute__((constructor)) static void hit(void) { FILE *f = fopen("${ran('preload')}", "a"); if (f) { fprintf(f, "uid %d\\n", (int)getuid()); fclose(f); } }\n`,
      );
      execFileSync('gcc', ['-shared', '-fPIC', '-o', evilSo, join(w.stateDir, 'evil.c')]);

      // The guest's uname, replaced by its root: it records who ran it and tries the audit's escape.
      const fake = `#!/bin/sh
{ echo "uid=$(id -u)"; grep -E '^(CapEff|CapBnd|NoNewPrivs):' /proc/self/status; echo "pidns=$(readlink /proc/self/ns/pid)"
  mkdir -p /tmp/escape && mount -t proc proc /tmp/escape && echo MOUNTED; cat /tmp/escape/1/root${secret} /proc/1/root${secret}; } > /ctd-uname-ran 2>&1
echo fake-hostname
`;
      for (const p of ['usr/bin/uname', 'bin/uname'])
        if (existsSync(join(root, p))) {
          rmSync(join(root, p));
          writeFileSync(join(root, p), fake, { mode: 0o755 });
        }
      confinedPid = await startConfined(root);
      const opened = await openTarget(`pid:${confinedPid}`, { host: new HostContext({ invokingEnv: {} }) });
      confined = opened.target;
    });
    afterAll(async () => w?.dispose());

    test('C1: a decoy session process with a planted PATH and LD_PRELOAD: no host-side nsenter, chroot or preload runs', async () => {
      const decoy = await startChrootProcess(
        w.net,
        root,
        {
          uid: user.uid,
          gid: user.gid,
          env: {
            DISPLAY: ':0',
            WAYLAND_DISPLAY: 'wayland-0',
            XDG_RUNTIME_DIR: '/tmp',
            PULSE_SERVER: 'x',
            DBUS_SESSION_BUS_ADDRESS: 'x',
            XAUTHORITY: 'x',
            HOME: user.home,
            PATH: `${planted}:/usr/bin:/bin`,
            LD_PRELOAD: evilSo,
          },
        },
        w.cleanup,
      );
      rmSync(ran('planted'), { force: true });
      rmSync(ran('preload'), { force: true });
      const r = await runTool(['check', `chroot:${root}`, '--json', '--timeout', '4000'], { netns: w.net.guestNsPath });
      expect([0, 1, 3]).toContain(r.exitCode);
      // The decoy really was the session: its environment is what the checks looked at.
      expect(JSON.stringify(r.json)).toContain(`process ${decoy.pid}`);
      expect(existsSync(ran('planted')) ? readFileSync(ran('planted'), 'utf8') : '').toBe('');
      expect(existsSync(ran('preload')) ? readFileSync(ran('preload'), 'utf8') : '').toBe('');
      await decoy.stop();
    });

    test("C2: the hostname comes from the host's uname in the guest's UTS namespace; the guest's uname never runs for it", async () => {
      rmSync(join(root, 'ctd-uname-ran'), { force: true });
      expect(await confined.hostname()).toBe('ctd-guesty');
      expect(existsSync(join(root, 'ctd-uname-ran'))).toBe(false);
    });

    test('C2: a guest program run as root is confined like the guest: its PID namespace, its bounding set, no-new-privs, no way out', async () => {
      rmSync(join(root, 'ctd-uname-ran'), { force: true });
      const r = await confined.exec(['uname'], { timeoutMs: 10_000 });
      expect(r.exitCode, r.stderr + (r.spawnError ?? '')).toBe(0);
      expect(r.stdout).toBe('fake-hostname\n');
      const trace = readFileSync(join(root, 'ctd-uname-ran'), 'utf8');
      const guestStatus = readFileSync(`/proc/${confinedPid}/status`, 'utf8');
      expect(trace).toContain('uid=0');
      expect(statusField(trace, 'NoNewPrivs')).toBe('1');
      expect(statusField(trace, 'CapBnd')).toBe(statusField(guestStatus, 'CapBnd'));
      expect(BigInt(`0x${statusField(trace, 'CapEff')}`) & ~BigInt(`0x${statusField(guestStatus, 'CapBnd')}`)).toBe(0n);
      expect(trace).toContain(
        `pidns=${execFileSync('readlink', [`/proc/${confinedPid}/ns/pid`])
          .toString()
          .trim()}`,
      );
      expect(trace).not.toContain('MOUNTED');
      expect(trace).not.toContain('HOST-ONLY');
    });

    test('C2: a command for the desktop user runs as that user, with no capabilities, inside the guest, bounded by its bounding set', async () => {
      const r = await confined.exec(
        [
          'sh',
          '-c',
          'id -u; id -g; grep -E "^(CapEff|NoNewPrivs):" /proc/self/status; pwd; readlink /proc/self/ns/uts; grep CapBnd /proc/self/status',
        ],
        { user: { uid: user.uid, gid: user.gid, groups: [] }, cwd: '/tmp', timeoutMs: 10_000 },
      );
      expect(r.exitCode, r.stderr + (r.spawnError ?? '')).toBe(0);
      const [uid, gid, capEff, nnp, cwd, uts, capBnd] = r.stdout.trim().split('\n');
      // CAP_SYS_ADMIN (bit 21), which the guest does not have, cannot be gained through a guest setuid binary either.
      expect(BigInt(`0x${statusField(capBnd ?? '', 'CapBnd')}`) & (1n << 21n)).toBe(0n);
      expect([uid, gid]).toEqual([String(user.uid), String(user.gid)]);
      expect(capEff).toMatch(/^CapEff:\s+0+$/);
      // Like the user's own programs: file capabilities (ping's cap_net_raw) still work, within the guest's bounding set.
      expect(nnp).toMatch(/^NoNewPrivs:\s+0$/);
      expect(cwd).toBe('/tmp');
      expect(uts).toBe(
        execFileSync('readlink', [`/proc/${confinedPid}/ns/uts`])
          .toString()
          .trim(),
      );
    });

    test("C2/M1: a guest program inherits only stdin, stdout and stderr: no descriptor of ours (the guest root's handle) reaches it", async () => {
      // What the guest's own shell has open, and every extra descriptor tried as a way up to the host's files.
      const script = `ls /proc/$$/fd; for f in /proc/$$/fd/*; do n=\${f##*/}; [ "$n" -gt 2 ] && cat "$f/../../../..${secret}" "$f${secret}" 2>/dev/null; done; true`;
      for (const user of [undefined, { uid: 1000, gid: 1000, groups: [] }]) {
        const r = await confined.exec(['sh', '-c', script], { user, timeoutMs: 10_000 });
        expect(r.exitCode, r.stderr + (r.spawnError ?? '')).toBe(0);
        expect(r.stdout.trim().split('\n'), `as ${user ? 'the user' : 'root'}`).toEqual(['0', '1', '2']);
        expect(r.stdout).not.toContain('HOST-ONLY');
      }
      // The tool started by a parent that left a handle of the host's / open (no close-on-exec) as fd 40
      // (Node marks a few low inherited numbers close-on-exec itself at start-up: fd 5 would prove nothing).
      const child = join(w.stateDir, 'exec-with-fd.mjs');
      const dist = fileURLToPath(new URL('../../dist/src/', import.meta.url));
      writeFileSync(
        child,
        `import { openTarget } from '${dist}targets/open-target.js';
import { HostContext } from '${dist}host/host-context.js';
import { useHostSpawner } from '${dist}host/host-spawner.js';
const { target } = await openTarget('pid:${confinedPid}', { host: new HostContext({ invokingEnv: {} }) });
const r = await target.exec(['sh', '-c', process.argv[2]], { timeoutMs: 10000 });
// check --all's way: the chain is started by the host spawner, with no stage 0 to close anything.
useHostSpawner();
const s = await target.exec(['sh', '-c', process.argv[2]], { timeoutMs: 10000 });
process.stdout.write(JSON.stringify([r, s]));
`,
      );
      const hostRoot = openSync('/', 'r');
      try {
        const out = spawnSync(process.execPath, [child, script], {
          stdio: ['ignore', 'pipe', 'pipe', ...Array<'ignore'>(37).fill('ignore'), hostRoot],
          timeout: 30_000,
        });
        const runs = JSON.parse(out.stdout.toString() || '[]') as { exitCode: number | null; stdout: string }[];
        expect(runs, out.stderr.toString()).toHaveLength(2);
        for (const r of runs) {
          expect(r.exitCode, out.stderr.toString()).toBe(0);
          expect(r.stdout.trim().split('\n')).toEqual(['0', '1', '2']);
          expect(r.stdout).not.toContain('HOST-ONLY');
        }
      } finally {
        closeSync(hostRoot);
      }
    });

    test('M5: a guest grandchild holding stdout cannot hang us, and nothing is left running in the guest', async () => {
      const started = Date.now();
      const r = await confined.exec(['sh', '-c', 'sleep 37 & exit 0'], { timeoutMs: 20_000 });
      expect(Date.now() - started).toBeLessThan(3000);
      expect(r.exitCode).toBeNull();
      expect(r.spawnError).toMatch(/left processes running|kept its output open/);
      await waitFor('no sleep 37 left in the guest', () => leftInGuest('sleep 37').length === 0, { timeoutMs: 2000, intervalMs: 50 });
    });

    test("M5: a timeout kills the command and what it forked inside the guest's PID namespace", async () => {
      const started = Date.now();
      const r = await confined.exec(['sh', '-c', 'sleep 38 & sleep 39'], { timeoutMs: 300 });
      expect(Date.now() - started).toBeLessThan(3000);
      expect(r).toMatchObject({ timedOut: true, exitCode: null });
      await waitFor('no sleep 38/39 left in the guest', () => leftInGuest('sleep 3').length === 0, { timeoutMs: 2000, intervalMs: 50 });
    });

    test('M4/C1: a session environ as big as execve allows is read capped at 256 KiB: what lies past the cap is never seen', async () => {
      // 100 MB cannot be exec'd: the kernel caps argv + environ at min(6 MiB, stack rlimit / 4), and PR_SET_MM_ENV_END
      // needs CAP_SYS_RESOURCE, which this machine's bounding set lacks. 44 variables of 128 KiB (MAX_ARG_STRLEN) make 5.7 MB.
      const vars = [
        'DISPLAY=:0',
        `HOME=${user.home}`,
        ...Array.from({ length: 44 }, (_, i) => `BIG${i}=${'x'.repeat(128 * 1024 - 16)}`),
        'XDG_RUNTIME_DIR=/ctd-past-the-cap',
      ];
      writeFileSync(join(root, 'tmp/ctd-bigenv'), vars.join('\n') + '\n');
      const script = 'mapfile -t V < /tmp/ctd-bigenv; exec /usr/bin/env -i "${V[@]}" /bin/sleep 100000';
      const d = spawnDaemon(
        '5.7 MB environ',
        [
          'prlimit',
          '--stack=1073741824',
          '--',
          'nsenter',
          `--net=${w.net.guestNsPath}`,
          'chroot',
          `--userspec=${user.uid}:${user.gid}`,
          root,
          '/bin/bash',
          '-c',
          script,
        ],
        w.cleanup,
      );
      await waitFor('the sleep with a 5.7 MB environ', () => commOf(d.pid) === 'sleep', { timeoutMs: 20_000, intervalMs: 50 });
      const envBytes = Number((await run(['sh', '-c', `wc -c < /proc/${d.pid}/environ`])).stdout.trim());
      expect(envBytes).toBeGreaterThan(5_000_000);
      // Peak memory and wall time of the whole CLI run, as GNU time reports them.
      const r = await run(
        [
          'nsenter',
          `--net=${w.net.guestNsPath}`,
          '/usr/bin/time',
          '-f',
          'CTD-TIME %M %e',
          process.execPath,
          CLI_PATH,
          'check',
          `chroot:${root}`,
          '--env-from',
          String(d.pid),
          '--only',
          'dconf.runtime-dir',
          '--json',
          '--timeout',
          '3000',
        ],
        { timeoutMs: 60_000 },
      );
      const [, maxRssKb, wallS] = /CTD-TIME (\d+) ([\d.]+)/.exec(r.stderr) ?? [];
      console.log(`[hostile-exec] ${envBytes} B environ: peak RSS ${maxRssKb} KiB, wall ${wallS} s`);
      expect([0, 1, 3], r.stderr).toContain(r.exitCode);
      const report = JSON.parse(r.stdout) as { results: { id: string; findings: { code: string; evidence: Record<string, unknown> }[] }[] };
      const dconf = report.results.find((x) => x.id === 'dconf.runtime-dir')!;
      // The last variable lies past the cap: the session has no XDG_RUNTIME_DIR, and the standard directory is checked.
      expect(dconf.findings.map((f) => f.code)).toContain('runtime-dir-unset');
      expect(JSON.stringify(dconf)).not.toContain('ctd-past-the-cap');
      expect(Number(wallS)).toBeLessThan(15);
      await d.stop();
      rmSync(join(root, 'tmp/ctd-bigenv'), { force: true });
    });
  });
