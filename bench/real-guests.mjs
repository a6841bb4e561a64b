#!/usr/bin/env node
// How long the real-guest harness takes here: building each genuine Debian root with debootstrap
// (test/harness/build-real-root.sh, the same script and cache key as test/harness/real-root.ts),
// unpacking its tarball onto a tmpfs, booting it with systemd-nspawn until systemd says
// `running`, and powering it off.
//
//   sudo node bench/real-guests.mjs [--runs 3] [--cached] [--json]
//
// --cached skips the fresh builds (which download about 110 MB from deb.debian.org) and only
// reports the cached tarballs. Everything the benchmark makes is removed: a tmpfs under /tmp,
// network namespaces ctdb-<id>-* with only `lo` (nothing leaves the machine), one cgroup per
// boot, and the temporary build cache.
import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  readdirSync,
  rmSync,
  rmdirSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('../', import.meta.url));
const script = join(repo, 'test/harness/build-real-root.sh');
const argv = process.argv.slice(2);
const runs = Number(argv[argv.indexOf('--runs') + 1]) || 3;
const cachedOnly = argv.includes('--cached');
const asJson = argv.includes('--json');

// Keep in step with REAL_PACKAGES and DESKTOP_USER in test/harness/real-root.ts.
const PACKAGES = {
  bookworm: [
    'systemd',
    'systemd-sysv',
    'systemd-resolved',
    'libnss-resolve',
    'libpam-systemd',
    'dbus',
    'iproute2',
    'iputils-ping',
    'passwd',
  ],
  bullseye: ['systemd', 'systemd-sysv', 'libpam-systemd', 'dbus', 'iproute2', 'iputils-ping', 'resolvconf', 'ifupdown', 'passwd'],
};
const USER = 'desk';
const cacheDir = process.env.CTD_TEST_CACHE ?? '/var/cache/ctr-doctor-test';

if (process.getuid?.() !== 0) {
  console.error('bench/real-guests.mjs needs root (debootstrap, mounts, nspawn): run it with sudo');
  process.exit(2);
}

const id = randomBytes(3).toString('hex');
const base = `/tmp/ctdbench-${id}`;
const netns = `ctdb-${id}-g`;
const undo = [];
const sh = (cmd, args, opts = {}) => {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: opts.timeoutMs ?? 120_000 });
  if (r.status !== 0 && !opts.ok) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr || r.stdout}`);
  return r;
};
const seconds = (ms) => (ms / 1000).toFixed(2);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function tarballName(suite) {
  const key = createHash('sha256')
    .update(JSON.stringify([suite, PACKAGES[suite], USER]))
    .update(readFileSync(script))
    .digest('hex')
    .slice(0, 12);
  return `${suite}-${key}.tar.zst`;
}

function build(suite, dir) {
  const out = join(dir, tarballName(suite));
  const t0 = performance.now();
  sh(script, [suite, PACKAGES[suite].join(','), USER, out], { timeoutMs: 900_000 });
  return { ms: performance.now() - t0, bytes: statSync(out).size, out };
}

function unpack(tarball, dir) {
  mkdirSync(dir);
  const t0 = performance.now();
  sh('sh', ['-c', 'zstd -dcq "$1" | tar -x --numeric-owner --xattrs --xattrs-include="*" -C "$2"', 'sh', tarball, dir]);
  return performance.now() - t0;
}

const populated = (cg) => /^populated 1$/m.test(readFileSync(join(cg, 'cgroup.events'), 'utf8'));

/** Boots `root` in its own cgroup and netns; resolves with the boot and poweroff times. */
async function boot(root, machine) {
  const cg = `/sys/fs/cgroup/unified/${machine}`;
  mkdirSync(cg);
  undo.push(() => {
    if (existsSync(cg) && populated(cg)) writeFileSync(join(cg, 'cgroup.kill'), '1');
    for (let i = 0; i < 100 && existsSync(cg) && populated(cg); i++) sh('sleep', ['0.05']);
    for (const h of ['unified', 'systemd']) if (existsSync(`/sys/fs/cgroup/${h}/${machine}`)) rmTree(`/sys/fs/cgroup/${h}/${machine}`);
  });
  const args = [
    '-q',
    '-D',
    root,
    '-M',
    machine,
    '--register=no',
    '--keep-unit',
    `--network-namespace-path=/run/netns/${netns}`,
    '--capability=CAP_NET_ADMIN',
    '--resolv-conf=off',
    '-b',
  ];
  const t0 = performance.now();
  const child = spawn('sh', ['-c', 'echo $$ > "$1/cgroup.procs" && shift && exec systemd-nspawn "$@"', 'sh', cg, ...args], {
    stdio: 'ignore',
  });
  const exited = new Promise((r) => child.once('exit', r));
  let leader = 0;
  const nsOf = (pid) => {
    try {
      return readlinkSync(`/proc/${pid}/ns/pid`);
    } catch {
      return null;
    }
  };
  for (let i = 0; i < 400 && !leader; i++) {
    const kids = readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
    leader = kids.find((k) => nsOf(k) !== nsOf(child.pid) && readFileSync(`/proc/${k}/comm`, 'utf8').trim() === 'systemd') ?? 0;
    if (!leader) await new Promise((r) => setTimeout(r, 25));
  }
  if (!leader) throw new Error(`${machine}: no leader`);
  let state = '';
  while (performance.now() - t0 < 30_000 && state !== 'running' && state !== 'degraded') {
    state = sh('nsenter', ['-t', String(leader), '-a', 'systemctl', 'is-system-running'], { ok: true }).stdout.trim();
    if (state !== 'running' && state !== 'degraded') await new Promise((r) => setTimeout(r, 50));
  }
  const bootMs = performance.now() - t0;
  const t1 = performance.now();
  sh('kill', ['-s', 'SIGRTMIN+4', String(leader)]);
  await Promise.race([exited, new Promise((r) => setTimeout(r, 15_000))]);
  return { bootMs, offMs: performance.now() - t1, state };
}

function rmTree(dir) {
  for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory()) rmTree(join(dir, e.name));
  rmdirSync(dir);
}

async function main() {
  const results = {};
  mkdirSync(base);
  undo.push(() => rmdirSync(base));
  sh('mount', ['-t', 'tmpfs', '-o', 'mode=755,size=2g', 'ctdbench', base]);
  undo.push(() => sh('umount', [base]));
  sh('ip', ['netns', 'add', netns]);
  undo.push(() => sh('ip', ['netns', 'del', netns]));
  sh('ip', ['-n', netns, 'link', 'set', 'lo', 'up']);
  const nspawnRun = '/run/systemd/nspawn';
  if (sh('mountpoint', ['-q', nspawnRun], { ok: true }).status !== 0) {
    mkdirSync(nspawnRun, { recursive: true });
    sh('mount', ['-t', 'tmpfs', '-o', 'mode=755,size=16m', 'ctdbench_nspawn', nspawnRun]);
    undo.push(() => sh('umount', [nspawnRun], { ok: true }));
  }
  const fresh = cachedOnly ? null : mkdtempSync('/var/tmp/ctdbench-cache-');
  if (fresh) undo.push(() => rmSync(fresh, { recursive: true, force: true }));
  for (const suite of ['bookworm', 'bullseye']) {
    const r = { build: null, tarballBytes: null, unpackMs: [], bootMs: [], poweroffMs: [], state: null };
    let tarball = join(cacheDir, tarballName(suite));
    if (fresh) {
      const b = build(suite, fresh);
      r.build = b.ms;
      if (!existsSync(tarball)) {
        mkdirSync(cacheDir, { recursive: true });
        sh('cp', [b.out, tarball]);
      }
    }
    if (!existsSync(tarball)) throw new Error(`no cached ${suite} root (${tarball}): run without --cached to build it`);
    r.tarballBytes = statSync(tarball).size;
    for (let i = 0; i < runs; i++) {
      const root = join(base, `${suite}-${i}`);
      r.unpackMs.push(unpack(tarball, root));
      const b = await boot(root, `ctdb-${id}-${suite.slice(0, 4)}${i}`);
      r.bootMs.push(b.bootMs);
      r.poweroffMs.push(b.offMs);
      r.state = b.state;
      rmSync(root, { recursive: true, force: true });
    }
    results[suite] = r;
  }
  if (asJson) return console.log(JSON.stringify(results, null, 2));
  console.log(`real guests on this machine (${runs} run(s) each; medians)`);
  for (const [suite, r] of Object.entries(results)) {
    const built = r.build === null ? 'cached' : `${seconds(r.build)} s`;
    console.log(
      `  ${suite.padEnd(9)} build ${built.padStart(8)}  tarball ${(r.tarballBytes / 1e6).toFixed(0)} MB  unpack ${seconds(median(r.unpackMs))} s  boot to ${r.state} ${seconds(median(r.bootMs))} s  poweroff ${seconds(median(r.poweroffMs))} s`,
    );
  }
}

let code = 0;
try {
  await main();
} catch (e) {
  console.error(`bench/real-guests.mjs: ${e.message}`);
  code = 1;
} finally {
  for (const f of undo.reverse()) {
    try {
      f();
    } catch (e) {
      console.error(`cleanup: ${e.message}`);
      code = 1;
    }
  }
}
process.exit(code);
