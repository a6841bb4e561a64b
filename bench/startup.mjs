#!/usr/bin/env node
// Start-up figures: `ctr-doctor --version` against `node -e 0` (target: at most 1.5×), and,
// as root, the wall time of a full check of a healthy desktop guest in an isolated world
// (netns + dnsmasq + whole-root overlay chroot with the user's session, Xvfb and pulseaudio
// inside; every check passes or does not apply; target: at most 0.5 s).
// Usage: npm run build && node bench/startup.mjs [--runs N] [--json] [--baseline PATH] [--isolated] | [--world]
// --baseline PATH: another build's bin (a dist/bundle/ctr-doctor.js inside a tree with node_modules:
//   the probe child loads the `x11` package at run time), its full check run in turn with ours.
// --isolated: everything in a PID and mount namespace of its own, so that the processes of other
//   work on a shared machine (another benchmark's 10,000) are not scanned by the checks.
// The full check's phases (NODE_DEBUG=ctr-doctor) are medians too: what stands between it and
// `node -e 0` plus 100 ms.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { dnsmasqArgv } from './lib/dnsmasq.mjs';

const CLI = new URL('../dist/bundle/ctr-doctor.js', import.meta.url).pathname;
const argv = process.argv.slice(2);
const RUNS = Number(argv[argv.indexOf('--runs') + 1]) || 15;
const asJson = argv.includes('--json');
const baseline = argv.includes('--baseline') ? argv[argv.indexOf('--baseline') + 1] : null;

if (argv.includes('--isolated') && process.env.CTD_BENCH_ISOLATED === undefined) {
  const rest = argv.filter((a) => a !== '--isolated');
  const r = spawnSync('unshare', ['-p', '-f', '-m', '--mount-proc', process.execPath, new URL(import.meta.url).pathname, ...rest], {
    stdio: 'inherit',
    env: { ...process.env, CTD_BENCH_ISOLATED: '1' },
  });
  process.exit(r.status ?? 1);
}

/** Median wall time in ms of running argv `runs` times (after one warm-up run). */
function median(cmd, args, runs, opts = {}) {
  const times = [];
  for (let i = 0; i <= runs; i++) {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    if (r.error) throw r.error;
    if (i > 0) times.push(ms);
    opts.check?.(r);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

const sh = (cmd, ...args) => execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] }).toString();
const quiet = (cmd, ...args) => spawnSync(cmd, args, { stdio: 'ignore' });

/** Runs `argv` detached; its PID goes to `undo` so the teardown kills exactly what was started. */
function daemon(undo, argv, env = { PATH: '/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin' }) {
  const child = spawn(argv[0], argv.slice(1), { stdio: 'ignore', env });
  // Killed and waited for: a daemon still exiting keeps the guest's mounts busy for the unmount after it.
  undo.push(() => {
    child.kill('SIGKILL');
    waitGone(child.pid);
  });
  return child;
}

/** Blocks (teardown is synchronous) until `pid` has exited: gone, or a zombie that holds nothing. */
function waitGone(pid, limitMs = 3000) {
  const nap = new Int32Array(new SharedArrayBuffer(4));
  for (let waited = 0; pid !== undefined && waited < limitMs; waited += 10) {
    let state;
    try {
      state = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '')[0];
    } catch {
      return;
    }
    if (state === 'Z' || state === 'X') return;
    Atomics.wait(nap, 0, 0, 10);
  }
}

async function waitUntil(what, test) {
  for (let i = 0; i < 200; i++) {
    if (test()) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/**
 * A healthy desktop guest like test/harness builds: a whole-root overlay chroot in its own netns
 * (veth to an "internet" netns with dnsmasq, documentation addresses only), with the desktop
 * user's session process, Xvfb and pulseaudio running inside it, /run/user/UID in place and a
 * matching Xauthority cookie, so that every check has real work to do and passes.
 * Returns the guest root, its netns path and a teardown.
 */
async function healthyWorld() {
  const id = randomBytes(3).toString('hex');
  const base = `/tmp/ctdbench-${id}`;
  const [inet, guest] = [`ctdb-${id}-inet`, `ctdb-${id}-guest`];
  const user = { name: 'ctdbench', uid: 4242, home: '/home/ctdbench' };
  const undo = [];
  const teardown = () => {
    for (const f of undo.reverse()) {
      try {
        f();
      } catch {
        /* keep going */
      }
    }
  };
  try {
    mkdirSync(base, { recursive: true });
    undo.push(() => rmSync(base, { recursive: true, force: true }));
    sh('mount', '-t', 'tmpfs', 'tmpfs', base);
    undo.push(() => {
      quiet('mount', '--make-rslave', base);
      sh('umount', '-R', base);
    });
    for (const d of ['u', 'w', 'root']) mkdirSync(`${base}/${d}`);
    const root = `${base}/root`;
    sh('mount', '-t', 'overlay', '-o', `lowerdir=/,upperdir=${base}/u,workdir=${base}/w`, 'ctdbench', root);
    undo.push(() => {
      quiet('mount', '--make-rslave', root);
      sh('umount', '-R', root);
    });
    // Replace, never write through: the host's resolv.conf may be a symlink out of the root.
    for (const f of ['etc/resolv.conf', 'etc/passwd', 'etc/group']) {
      const text = f === 'etc/resolv.conf' ? '' : readFileSync(`${root}/${f}`, 'utf8');
      try {
        unlinkSync(`${root}/${f}`);
      } catch {
        /* absent */
      }
      writeFileSync(
        `${root}/${f}`,
        f === 'etc/resolv.conf'
          ? 'nameserver 203.0.113.53\n'
          : f === 'etc/passwd'
            ? `${text}${user.name}:x:${user.uid}:${user.uid}::${user.home}:/bin/sh\n`
            : `${text}${user.name}:x:${user.uid}:\n`,
      );
    }
    sh('mount', '-t', 'proc', 'proc', `${root}/proc`);
    sh('mount', '-t', 'tmpfs', '-o', 'mode=755', 'tmpfs', `${root}/run`);
    const runtimeDir = `/run/user/${user.uid}`;
    mkdirSync(`${root}/run/user`, { mode: 0o755 });
    for (const d of [user.home, runtimeDir, `${runtimeDir}/pulse`]) {
      mkdirSync(`${root}${d}`, { recursive: true, mode: 0o700 });
      chownSync(`${root}${d}`, user.uid, user.uid);
    }
    mkdirSync(`${root}/tmp/.X11-unix`, { recursive: true, mode: 0o1777 });
    chmodSync(`${root}/tmp/.X11-unix`, 0o1777);

    for (const ns of [inet, guest]) {
      sh('ip', 'netns', 'add', ns);
      undo.push(() => quiet('ip', 'netns', 'del', ns));
    }
    const inNs = (ns, ...args) => sh('ip', '-n', ns, ...args);
    sh('ip', 'link', 'add', `vb${id}`, 'netns', guest, 'type', 'veth', 'peer', 'name', `vi${id}`, 'netns', inet);
    inNs(inet, 'link', 'set', 'lo', 'up');
    inNs(guest, 'link', 'set', 'lo', 'up');
    inNs(inet, 'addr', 'add', '198.51.100.1/24', 'dev', `vi${id}`);
    inNs(inet, 'link', 'set', `vi${id}`, 'up');
    inNs(guest, 'addr', 'add', '198.51.100.2/24', 'dev', `vb${id}`);
    inNs(guest, 'link', 'set', `vb${id}`, 'up');
    inNs(guest, 'route', 'add', 'default', 'via', '198.51.100.1');
    for (const a of ['203.0.113.53/32', '203.0.113.10/32']) inNs(inet, 'addr', 'add', a, 'dev', 'lo');
    daemon(undo, dnsmasqArgv(inet));

    // The desktop lives inside the guest: its X socket, its sound server, its session.
    const inGuest = ['nsenter', `--net=/run/netns/${guest}`, 'chroot', root];
    const asUser = ['setpriv', `--reuid=${user.uid}`, `--regid=${user.uid}`, '--clear-groups'];
    const display = 7;
    const cookie = randomBytes(16).toString('hex');
    const xauthority = `${user.home}/.Xauthority`;
    sh('unshare', '--net', 'xauth', '-q', '-f', `${root}${xauthority}`, 'add', `:${display}`, '.', cookie);
    chownSync(`${root}${xauthority}`, user.uid, user.uid);
    daemon(undo, [...inGuest, 'Xvfb', `:${display}`, '-nolisten', 'tcp', '-auth', xauthority, '-screen', '0', '640x480x24']);
    const userEnv = {
      PATH: '/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin',
      HOME: user.home,
      USER: user.name,
      XDG_RUNTIME_DIR: runtimeDir,
      LANG: 'C',
    };
    daemon(
      undo,
      [
        ...inGuest,
        ...asUser,
        'pulseaudio',
        '-n',
        '--daemonize=no',
        '--exit-idle-time=-1',
        '--use-pid-file=no',
        '-L',
        'module-null-sink sink_name=ctdbench',
        '-L',
        `module-native-protocol-unix auth-anonymous=1 socket=${runtimeDir}/pulse/native`,
      ],
      userEnv,
    );
    daemon(undo, [...inGuest, ...asUser, 'sleep', '100000'], { ...userEnv, DISPLAY: `:${display}`, XAUTHORITY: xauthority });

    await waitUntil(
      'Xvfb and pulseaudio',
      () => existsSync(`${root}/tmp/.X11-unix/X${display}`) && existsSync(`${root}${runtimeDir}/pulse/native`),
    );
    await waitUntil(
      'dnsmasq',
      () => quiet('ip', 'netns', 'exec', guest, 'dig', '+time=1', '+tries=1', '+short', '@203.0.113.53', 'example.com').status === 0,
    );
    return { root, netns: `/run/netns/${guest}`, teardown };
  } catch (error) {
    teardown();
    throw error;
  }
}

// `--world`: build the healthy guest, print {root, netns}, keep it until SIGINT/SIGTERM (for profiling).
if (argv.includes('--world')) {
  const world = await healthyWorld();
  console.log(JSON.stringify({ root: world.root, netns: world.netns }));
  const end = () => {
    world.teardown();
    process.exit(0);
  };
  process.on('SIGINT', end);
  process.on('SIGTERM', end);
  setInterval(() => {}, 1 << 30);
  await new Promise(() => {});
}

const figures = {};
// NODE_EXTRA_CA_CERTS makes every node process read a certificate bundle at start-up (about 90 ms
// here, where the machine sets it for its package proxy). The figures are taken as the environment
// is, and, when it is set, again without it, as on a machine that does not set it.
const caCerts = process.env.NODE_EXTRA_CA_CERTS;
const envs = caCerts
  ? [
      ['as is', process.env],
      ['without NODE_EXTRA_CA_CERTS', withoutCa(process.env)],
    ]
  : [['as is', process.env]];
function withoutCa(env) {
  const { NODE_EXTRA_CA_CERTS: _unused, ...rest } = env;
  return rest;
}

figures.environments = [];
const world = process.getuid?.() === 0 ? await healthyWorld() : null;
try {
  for (const [label, env] of envs) {
    const f = { label };
    f.nodeMs = median(process.execPath, ['-e', '0'], RUNS, { env });
    f.versionMs = median(process.execPath, [CLI, '--version'], RUNS, { env });
    f.helpMs = median(process.execPath, [CLI, '--help'], Math.min(RUNS, 7), { env });
    f.versionRatio = f.versionMs / f.nodeMs;
    if (world) {
      // The bin as a user runs it (its first line execs node with its V8 flags), ours and the baseline in turn.
      const bins = [CLI, ...(baseline ? [baseline] : [])];
      const runs = bins.map(() => ({ wall: [], phases: {}, last: null }));
      for (let i = 0; i <= RUNS; i++) {
        for (const [j, bin] of bins.entries()) {
          const args = [
            `--net=${world.netns}`,
            bin,
            `chroot:${world.root}`,
            '--json',
            '--ping-target',
            '203.0.113.10',
            '--dns-name',
            'example.com',
          ];
          const t0 = process.hrtime.bigint();
          const r = spawnSync('nsenter', args, {
            stdio: ['ignore', 'pipe', 'pipe'],
            env: { ...env, NO_COLOR: '1', NODE_DEBUG: 'ctr-doctor' },
          });
          const ms = Number(process.hrtime.bigint() - t0) / 1e6;
          if (r.error) throw r.error;
          if (i === 0) continue;
          runs[j].wall.push(ms);
          runs[j].last = r;
          for (const [, at, phase] of r.stderr.toString().matchAll(/^ctr-doctor \+(\d+) ms (main|target opened|checks finished|done)$/gm))
            (runs[j].phases[phase] ??= []).push(Number(at));
        }
      }
      const mid = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
      const [ours, base] = runs.map((r) => ({
        ms: mid(r.wall),
        phases: Object.fromEntries(Object.entries(r.phases).map(([k, v]) => [k, mid(v)])),
        report: JSON.parse(r.last.stdout.toString()),
      }));
      f.fullCheckMs = ours.ms;
      f.fullCheckPhases = ours.phases;
      const report = ours.report;
      f.fullCheckSummary = report.summary;
      f.fullCheckSlowest = [...report.results]
        .sort((a, b) => b.durationMs - a.durationMs)
        .slice(0, 3)
        .map((r) => `${r.id} ${r.durationMs} ms`);
      if (base) {
        f.baselineFullCheckMs = base.ms;
        f.baselinePhases = base.phases;
        f.baselineSummary = base.report.summary;
      }
    } else {
      f.fullCheckMs = null;
      f.fullCheckSkipped = 'needs root (netns, overlay, chroot)';
    }
    figures.environments.push(f);
  }
} finally {
  world?.teardown();
}

if (asJson) {
  console.log(JSON.stringify(figures));
} else {
  for (const f of figures.environments) {
    console.log(`— environment ${f.label}`);
    console.log(`node -e 0                 ${f.nodeMs.toFixed(0)} ms (median of ${RUNS})`);
    console.log(`ctr-doctor --version      ${f.versionMs.toFixed(0)} ms = ${f.versionRatio.toFixed(2)}× node (target ≤ 1.5×)`);
    console.log(`ctr-doctor --help         ${f.helpMs.toFixed(0)} ms`);
    if (f.fullCheckMs !== null) {
      console.log(
        `full check, healthy guest ${f.fullCheckMs.toFixed(0)} ms wall (median of ${RUNS}; target ≤ 500 ms); ${JSON.stringify(f.fullCheckSummary)}`,
      );
      console.log(`  slowest checks: ${f.fullCheckSlowest.join(', ')}`);
      const ph = (p) =>
        `main +${p.main}, target opened +${p['target opened']}, checks finished +${p['checks finished']}, done +${p.done} ms`;
      console.log(`  phases (NODE_DEBUG, ms since the process started): ${ph(f.fullCheckPhases)}`);
      console.log(
        `  against node -e 0 + 100 ms = ${(f.nodeMs + 100).toFixed(0)} ms: ${(f.fullCheckMs - f.nodeMs - 100).toFixed(0)} ms over; node's own start ${f.nodeMs.toFixed(0)}, then ${(f.fullCheckPhases.main - f.nodeMs).toFixed(0)} to main (bundle, builtins), ${f.fullCheckPhases['target opened'] - f.fullCheckPhases.main} to the opened target, ${f.fullCheckPhases['checks finished'] - f.fullCheckPhases['target opened']} of checks, ${(f.fullCheckMs - f.fullCheckPhases.done).toFixed(0)} from done to exit (nsenter and node included)`,
      );
      if (f.baselineFullCheckMs !== undefined)
        console.log(
          `  baseline ${baseline}: ${f.baselineFullCheckMs.toFixed(0)} ms wall; ${ph(f.baselinePhases)}; ${JSON.stringify(f.baselineSummary)}`,
        );
    } else {
      console.log(`full check: skipped (${f.fullCheckSkipped})`);
    }
  }
}
