// Resource bounds of a whole ctr-doctor run in every fault case: `sudo node bench/bounds.mjs` (after `npm run build`).
// Builds its own world (network namespaces ctd-bench-<id>-{inet,guest}, a tmpfs of guest dirs, dnsmasq, faulty
// DNS/X11/pulse servers), runs the CLI under `/usr/bin/time -v` in the guest namespace, and prints a table:
//   wall = start-up (spawn → report.startedAt) + checks (report.durationMs) + tail (end of checks → exit).
// The bound is checks + tail ≤ --timeout + 500 ms (start-up is Node's own cost, printed apart), and peak RSS ≤ 100 MB.
// Peak RSS is GNU time's "Maximum resident set size": the largest of the CLI and its reaped children (probes, commands).
// Never touches the host network: every packet stays in the bench's namespaces. Exit code 1 when a bound is broken.
// BOUNDS_TIMEOUT sets --timeout (default 2000).
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { dnsmasqArgv } from './lib/dnsmasq.mjs';

const REPO = fileURLToPath(new URL('../', import.meta.url));
const CLI = join(REPO, 'dist/bundle/ctr-doctor.js');
const FAKE_DNS = join(REPO, 'test/harness/fake-dns-server.mjs');
const TIMEOUT = Number(process.env.BOUNDS_TIMEOUT ?? 2000);
const SLACK = 500;
const RSS_LIMIT_KB = 100 * 1024;

if (process.getuid?.() !== 0) {
  console.error('bench/bounds.mjs needs root (namespaces, mounts)');
  process.exit(2);
}
for (const tool of ['/usr/bin/time', 'dnsmasq', 'ip', 'nsenter']) {
  if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) {
    console.error(`missing ${tool} (apt-get install time dnsmasq-base iproute2 util-linux)`);
    process.exit(2);
  }
}
if (!existsSync(CLI)) {
  console.error('run npm run build first');
  process.exit(2);
}

const id = randomBytes(3).toString('hex');
const NS = { inet: `ctd-bench-${id}-inet`, guest: `ctd-bench-${id}-guest` };
const BASE = `/tmp/ctrtest-bench-${id}`;
const undo = [];
const daemons = [];
const sh = (argv) => execFileSync(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] }).toString();
const inNs = (ns, argv) => sh(['ip', 'netns', 'exec', ns, ...argv]);

function daemon(argv, readyLine) {
  const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  daemons.push(child);
  if (!readyLine) return Promise.resolve(child);
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`${argv.join(' ')}: not ready: ${out}`)), 10_000);
    child.stdout.on('data', (d) => {
      out += d;
      if (out.includes(readyLine)) {
        clearTimeout(timer);
        resolve(child);
      }
    });
    child.stderr.on('data', (d) => {
      out += d;
    });
  });
}

/** The world: two namespaces joined by a veth, DNS on the inet side, guests on a tmpfs. */
async function buildWorld() {
  mkdirSync(BASE, { recursive: true });
  sh(['mount', '-t', 'tmpfs', '-o', 'size=64m', 'ctd-bench', BASE]);
  undo.push(() => {
    sh(['umount', '-R', BASE]);
    rmSync(BASE, { recursive: true, force: true });
  });
  for (const ns of Object.values(NS)) {
    sh(['ip', 'netns', 'add', ns]);
    undo.push(() => sh(['ip', 'netns', 'del', ns]));
  }
  sh(['ip', 'link', 'add', `vb${id}g`, 'netns', NS.guest, 'type', 'veth', 'peer', 'name', `vb${id}i`, 'netns', NS.inet]);
  inNs(NS.inet, ['ip', 'addr', 'add', '198.51.100.1/24', 'dev', `vb${id}i`]);
  inNs(NS.guest, ['ip', 'addr', 'add', '198.51.100.2/24', 'dev', `vb${id}g`]);
  for (const ns of Object.values(NS)) inNs(ns, ['ip', 'link', 'set', 'lo', 'up']);
  inNs(NS.inet, ['ip', 'link', 'set', `vb${id}i`, 'up']);
  inNs(NS.guest, ['ip', 'link', 'set', `vb${id}g`, 'up']);
  inNs(NS.guest, ['ip', 'route', 'add', 'default', 'via', '198.51.100.1']);
  for (const a of ['203.0.113.53', '203.0.113.10', ...FAULTY_DNS.map((_, i) => `203.0.113.${90 + i}`)])
    inNs(NS.inet, ['ip', 'addr', 'add', `${a}/32`, 'dev', 'lo']);
  await daemon(dnsmasqArgv(NS.inet, 'example.test'));
  for (const [i, mode] of FAULTY_DNS.entries()) {
    await daemon(
      [
        'nsenter',
        `--net=/run/netns/${NS.inet}`,
        process.execPath,
        FAKE_DNS,
        '--addr',
        `203.0.113.${90 + i}`,
        '--mode',
        mode,
        '--delay',
        String(TIMEOUT * 2),
      ],
      'ready',
    );
  }
}

/** A file-only guest root: passwd, group, resolv.conf, the usual directories. */
function guest(name, resolvConf = 'nameserver 203.0.113.53\n') {
  const root = join(BASE, name);
  for (const d of ['etc', 'tmp', 'run', 'dev', 'home/ctruser', 'proc']) mkdirSync(join(root, d), { recursive: true });
  writeFileSync(join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\nctruser:x:1000:1000::/home/ctruser:/bin/sh\n');
  writeFileSync(join(root, 'etc/group'), 'root:x:0:\nctruser:x:1000:\n');
  if (resolvConf !== null) writeFileSync(join(root, 'etc/resolv.conf'), resolvConf);
  return root;
}

/** A unix socket inside a guest that accepts and then never answers, served by a child node. */
async function silentSocket(root, guestSocket) {
  const path = join(root, guestSocket);
  mkdirSync(path.slice(0, path.lastIndexOf('/')), { recursive: true });
  const script = `require('net').createServer(() => {}).listen(${JSON.stringify(path)}, () => console.log('ready'))`;
  await daemon([process.execPath, '-e', script], 'ready');
}

const FAULTY_DNS = ['wrong-id', 'truncated-udp', 'garbage', 'big-tcp', 'late', 'silent', 'refused-udp-ok-tcp'];

async function cases() {
  const list = [{ name: 'healthy guest', root: guest('healthy') }];
  const fifo = guest('fifo', null);
  sh(['mkfifo', join(fifo, 'etc/resolv.conf')]);
  list.push({ name: 'resolv.conf is a FIFO', root: fifo });
  const zero = guest('devzero', null);
  sh(['mknod', join(zero, 'dev/zero'), 'c', '1', '5']);
  symlinkSync('/dev/zero', join(zero, 'etc/resolv.conf'));
  list.push({ name: 'resolv.conf -> /dev/zero', root: zero });
  const sparse = guest('sparse', `nameserver 203.0.113.53\n${'# pad\n'.repeat(200_000)}`);
  sh(['truncate', '-s', '1G', join(sparse, 'etc/resolv.conf')]);
  list.push({ name: '1 GB sparse resolv.conf', root: sparse });
  const loop = guest('loop', null);
  symlinkSync('b', join(loop, 'etc/resolv.conf'));
  symlinkSync('resolv.conf', join(loop, 'etc/b'));
  list.push({ name: 'symlink loop', root: loop });
  list.push({ name: 'binary garbage', root: guest('garbage', randomBytes(8192)) });
  for (const [i, mode] of FAULTY_DNS.entries())
    list.push({ name: `DNS ${mode}`, root: guest(`dns-${mode}`, `nameserver 203.0.113.${90 + i}\n`) });
  const x11 = guest('x11-silent');
  await silentSocket(x11, 'tmp/.X11-unix/X42');
  list.push({ name: 'X server never answers', root: x11, env: { DISPLAY: ':42' } });
  const pulse = guest('pulse-silent');
  await silentSocket(pulse, 'run/fakepulse/native');
  list.push({ name: 'pulse never answers', root: pulse, env: { PULSE_SERVER: 'unix:/run/fakepulse/native' } });
  const runaway = guest('runaway');
  const plugin = join(BASE, 'runaway.mjs');
  writeFileSync(
    plugin,
    `const b = { group: 'runaway', description: 'x', findings: {}, appliesTo: () => true };
export const checks = [
  { ...b, id: 'runaway.forever', title: 'never settles', run: () => new Promise(() => {}) },
  { ...b, id: 'runaway.command', title: 'no time limit', run: async (ctx) => { await ctx.target.execInNetns(['sleep', '300']); return { status: 'pass', summary: 'x', findings: [], fixes: [] }; } },
];`,
  );
  list.push({ name: 'runaway plugin checks', root: runaway, args: ['--plugin', plugin] });
  return list;
}

function measure(c) {
  const argv = [
    '-v',
    'nsenter',
    `--net=/run/netns/${NS.guest}`,
    process.execPath,
    CLI,
    `chroot:${c.root}`,
    '--json',
    '--timeout',
    String(TIMEOUT),
    '--ping-target',
    '203.0.113.10',
    '--dns-name',
    'example.test',
    ...(c.args ?? []),
  ];
  const env = { PATH: process.env.PATH, NO_COLOR: '1', DISPLAY: '', XAUTHORITY: '', PULSE_SERVER: '', ...c.env };
  const t0 = Date.now();
  const r = spawnSync('/usr/bin/time', argv, { env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, timeout: 120_000 });
  const t1 = Date.now();
  const rssKb = Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(r.stderr)?.[1] ?? NaN);
  let report = null;
  try {
    report = JSON.parse(r.stdout);
  } catch {
    /* reported below */
  }
  if (!report)
    return {
      case: c.name,
      exit: r.status,
      note: `no JSON: ${r.stderr.split('\n').find((l) => l.startsWith('ctr-doctor')) ?? r.stderr.slice(0, 120)}`,
    };
  const started = Date.parse(report.startedAt);
  const checks = report.durationMs;
  const tail = t1 - (started + checks);
  const ok = checks + tail <= TIMEOUT + SLACK && rssKb <= RSS_LIMIT_KB;
  const errors = report.results
    .filter((x) => x.status === 'error')
    .map((x) => x.id)
    .join(' ');
  return {
    case: c.name,
    exit: r.status,
    'wall ms': t1 - t0,
    'start-up ms': started - t0,
    'checks ms': checks,
    'tail ms': tail,
    'checks+tail ≤': TIMEOUT + SLACK,
    'peak RSS MB': +(rssKb / 1024).toFixed(1),
    ok: ok ? 'yes' : 'NO',
    errors,
  };
}

let failed = false;
try {
  await buildWorld();
  const list = await cases();
  const rows = list.map(measure);
  const nodeStart = Date.now();
  spawnSync(process.execPath, ['-e', '0']);
  const nodeMs = Date.now() - nodeStart;
  console.log(
    `ctr-doctor bounds: --timeout ${TIMEOUT} ms; load average ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}; \`node -e 0\` takes ${nodeMs} ms here`,
  );
  console.table(rows);
  failed = rows.some((r) => r.ok !== 'yes');
  console.log(failed ? 'a bound was broken (see ok = NO)' : `every case within --timeout + ${SLACK} ms and ${RSS_LIMIT_KB / 1024} MB`);
} finally {
  for (const d of daemons) d.kill('SIGKILL');
  await Promise.all(daemons.map((d) => (d.exitCode === null && d.signalCode === null ? new Promise((r) => d.once('exit', r)) : null)));
  for (const u of undo.reverse()) {
    try {
      u();
    } catch (e) {
      console.error(`cleanup: ${e.message}`);
      failed = true;
    }
  }
  const left = readFileSync('/proc/self/mountinfo', 'utf8').includes(BASE) || sh(['ip', 'netns', 'list']).includes(`ctd-bench-${id}`);
  if (left) {
    console.error('bench/bounds.mjs left something behind');
    failed = true;
  }
}
process.exitCode = failed ? 1 : 0;
