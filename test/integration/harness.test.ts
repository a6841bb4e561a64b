/**
 * Tests of the integration harness itself: they prove that a world really
 * works (fake internet, DNS servers, chroot, schroot, nspawn, X11, PulseAudio)
 * and that tearing it down leaves the host exactly as it was.
 */
import { connect } from 'node:net';
import { readlinkSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { mountChrootApi, startChrootProcess } from '../harness/chroot-guest.js';
import { Cleanup } from '../harness/cleanup.js';
import { startDnsmasq } from '../harness/dnsmasq.js';
import { startFakeDns, type FakeDnsMode } from '../harness/fake-dns.js';
import { bootNspawn } from '../harness/nspawn-guest.js';
import { isAlive, must, rootOf, spawnedPids } from '../harness/proc.js';
import { makeStaleSocket } from '../harness/pulse.js';
import {
  beginSession,
  createSchroot,
  endSession,
  runInSession,
  sessionListed,
  simulateReboot,
  startSessionProcess,
} from '../harness/schroot-guest.js';
import { describeIntegration } from '../harness/skip.js';
import { runTool, validateReport } from '../harness/tool.js';
import { allocatedDisplays } from '../harness/xvfb.js';
import { createWorld, diffSnapshots, hostSnapshot, type HostSnapshot, type World } from '../harness/world.js';

const timings: Record<string, number> = {};
const worldIds: string[] = [];
const timed = async <T>(label: string, fn: () => Promise<T>): Promise<T> => {
  const t0 = performance.now();
  try {
    return await fn();
  } finally {
    timings[label] = Math.round(performance.now() - t0);
  }
};

describeIntegration('integration harness', () => {
  let before: HostSnapshot;
  beforeAll(async () => {
    before = await hostSnapshot();
  });

  test('Cleanup runs in reverse order and reports every failure', async () => {
    const logged: string[] = [];
    const c = new Cleanup('t', (m) => void logged.push(m));
    const order: string[] = [];
    c.defer('a', () => void order.push('a'));
    c.defer('b', () => {
      order.push('b');
      throw new Error('b broke');
    });
    c.defer('c', async () => void order.push('c'));
    const err = await c.run().catch((e: unknown) => e);
    expect(order).toEqual(['c', 'b', 'a']);
    expect(err).toBeInstanceOf(AggregateError);
    expect(String((err as Error).message)).toContain('b');
    expect(c.pending).toBe(0);
    expect(logged).toHaveLength(1);
  });

  describeIntegration('world', () => {
    let w: World;
    const dig = (ns: string, ...args: string[]) => w.net.exec(ns, ['dig', '+time=1', '+tries=1', ...args]);

    beforeAll(async () => {
      w = await timed('world up', () => createWorld());
      worldIds.push(w.id);
      await timed('dnsmasq up', () => w.dns());
    });
    afterAll(async () => {
      await timed('world down', async () => w?.dispose());
      console.log(`[harness timings ms] ${JSON.stringify(timings)}`);
    });

    test('guest ns reaches the fake internet over IPv4 and IPv6', async () => {
      const r4 = await w.net.exec('guest', ['ping', '-c1', '-W1', w.net.webV4]);
      expect(r4.exitCode, r4.stdout + r4.stderr).toBe(0);
      const r6 = await w.net.exec('guest', ['ping', '-6', '-c1', '-W1', w.net.dnsV6]);
      expect(r6.exitCode, r6.stdout + r6.stderr).toBe(0);
    });

    test('offline ns: Network is unreachable, at once', async () => {
      const r = await w.net.exec('off', ['ping', '-c1', '-W1', '8.8.8.8']);
      expect(r.exitCode).toBe(2);
      expect(r.stderr).toContain('Network is unreachable');
      expect(r.durationMs).toBeLessThan(1_000);
    });

    test('dnsmasq answers from the guest ns (v4, v6); unknown names NXDOMAIN', async () => {
      expect((await dig('guest', '+short', `@${w.net.dnsV4}`, 'example.test')).stdout.trim()).toBe('203.0.113.10');
      expect((await dig('guest', '+short', `@${w.net.dnsV6}`, 'example.com')).stdout.trim()).toBe('203.0.113.10');
      expect((await dig('guest', `@${w.net.dnsV4}`, 'nothing.invalid')).stdout).toContain('status: NXDOMAIN');
    });

    test('dnsmasq without localOnly: unknown names REFUSED', async () => {
      await w.net.addLoAddress('inet', '203.0.113.54');
      await startDnsmasq(w.net, 'inet', { listen: ['203.0.113.54'], records: { 'a.test': '203.0.113.10' } }, w.cleanup);
      expect((await dig('guest', `@203.0.113.54`, 'nothing.invalid')).stdout).toContain('status: REFUSED');
      expect((await dig('guest', '+short', `@203.0.113.54`, 'a.test')).stdout.trim()).toBe('203.0.113.10');
    });

    test('fake resolved stub on 127.0.0.53 in the guest ns forwards to 203.0.113.53', async () => {
      const none = await dig('guest', '@127.0.0.53', 'example.test');
      expect(none.exitCode).toBe(9);
      await startDnsmasq(w.net, 'guest', { listen: ['127.0.0.53'], server: w.net.dnsV4 }, w.cleanup);
      expect((await dig('guest', '+short', '@127.0.0.53', 'example.test')).stdout.trim()).toBe('203.0.113.10');
    });

    const modes: [FakeDnsMode, (udp: string, tcp: string, udpRc: number) => void][] = [
      ['ok', (u, t) => (expect(u).toMatch(/status: NOERROR[\s\S]*203\.0\.113\.10/), expect(t).toContain('203.0.113.10'))],
      ['silent', (u, t, rc) => (expect(rc).toBe(9), expect(u + t).toContain('timed out'))],
      ['wrong-id', (u, _t, rc) => (expect(rc).toBe(9), expect(u).toContain('ID mismatch'))],
      ['garbage', (u, _t, rc) => (expect(rc).not.toBe(0), expect(u).not.toContain('status:'))],
      ['truncated-udp', (u, t) => (expect(u).toMatch(/flags: qr aa tc/), expect(t).toMatch(/NOERROR[\s\S]*203\.0\.113\.10/))],
      ['refused-udp-ok-tcp', (u, t) => (expect(u).toContain('status: REFUSED'), expect(t).toMatch(/NOERROR[\s\S]*203\.0\.113\.10/))],
      ['late', (u, _t, rc) => (expect(rc).toBe(9), expect(u).toContain('timed out'))],
      ['big-tcp', (u, t) => (expect(u).toMatch(/flags: qr aa tc/), expect(t).toMatch(/ANSWER: (2[0-9]{3}|[3-9][0-9]{3})/))],
      ['servfail', (u, t) => (expect(u).toContain('status: SERVFAIL'), expect(t).toContain('status: SERVFAIL'))],
      ['nxdomain', (u, t) => (expect(u).toContain('status: NXDOMAIN'), expect(t).toContain('status: NXDOMAIN'))],
    ];
    test.each(modes.map(([m, f], i) => [m, f, `203.0.113.${60 + i}`] as const))('fake DNS server mode %s', async (mode, check, addr) => {
      await w.net.addLoAddress('inet', addr);
      const s = await startFakeDns(w.net, 'inet', addr, mode, w.cleanup, { delayMs: 2_500 });
      const udp = await dig('guest', '+ignore', '+notcp', `@${addr}`, 'example.com');
      const tcp = await dig('guest', '+tcp', `@${addr}`, 'example.com');
      check(udp.stdout + udp.stderr, tcp.stdout + tcp.stderr, udp.exitCode);
      if (mode === 'truncated-udp' || mode === 'big-tcp') {
        // dig's default: retry over TCP after TC.
        const auto = await dig('guest', `@${addr}`, 'example.com');
        expect(auto.stdout).toMatch(/NOERROR[\s\S]*203\.0\.113\./);
      }
      if (mode === 'late') {
        const slow = await w.net.exec('guest', ['dig', '+time=5', '+tries=1', '+short', `@${addr}`, 'example.com']);
        expect(slow.stdout.trim()).toBe('203.0.113.10');
      }
      await s.stop();
    });

    test('fake DNS server over IPv6', async () => {
      await w.net.addLoAddress('inet', '2001:db8:53::60');
      await startFakeDns(w.net, 'inet', '2001:db8:53::60', 'servfail', w.cleanup);
      expect((await dig('guest', '@2001:db8:53::60', 'example.com')).stdout).toContain('status: SERVFAIL');
    });

    test('chroot with API mounts and a process in the guest netns (root path with a space)', async () => {
      const g = await w.guestRoot('chroot root');
      expect(g.root).toContain(' ');
      expect(g.user.uid).toBe(1000);
      const made = await mountChrootApi(g.root, w.cleanup, { run: true, x11: true });
      expect(made.map((p) => p.slice(g.root.length))).toEqual(['/proc', '/sys', '/dev', '/run', '/tmp/.X11-unix']);
      const p = await startChrootProcess(w.net, g.root, { uid: 1000 }, w.cleanup);
      expect(rootOf(p.pid)).toBe(g.root);
      expect(readlinkSync(`/proc/${p.pid}/ns/net`)).toBe(`net:[${statSync(w.net.guestNsPath).ino}]`);
      expect(statSync(`/proc/${p.pid}`).uid).toBe(1000);
      const r = await w.net.exec('guest', ['chroot', g.root, 'getent', 'hosts', 'example.test']);
      expect(r.stdout).toContain('203.0.113.10');
      const u = await must(['chroot', g.root, 'getent', 'passwd', '1000']);
      expect(u.split(':')[0]).toBe(g.user.name);
      await p.stop();
      expect(isAlive(p.pid)).toBe(false);
    });

    test('schroot: begin, run in the guest netns, stale after a simulated reboot, end', async () => {
      const g = await w.guestRoot('schroot root');
      const name = w.name('s');
      createSchroot(w.net, g.root, name, w.cleanup, {
        fstabLines: ['/proc /proc none rw,bind 0 0', '/dev /dev none rw,bind 0 0'],
      });
      const sid = await timed('schroot begin', () => beginSession(name, w.name('s1')));
      expect(await sessionListed(sid)).toBe(true);
      const r = await runInSession(w.net, sid, ['sh', '-c', 'cat /etc/resolv.conf; echo $SCHROOT_SESSION_ID; readlink /proc/self/ns/net']);
      expect(r.exitCode, r.stderr).toBe(0);
      expect(r.stdout).toContain('nameserver 203.0.113.53');
      expect(r.stdout).toContain(sid);
      expect(r.stdout).toContain(`net:[${statSync(w.net.guestNsPath).ino}]`);
      const p = await startSessionProcess(w.net, sid, w.cleanup);
      expect(rootOf(p.pid)).toBe(`/run/schroot/mount/${sid}`);
      await simulateReboot(sid);
      expect(isAlive(p.pid)).toBe(false);
      expect(await sessionListed(sid)).toBe(true);
      const stale = await runInSession(w.net, sid, ['true']);
      expect(stale.exitCode).not.toBe(0);
      await timed('schroot end (stale)', () => endSession(sid));
      expect(await sessionListed(sid)).toBe(false);
      // A second, healthy session is ended by the world's cleanup.
      const sid2 = await beginSession(name, w.name('s2'));
      await startSessionProcess(w.net, sid2, w.cleanup);
    });

    test('systemd-nspawn boots the overlay to running and powers off', async () => {
      const g = await w.guestRoot('nspawn');
      const n = await timed('nspawn boot', () => bootNspawn(w.net, g.root, w.name('n'), w.cleanup, { bindRo: ['/tmp/.X11-unix'] }));
      expect(n.state).toBe('running');
      const r = await n.exec(['sh', '-c', 'cat /etc/resolv.conf; systemd-detect-virt; readlink /proc/self/ns/net']);
      expect(r.stdout).toContain('nameserver 203.0.113.53');
      expect(r.stdout).toContain('systemd-nspawn');
      expect(r.stdout).toContain(`net:[${statSync(w.net.guestNsPath).ino}]`);
      const ping = await n.exec(['ping', '-c1', '-W1', w.net.webV4]);
      expect(ping.exitCode, ping.stdout + ping.stderr).toBe(0);
      await timed('nspawn poweroff', () => n.poweroff());
      expect(isAlive(n.nspawnPid)).toBe(false);
      expect(isAlive(n.leaderPid)).toBe(false);
    });

    test('Xvfb: right cookie works, wrong cookie is "Invalid MIT-MAGIC-COOKIE-1 key"', async () => {
      const x = await timed('xvfb up', () => w.xvfb());
      const ok = await w.net.exec('guest', ['xdpyinfo', '-display', x.displayName], {
        env: { XAUTHORITY: x.authFile },
      });
      expect(ok.exitCode, ok.stderr).toBe(0);
      expect(ok.stdout).toContain('name of display');
      const bad = join(w.stateDir, 'bad.Xauthority');
      writeFileSync(bad, '');
      await must(['unshare', '--net', 'xauth', '-q', '-f', bad, 'add', x.displayName, '.', '0'.repeat(32)]);
      const wrong = await w.net.exec('guest', ['xdpyinfo', '-display', x.displayName], { env: { XAUTHORITY: bad } });
      expect(wrong.exitCode).not.toBe(0);
      expect(wrong.stderr).toContain('Invalid MIT-MAGIC-COOKIE-1 key');
      const none = await w.net.exec('guest', ['xdpyinfo', '-display', x.displayName], {
        env: { XAUTHORITY: join(w.stateDir, 'missing') },
      });
      expect(none.stderr).toContain('Authorization required');
    });

    test('pulseaudio: pactl info through the socket; a stale socket refuses', async () => {
      const p = await timed('pulse up', () => w.pulse());
      const r = await w.net.exec('guest', ['pactl', 'info'], { env: { PULSE_SERVER: p.server, HOME: w.stateDir } });
      expect(r.exitCode, r.stderr).toBe(0);
      expect(r.stdout).toContain('Default Sink: ctrtest');
      const stale = join(w.stateDir, 'stale.sock');
      await makeStaleSocket(stale);
      const code = await new Promise<string>((resolve) => {
        const s = connect({ path: stale });
        s.on('connect', () => (s.destroy(), resolve('connected')));
        s.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'unknown'));
      });
      expect(code).toBe('ECONNREFUSED');
    });

    test('runTool refuses the host network namespace', async () => {
      await expect(runTool(['schema'], { netns: `/proc/${process.pid}/ns/net` })).rejects.toThrow(/host's network namespace/);
    });

    test('runTool runs the built CLI in a world netns; validateReport uses its schema', async () => {
      const r = await runTool(['schema'], { netns: w.net.offNsPath });
      expect(r.exitCode, r.stderr).toBe(0);
      expect((r.json as { $schema?: string }).$schema).toMatch(/json-schema/);
      await expect(validateReport({ schemaVersion: 1 })).rejects.toThrow(/does not match the schema/);
    });

    test('a world snapshot ignores the world itself', async () => {
      const a = await w.hostSnapshot();
      expect(a.netns.filter((n) => n.startsWith(`ctd-${w.id}`))).toEqual([]);
      expect(a.mounts.filter((m) => m.startsWith(w.base))).toEqual([]);
    });
  });

  test('nothing is left behind on the host', async () => {
    const after = await hostSnapshot();
    const diff = diffSnapshots(before, after);
    // Other runs may share this machine (their netns, worlds, daemons). Judge only what can be ours;
    // on a dedicated CI machine nothing is foreign and this is a plain equality.
    const foreignNetns = after.netns.some((n) => !worldIds.some((id) => n.startsWith(`ctd-${id}-`)));
    const isForeign = (l: string): boolean => {
      const ns = /^[+-] (?:netns: |mounts: \/run\/netns\/)([^ ]+)/.exec(l);
      if (ns) return !worldIds.some((id) => ns[1]!.startsWith(`ctd-${id}-`));
      const ids = [...l.matchAll(/(?:ctd-|\/tmp\/ctrtest-)([a-z0-9]+)/g)].map((m) => m[1]!);
      if (ids.length) return !ids.some((id) => worldIds.includes(id));
      const proc = /^[+-] processes: (\d+) /.exec(l);
      if (proc) return !spawnedPids.has(Number(proc[1]));
      // The nspawn harness's shared tmpfs comes and goes with other files' machines; suite-guard judges it at the end.
      if (/^[+-] mounts: \/run\/systemd\/nspawn tmpfs ctrtest_nspawn/.test(l)) return true;
      const x = /^[+-] x11: .*X(\d+)/.exec(l);
      if (x) return !allocatedDisplays.has(Number(x[1]));
      return foreignNetns && /^[+-] mounts: \/run\/netns /.test(l);
    };
    const foreign = diff.filter(isForeign);
    if (foreign.length) console.warn(`[harness] ignoring changes made by other runs:\n${foreign.join('\n')}`);
    expect(diff.filter((l) => !isForeign(l))).toEqual([]);
  });
});
