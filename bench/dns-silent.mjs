#!/usr/bin/env node
// Benchmark: a guest whose resolv.conf lists three silent nameservers must be diagnosed by
// dns.resolve within --timeout + 0.5 s; beside it, how long glibc (`getent hosts`) takes there.
//
//   sudo node bench/dns-silent.mjs [--timeouts 1000,2000,3000] [--runs 3]
//
// Builds its own world and removes it: network namespaces ctdb-<id>-{inet,guest,off} joined only
// to each other (never to a real interface), three silent DNS servers (test/harness/fake-dns-server.mjs)
// on 203.0.113.55-57 in the inet namespace, a whole-root overlay guest on a tmpfs with a process
// chrooted into it in the guest namespace. ctr-doctor itself runs in the offline namespace.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync, rmdirSync, readlinkSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

const repo = fileURLToPath(new URL('../', import.meta.url));
const cli = join(repo, 'dist/bundle/ctr-doctor.js');
const fakeDns = join(repo, 'test/harness/fake-dns-server.mjs');
const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const timeouts = arg('timeouts', '1000,2000,3000').split(',').map(Number);
const runs = Number(arg('runs', '3'));
const SERVERS = ['203.0.113.55', '203.0.113.56', '203.0.113.57'];

if (process.getuid?.() !== 0) {
  console.error('bench/dns-silent.mjs needs root (network namespaces, mounts): run it with sudo');
  process.exit(2);
}
try {
  statSync(cli);
} catch {
  console.error(`${cli} is missing: run npm run build first`);
  process.exit(2);
}

const id = randomBytes(3).toString('hex');
const ns = { inet: `ctdb-${id}-inet`, guest: `ctdb-${id}-guest`, off: `ctdb-${id}-off` };
const base = `/tmp/ctdbench-${id}`;
const root = join(base, 'guest');
const undo = [];
const children = [];

function must(argv) {
  const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${argv.join(' ')} failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}
const quiet = (argv) => spawnSync(argv[0], argv.slice(1), { encoding: 'utf8' });

function daemon(argv, ready) {
  const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`${argv.join(' ')} not ready: ${out}`)), 10_000);
    const look = (s) => {
      out += s;
      if (ready(out)) {
        clearTimeout(timer);
        resolve(child);
      }
    };
    child.stdout.setEncoding('utf8').on('data', look);
    child.stderr.setEncoding('utf8').on('data', (s) => (out += s));
    child.once('exit', (code) => reject(new Error(`${argv[0]} exited ${code}: ${out}`)));
    if (ready(out)) resolve(child);
  });
}

async function setUp() {
  for (const n of Object.values(ns)) {
    must(['ip', 'netns', 'add', n]);
    undo.push(() => quiet(['ip', 'netns', 'del', n]));
    must(['ip', '-n', n, 'link', 'set', 'lo', 'up']);
  }
  const vi = `ctdb${id}i`;
  must(['ip', '-n', ns.inet, 'link', 'add', vi, 'type', 'veth', 'peer', 'name', `ctdb${id}g`, 'netns', ns.guest]);
  must(['ip', '-n', ns.inet, 'addr', 'add', '198.51.100.1/24', 'dev', vi]);
  must(['ip', '-n', ns.guest, 'addr', 'add', '198.51.100.2/24', 'dev', `ctdb${id}g`]);
  must(['ip', '-n', ns.inet, 'link', 'set', vi, 'up']);
  must(['ip', '-n', ns.guest, 'link', 'set', `ctdb${id}g`, 'up']);
  must(['ip', '-n', ns.guest, 'route', 'add', 'default', 'via', '198.51.100.1']);
  for (const a of SERVERS) {
    must(['ip', '-n', ns.inet, 'addr', 'add', `${a}/32`, 'dev', 'lo']);
    await daemon(['nsenter', `--net=/run/netns/${ns.inet}`, process.execPath, fakeDns, '--addr', a, '--mode', 'silent'], (o) =>
      /^ready$/m.test(o),
    );
  }

  mkdirSync(base, { recursive: true });
  must(['mount', '-t', 'tmpfs', '-o', 'mode=755,size=256m', 'ctdbench', base]);
  must(['mount', '--make-private', base]);
  undo.push(() => {
    quiet(['umount', '-R', base]);
    rmdirSync(base);
  });
  for (const d of ['u', 'w', 'guest']) mkdirSync(join(base, d));
  must(['mount', '-t', 'overlay', '-o', `lowerdir=/,upperdir=${base}/u,workdir=${base}/w`, 'ctdbench-overlay', root]);
  undo.push(() => quiet(['umount', root]));
  rmSync(join(root, 'etc/resolv.conf'), { force: true });
  writeFileSync(join(root, 'etc/resolv.conf'), SERVERS.map((a) => `nameserver ${a}\n`).join(''));
  const sleeper = await daemon(['nsenter', `--net=/run/netns/${ns.guest}`, 'chroot', root, 'sleep', '100000'], () => true);
  // Wait until the sleeper really is chrooted, so ctr-doctor finds the guest's process.
  for (let i = 0; i < 200; i++) {
    try {
      if (readlinkSync(`/proc/${sleeper.pid}/root`) === root) break;
    } catch {
      /* not yet */
    }
    await new Promise((r) => setTimeout(r, 10));
  }
}

function tearDown() {
  for (const c of children.reverse()) {
    try {
      c.kill('SIGKILL');
    } catch {
      /* gone */
    }
  }
  for (const step of undo.reverse()) {
    try {
      step();
    } catch (e) {
      console.error(`cleanup: ${e.message}`);
    }
  }
}

function timed(argv) {
  const t0 = performance.now();
  const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8', timeout: 120_000 });
  return { ms: performance.now() - t0, r };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

try {
  await setUp();
  const rows = [];
  for (const t of timeouts) {
    const walls = [];
    const checks = [];
    const reports = [];
    const statuses = {};
    for (let i = 0; i < runs; i++) {
      const { ms, r } = timed([
        'nsenter',
        `--net=/run/netns/${ns.off}`,
        process.execPath,
        cli,
        `chroot:${root}`,
        '--json',
        '--only',
        'dns.resolve',
        '--dns-name',
        'example.test',
        '--timeout',
        String(t),
      ]);
      const report = JSON.parse(r.stdout);
      const res = report.results[0];
      walls.push(ms);
      checks.push(res.durationMs);
      reports.push(report.durationMs);
      const key = `${res.status} (${res.findings.filter((f) => f.code === 'server-timeout').length} × server-timeout)`;
      statuses[key] = (statuses[key] ?? 0) + 1;
      if (res.status === 'error') console.error(`  (run with --timeout ${t}: error: ${res.summary}, ${res.durationMs} ms)`);
    }
    rows.push({
      timeout: t,
      wall: median(walls),
      check: median(checks),
      report: median(reports),
      worstReport: Math.max(...reports),
      worstWall: Math.max(...walls),
      verdicts: Object.entries(statuses)
        .map(([k, n]) => `${n}× ${k}`)
        .join(', '),
    });
  }
  const g = timed(['nsenter', `--net=/run/netns/${ns.guest}`, 'chroot', root, 'timeout', '120', 'getent', 'hosts', 'example.test']);
  // The CLI's fixed cost (node, module loading), measured on a command that probes nothing.
  const startup = median([1, 2, 3].map(() => timed(['nsenter', `--net=/run/netns/${ns.off}`, process.execPath, cli, 'checks']).ms));

  console.log(`dns.resolve on a guest with three silent nameservers (median of ${runs} runs; ctr-doctor run in an offline namespace)`);
  console.log('--timeout   check ms   report ms (median/worst)   CLI wall ms (median/worst)   report within --timeout+0.5 s   verdict');
  for (const r of rows) {
    const ok = r.worstReport <= r.timeout + 500 ? 'yes' : 'NO';
    console.log(
      `${String(r.timeout).padStart(9)}   ${String(Math.round(r.check)).padStart(8)}   ${`${Math.round(r.report)} / ${Math.round(r.worstReport)}`.padStart(24)}   ${`${Math.round(r.wall)} / ${Math.round(r.worstWall)}`.padStart(26)}   ${ok.padStart(29)}   ${r.verdicts}`,
    );
  }
  console.log(`CLI start-up alone (ctr-doctor checks): ${Math.round(startup)} ms, included in the wall clock above`);
  console.log(
    `getent hosts example.test in the same guest: ${Math.round(g.ms)} ms, exit code ${g.r.status} (glibc: timeout:5 attempts:2 over 3 servers)`,
  );
} catch (e) {
  console.error(`bench failed: ${e.message}`);
  process.exitCode = 1;
} finally {
  tearDown();
}
