/**
 * dns.resolve and dns.stub on real guests: a chroot process, an schroot session process and a
 * booted nspawn machine, all living in the world's guest namespace, while ctr-doctor itself runs
 * in the offline namespace. One world for the file; each case rewrites the guests' resolv.conf.
 */
import { mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startChrootProcess } from '../harness/chroot-guest.js';
import { startDnsmasq, type DnsmasqHandle } from '../harness/dnsmasq.js';
import { startFakeDns } from '../harness/fake-dns.js';
import { bootNspawn, type NspawnGuest } from '../harness/nspawn-guest.js';
import { commOf, spawnDaemon, waitFor } from '../harness/proc.js';
import { beginSession, createSchroot, startSessionProcess } from '../harness/schroot-guest.js';
import { describeIntegration } from '../harness/skip.js';
import { runTool, validateReport } from '../harness/tool.js';
import { createWorld, type World } from '../harness/world.js';
import type { CheckResult, Report } from '../../src/core/types.js';

const REFUSING = '203.0.113.54';
const SILENT = '203.0.113.55';
const TCP_ONLY = '203.0.113.56';
/** Generous: other suites may share this machine's two cores. The silent-server case uses a tight one. */
const TIMEOUT_MS = 4000;
const TIGHT_TIMEOUT_MS = 1500;

interface Guest {
  kind: 'chroot' | 'schroot' | 'nspawn';
  spec: string;
  root: string;
}

describeIntegration('dns.resolve and dns.stub on chroot, schroot and nspawn', () => {
  let w: World;
  let guests: Guest[];
  let nspawn: NspawnGuest;
  let stub: DnsmasqHandle | null = null;

  /** Runs the checks on one guest from the offline namespace; validates the report. */
  async function diagnose(
    g: Guest,
    extra: string[] = [],
    timeoutMs = TIMEOUT_MS,
  ): Promise<{ exitCode: number; report: Report; ms: number; by: (id: string) => CheckResult }> {
    const t0 = performance.now();
    const r = await runTool(
      [g.spec, '--json', '--only', 'dns.resolve,dns.stub', '--dns-name', 'example.test', '--timeout', String(timeoutMs), ...extra],
      { netns: w.net.offNsPath },
    );
    const ms = performance.now() - t0;
    await validateReport(r.json);
    const report = r.json as Report;
    return { exitCode: r.exitCode, report, ms, by: (id) => report.results.find((x) => x.id === id)! };
  }
  /** One guest after the other: each run starts several probe processes. */
  const everyGuest = async <T>(fn: (g: Guest) => Promise<T>): Promise<T[]> => {
    const out: T[] = [];
    for (const g of guests) out.push(await fn(g));
    return out;
  };
  const setResolv = (text: string) =>
    guests.forEach((g) => {
      rmSync(join(g.root, 'etc/resolv.conf'), { force: true });
      writeFileSync(join(g.root, 'etc/resolv.conf'), text);
    });
  const codes = (r: CheckResult) => r.findings.map((f) => f.code);

  beforeAll(async () => {
    w = await createWorld({ dns: true });
    for (const a of [REFUSING, SILENT, TCP_ONLY]) await w.net.addLoAddress('inet', a);
    // dnsmasq without --local=/#/: names it does not know get REFUSED.
    await startDnsmasq(w.net, 'inet', { listen: [REFUSING] }, w.cleanup);
    await startFakeDns(w.net, 'inet', SILENT, 'silent', w.cleanup);
    await startFakeDns(w.net, 'inet', TCP_ONLY, 'truncated-udp', w.cleanup);

    const c = await w.guestRoot('chroot');
    await startChrootProcess(w.net, c.root, {}, w.cleanup);
    const s = await w.guestRoot('schroot');
    const name = w.name('s');
    createSchroot(w.net, s.root, name, w.cleanup);
    const sid = await beginSession(name, w.name('s1'));
    await startSessionProcess(w.net, sid, w.cleanup);
    const n = await w.guestRoot('nspawn');
    nspawn = await bootNspawn(w.net, n.root, w.name('n'), w.cleanup);
    guests = [
      { kind: 'chroot', spec: `chroot:${c.root}`, root: c.root },
      { kind: 'schroot', spec: `session:${sid}`, root: s.root },
      { kind: 'nspawn', spec: `nspawn:${nspawn.machine}`, root: n.root },
    ];
  }, 120_000);
  afterAll(async () => w?.dispose());

  test('working DNS: the server answers and glibc agrees', async () => {
    setResolv(`nameserver ${w.net.dnsV4}\n`);
    for (const { exitCode, by } of await everyGuest((g) => diagnose(g))) {
      expect(exitCode).toBe(0);
      expect(by('dns.resolve').status).toBe('pass');
      expect(codes(by('dns.resolve'))).toEqual(expect.arrayContaining(['server-answers', 'glibc-resolves']));
      expect(by('dns.resolve').findings[0]?.message).toContain('203.0.113.53 answers example.test: 203.0.113.10');
      expect(by('dns.stub').status).toBe('pass');
    }
  });

  test('REFUSED from a dnsmasq without --local=/#/', async () => {
    setResolv(`nameserver ${REFUSING}\n`);
    for (const { exitCode, by } of await everyGuest((g) => diagnose(g))) {
      expect(exitCode).toBe(1);
      expect(codes(by('dns.resolve'))[0]).toBe('server-refused');
      expect(by('dns.resolve').summary).toContain('status: REFUSED');
    }
  });

  test('a silent server: timeout, and the run stays within --timeout', async () => {
    setResolv(`nameserver ${SILENT}\noptions timeout:5 attempts:2\n`);
    for (const { by } of await everyGuest((g) => diagnose(g, [], TIGHT_TIMEOUT_MS))) {
      const r = by('dns.resolve');
      expect(r.status).toBe('fail');
      expect(codes(r)[0]).toBe('server-timeout');
      expect(r.durationMs).toBeLessThanOrEqual(TIGHT_TIMEOUT_MS + 100);
      expect(codes(r)).toContain('glibc-fails-too');
    }
  });

  test('an answer only over TCP (truncated over UDP)', async () => {
    setResolv(`nameserver ${TCP_ONLY}\n`);
    for (const { by } of await everyGuest((g) => diagnose(g))) {
      const f = by('dns.resolve').findings[0]!;
      expect(f.code).toBe('server-answers');
      expect(f.evidence).toMatchObject({ a: { transport: 'tcp', addresses: ['203.0.113.10'] } });
      expect(f.message).toContain('over TCP after a truncated UDP answer');
    }
  });

  test('IPv6 nameserver, and a dead first server before a working one', async () => {
    setResolv(`# variant with comments\nsearch example.test\nnameserver ${w.net.dnsV6}\n`);
    for (const { by } of await everyGuest((g) => diagnose(g))) {
      expect(by('dns.resolve').status).toBe('pass');
      expect(by('dns.resolve').findings[0]?.evidence).toMatchObject({ server: '2001:db8:53::53' });
    }
    setResolv(`nameserver ${SILENT}\nnameserver ${w.net.dnsV4}\noptions timeout:1 attempts:1\n`);
    for (const { by } of await everyGuest((g) => diagnose(g))) {
      const r = by('dns.resolve');
      expect(r.status).toBe('warn');
      expect(r.findings.find((f) => f.code === 'server-fails-others-answer')?.evidence).toMatchObject({
        server: SILENT,
        a: { verdict: 'timeout' },
      });
      expect(r.findings.find((f) => f.code === 'resolve-plan')?.evidence).toMatchObject({ attempts: 1, attemptMs: 1000 });
    }
  });

  test('no nameserver: dns.resolve skips and points at dns.resolv-conf', async () => {
    setResolv('# nothing here\n');
    for (const { by } of await everyGuest((g) => diagnose(g))) {
      expect(by('dns.resolve').status).toBe('skip');
      expect(by('dns.resolve').summary).toContain('dns.resolv-conf');
    }
  });

  test("127.0.0.53 with nothing listening, then a live stub in the guest's namespace", async () => {
    setResolv('nameserver 127.0.0.53\noptions edns0 trust-ad\n');
    const dead = await everyGuest((g) => diagnose(g));
    for (const { by } of dead) {
      const s = by('dns.stub');
      expect(s.status).toBe('fail');
      const f = s.findings.find((x) => x.code === 'stub-not-listening')!;
      expect(f.message).toContain("nothing listens there in the guest's network namespace: connection refused");
      expect(f.evidence.port53Listeners).toEqual([]);
      expect(by('dns.resolve').findings[0]?.code).toBe('server-unreachable');
    }
    const fixIds = dead.map(({ by }) => by('dns.stub').fixes.map((f) => f.id));
    expect(fixIds[0]).toContain('dns.chroot-upstream-resolv-conf');
    expect(fixIds[1]).toContain('dns.schroot-upstream-resolv-conf');
    expect(fixIds[2]).toEqual(['dns.nspawn-resolv-conf-uplink', 'dns.enable-guest-resolved']);

    stub = await startDnsmasq(w.net, 'guest', { listen: ['127.0.0.53'], server: w.net.dnsV4 }, w.cleanup);
    for (const { exitCode, by } of await everyGuest((g) => diagnose(g))) {
      expect(exitCode).toBe(0);
      expect(codes(by('dns.stub'))).toEqual(['stub-answers']);
      expect(by('dns.resolve').findings[0]?.message).toContain('127.0.0.53 answers example.test: 203.0.113.10');
    }
    await stub.stop();
  });

  test('resolvconf wrote an empty file (Loki): enable resolved and networkd in the booted nspawn guest', async () => {
    setResolv('');
    const fake = join(guests[2]!.root, 'sbin/resolvconf');
    writeFileSync(fake, '#!/bin/sh\nexit 0\n', { mode: 0o755 });
    try {
      const { by } = await diagnose(guests[2]!);
      const s = by('dns.stub');
      expect(codes(s)).toContain('resolvconf-empty');
      const fix = s.fixes.find((f) => f.id === 'dns.enable-guest-resolved')!;
      expect(fix.steps).toEqual(
        expect.arrayContaining([
          expect.objectContaining({
            kind: 'exec',
            where: 'guest',
            argv: ['systemctl', 'enable', '--now', 'systemd-networkd', 'systemd-resolved'],
          }),
          expect.objectContaining({
            kind: 'symlink',
            where: 'guest',
            path: '/etc/resolv.conf',
            target: '/run/systemd/resolve/resolv.conf',
          }),
        ]),
      );
    } finally {
      rmSync(fake, { force: true });
    }
  });

  test("resolved processes in one namespace: the guest's and another system's, told apart", async () => {
    setResolv('nameserver 127.0.0.53\n');
    // Processes named systemd-resolved (comm "systemd-resolve"), one in each guest and one outside them.
    const link = (root: string) => {
      const p = join(root, 'usr/local/lib/ctd-fake/systemd-resolved');
      mkdirSync(dirname(p), { recursive: true });
      rmSync(p, { force: true });
      symlinkSync('/usr/bin/sleep', p);
      return '/usr/local/lib/ctd-fake/systemd-resolved';
    };
    mkdirSync(join(w.stateDir, 'fake'), { recursive: true });
    symlinkSync('/usr/bin/sleep', join(w.stateDir, 'fake', 'systemd-resolved'));
    // As the real one, not as root (the host scan rules out root's processes by the owner of /proc/PID).
    const host = spawnDaemon(
      'fake host resolved',
      [
        'nsenter',
        `--net=${w.net.guestNsPath}`,
        'setpriv',
        '--reuid=65534',
        '--regid=65534',
        '--clear-groups',
        join(w.stateDir, 'fake', 'systemd-resolved'),
        '100000',
      ],
      w.cleanup,
    );
    await waitFor('fake host resolved', () => commOf(host.pid) === 'systemd-resolve', { timeoutMs: 5_000, intervalMs: 10 });
    const inChroot = await startChrootProcess(w.net, guests[0]!.root, { uid: 65534, cmd: [link(guests[0]!.root), '100000'] }, w.cleanup);
    await nspawn.exec(['systemd-run', '--quiet', '--unit=ctd-fake-resolved', '-p', 'User=nobody', link(guests[2]!.root), '100000']);
    try {
      for (const g of [guests[0]!, guests[2]!]) {
        const { by } = await diagnose(g);
        const s = by('dns.stub');
        const seen = s.findings.find((f) => f.code === 'resolved-processes');
        expect(seen, JSON.stringify(s.findings)).toBeDefined();
        // Told apart by the guest's root (chroot) or PID namespace (nspawn), not by mount namespace.
        expect(seen!.evidence.sameNetns).toContain(host.pid);
        expect((seen!.evidence.guest as number[]).length).toBe(1);
        if (g.kind === 'chroot') expect(seen!.evidence.guest).toEqual([inChroot.pid]);
        // Sleeping impostors hold no stub and have no upstream list: nothing is blamed on them (real-juno.test.ts has the real pair).
        expect(s.fixes.map((f) => f.id)).not.toContain('dns.disable-guest-resolved');
      }
    } finally {
      await nspawn.exec(['systemctl', 'stop', 'ctd-fake-resolved']);
      await inChroot.stop();
      await host.stop();
    }
  });

  test('--compare-host, with ctr-doctor in the offline namespace as "the host"', async () => {
    setResolv(`nameserver ${REFUSING}\n`);
    const { by } = await diagnose(guests[0]!, ['--compare-host']);
    const f = by('dns.resolve').findings.find((x) => x.code === 'host-fails-too' || x.code === 'host-compare-unavailable');
    // The offline namespace has no route: the host's nameservers cannot be reached from it.
    expect(f?.code).toBe('host-fails-too');
    expect(by('dns.resolve').status).toBe('fail');
  });
});
