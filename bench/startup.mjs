#!/usr/bin/env node
// Start-up figures: `ctr-doctor --version` against `node -e 0` (target: at most 1.5×), and,
// as root, the wall time of a full check of a healthy chroot guest in an isolated world
// (netns + dnsmasq + whole-root overlay with a process; target: at most 0.5 s).
// Usage: npm run build && node bench/startup.mjs [--runs N] [--json]
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';

const CLI = new URL('../dist/bundle/ctr-doctor.js', import.meta.url).pathname;
const argv = process.argv.slice(2);
const RUNS = Number(argv[argv.indexOf('--runs') + 1]) || 15;
const asJson = argv.includes('--json');

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

/** An isolated world like test/harness: returns the guest root, its netns path and a teardown. */
async function healthyWorld() {
  const id = randomBytes(3).toString('hex');
  const base = `/tmp/ctdbench-${id}`;
  const [inet, guest] = [`ctdb-${id}-inet`, `ctdb-${id}-guest`];
  const undo = [];
  const teardown = () => { for (const f of undo.reverse()) { try { f(); } catch { /* keep going */ } } };
  try {
    mkdirSync(base, { recursive: true });
    undo.push(() => rmSync(base, { recursive: true, force: true }));
    sh('mount', '-t', 'tmpfs', 'tmpfs', base);
    undo.push(() => sh('umount', '-R', base));
    for (const d of ['u', 'w', 'root']) mkdirSync(`${base}/${d}`);
    const root = `${base}/root`;
    sh('mount', '-t', 'overlay', '-o', `lowerdir=/,upperdir=${base}/u,workdir=${base}/w`, 'ctdbench', root);
    undo.push(() => sh('umount', '-R', root));
    // Replace, never write through: the host's resolv.conf may be a symlink out of the root.
    try { unlinkSync(`${root}/etc/resolv.conf`); } catch { /* absent */ }
    writeFileSync(`${root}/etc/resolv.conf`, 'nameserver 203.0.113.53\n');
    sh('mount', '-t', 'proc', 'proc', `${root}/proc`);
    for (const ns of [inet, guest]) { sh('ip', 'netns', 'add', ns); undo.push(() => quiet('ip', 'netns', 'del', ns)); }
    const inNs = (ns, ...args) => sh('ip', '-n', ns, ...args);
    sh('ip', 'link', 'add', `vb${id}`, 'netns', guest, 'type', 'veth', 'peer', 'name', `vi${id}`, 'netns', inet);
    inNs(inet, 'link', 'set', 'lo', 'up'); inNs(guest, 'link', 'set', 'lo', 'up');
    inNs(inet, 'addr', 'add', '198.51.100.1/24', 'dev', `vi${id}`); inNs(inet, 'link', 'set', `vi${id}`, 'up');
    inNs(guest, 'addr', 'add', '198.51.100.2/24', 'dev', `vb${id}`); inNs(guest, 'link', 'set', `vb${id}`, 'up');
    inNs(guest, 'route', 'add', 'default', 'via', '198.51.100.1');
    for (const a of ['203.0.113.53/32', '203.0.113.10/32']) inNs(inet, 'addr', 'add', a, 'dev', 'lo');
    const dns = spawn('ip', ['netns', 'exec', inet, 'dnsmasq', '--keep-in-foreground', '--no-resolv', '--no-hosts', '--conf-file=/dev/null',
      '--user=root', '--bind-interfaces', '--listen-address=203.0.113.53', '--address=/example.com/203.0.113.10', '--local=/#/', '--pid-file='], { stdio: 'ignore' });
    undo.push(() => dns.kill('SIGKILL'));
    const proc = spawn('nsenter', [`--net=/run/netns/${guest}`, 'chroot', root, '/usr/bin/env', '-i', 'PATH=/usr/bin:/bin', 'sleep', '100000'], { stdio: 'ignore' });
    undo.push(() => proc.kill('SIGKILL'));
    for (let i = 0; i < 100 && quiet('ip', 'netns', 'exec', guest, 'dig', '+time=1', '+tries=1', '+short', '@203.0.113.53', 'example.com').status !== 0; i++) await new Promise((r) => setTimeout(r, 50));
    return { root, netns: `/run/netns/${guest}`, teardown };
  } catch (error) {
    teardown();
    throw error;
  }
}

const figures = {};
figures.nodeMs = median(process.execPath, ['-e', '0'], RUNS);
figures.versionMs = median(process.execPath, [CLI, '--version'], RUNS);
figures.helpMs = median(process.execPath, [CLI, '--help'], Math.min(RUNS, 7));
figures.versionRatio = figures.versionMs / figures.nodeMs;

if (process.getuid?.() === 0) {
  const world = await healthyWorld();
  try {
    let last;
    const args = [`--net=${world.netns}`, process.execPath, CLI, `chroot:${world.root}`, '--json', '--ping-target', '203.0.113.10', '--dns-name', 'example.com'];
    figures.fullCheckMs = median('nsenter', args, Math.min(RUNS, 7), { env: { ...process.env, NO_COLOR: '1' }, check: (r) => { last = r; } });
    const report = JSON.parse(last.stdout.toString());
    figures.fullCheckSummary = report.summary;
    figures.fullCheckSlowest = [...report.results].sort((a, b) => b.durationMs - a.durationMs).slice(0, 3).map((r) => `${r.id} ${r.durationMs} ms`);
  } finally {
    world.teardown();
  }
} else {
  figures.fullCheckMs = null;
  figures.fullCheckSkipped = 'needs root (netns, overlay, chroot)';
}

if (asJson) {
  console.log(JSON.stringify(figures));
} else {
  console.log(`node -e 0                 ${figures.nodeMs.toFixed(0)} ms (median of ${RUNS})`);
  console.log(`ctr-doctor --version      ${figures.versionMs.toFixed(0)} ms = ${figures.versionRatio.toFixed(2)}× node (target ≤ 1.5×)`);
  console.log(`ctr-doctor --help         ${figures.helpMs.toFixed(0)} ms`);
  if (figures.fullCheckMs !== null) {
    // The ratio to `node -e 0` keeps the figure readable on a loaded machine.
    console.log(`full check, healthy guest ${figures.fullCheckMs.toFixed(0)} ms wall = ${(figures.fullCheckMs / figures.nodeMs).toFixed(1)}× node -e 0 (target ≤ 500 ms); ${JSON.stringify(figures.fullCheckSummary)}`);
    console.log(`  slowest checks: ${figures.fullCheckSlowest.join(', ')}`);
  } else {
    console.log(`full check: skipped (${figures.fullCheckSkipped})`);
  }
}
