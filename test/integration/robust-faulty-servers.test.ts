/**
 * Faulty servers, through the real CLI and the real probe child in a world namespace:
 * DNS servers that lie (wrong id), cut (truncated), babble (garbage), flood (64 KiB over TCP),
 * dawdle (answer after --timeout) or refuse over UDP only; X11 and PulseAudio sockets that
 * accept and hang up, or accept and never answer. Each gives a finding, never `error`, and
 * the run ends within --timeout + 0.5 s.
 */
import { chmodSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { endProbeChildren, runProbe } from '../../src/guest/probe-client.js';
import type { DnsVerdict } from '../../src/core/probe-types.js';
import { boundedRun, type BoundedRun, type ReportResult } from '../harness/bounded-run.js';
import { startFakeDns, type FakeDnsMode } from '../harness/fake-dns.js';
import { guestPath } from '../harness/rootfs.js';
import { describeIntegration } from '../harness/skip.js';
import { createWorld, type World } from '../harness/world.js';

/** Generous, so a loaded machine's slow probe start-up does not turn answers into timeouts. */
const TIMEOUT_MS = 3000;
/** One attempt of the probe child's own DNS query. */
const ATTEMPT_MS = 500;

/** What each faulty server must come out as: the probe's verdict, and dns.resolve's finding. */
const DNS_CASES: { mode: FakeDnsMode; verdict: DnsVerdict; code: string; detail?: RegExp; orCode?: string }[] = [
  // The probe waits out every attempt for the real answer behind a forged one; when that wait
  // overruns the check's budget (slow probe start-up on a loaded machine), the check says timeout.
  { mode: 'wrong-id', verdict: 'bad-response', code: 'server-bad-response', detail: /wrong id/, orCode: 'server-timeout' },
  { mode: 'truncated-udp', verdict: 'answer', code: 'server-answers' },
  { mode: 'garbage', verdict: 'bad-response', code: 'server-bad-response', detail: /malformed/, orCode: 'server-timeout' },
  { mode: 'big-tcp', verdict: 'answer', code: 'server-answers' },
  { mode: 'late', verdict: 'timeout', code: 'server-timeout' },
  { mode: 'silent', verdict: 'timeout', code: 'server-timeout' },
  { mode: 'refused-udp-ok-tcp', verdict: 'refused', code: 'server-refused' },
];

describeIntegration('faulty servers', () => {
  let w: World;
  const servers: net.Server[] = [];
  const connections = new Set<net.Socket>();
  const addrOf = (i: number): string => `203.0.113.${80 + i}`;

  beforeAll(async () => {
    w = await createWorld();
    for (const [i, c] of DNS_CASES.entries()) {
      await w.net.addLoAddress('inet', addrOf(i));
      // Twice the run's timeout: the answer comes when the tool has long given up.
      await startFakeDns(w.net, 'inet', addrOf(i), c.mode, w.cleanup, { delayMs: TIMEOUT_MS * 2 });
    }
  });
  afterAll(async () => {
    // The pooled probe children live in the guest roots (their cwd) until ended.
    await endProbeChildren();
    for (const c of connections) c.destroy();
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
    await w?.dispose();
  });

  test.each(DNS_CASES.map((c, i) => [c.mode, c, i] as const))(
    'DNS server mode %s: the probe child, in the guest namespace',
    async (_mode, c, i) => {
      const root = w.minimalRoot(`probe-${c.mode}`);
      const reply = await runProbe(
        { rootHostPath: root, netnsPath: w.net.guestNsPath, credentials: null },
        'dns-query',
        {
          server: addrOf(i),
          name: 'example.com',
          type: 'A',
          timeoutMs: ATTEMPT_MS,
          attempts: 2,
          transport: 'fallback',
        },
        TIMEOUT_MS * 2,
      );
      expect(reply.ok, JSON.stringify(reply)).toBe(true);
      if (!reply.ok) return;
      expect(reply.response.verdict).toBe(c.verdict);
      // Two UDP attempts, then at most one TCP attempt: the probe's own clock.
      expect(reply.response.elapsedMs).toBeLessThanOrEqual(3 * ATTEMPT_MS + 100);
      if (c.detail) expect(reply.response.detail).toMatch(c.detail);
      if (c.mode === 'truncated-udp' || c.mode === 'big-tcp') {
        expect(reply.response).toMatchObject({ transport: 'tcp', truncatedOverUdp: true });
      }
      if (c.mode === 'big-tcp') expect(reply.response.addresses.length).toBeGreaterThan(2000);
    },
  );

  test.each(DNS_CASES.map((c, i) => [c.mode, c, i] as const))('DNS server mode %s: dns.resolve through the CLI', async (_mode, c, i) => {
    const root = w.minimalRoot(`cli-${c.mode}`);
    writeFileSync(guestPath(root, '/etc/resolv.conf'), `nameserver ${addrOf(i)}\n`);
    const run = await boundedRun(`chroot:${root}`, ['--only', 'dns', '--dns-name', 'example.com'], {
      netns: w.net.guestNsPath,
      timeoutMs: TIMEOUT_MS,
    });
    const resolve = run.result('dns.resolve');
    expect(resolve.status).not.toBe('error');
    const codes = resolve.findings.map((f) => f.code);
    expect(
      codes.filter((code) => code === c.code || code === c.orCode),
      resolve.summary,
    ).not.toEqual([]);
    expect(resolve.status).toBe(c.verdict === 'answer' ? 'pass' : 'fail');
    for (const f of resolve.findings) expect(f.message.length, `${f.code} message is bounded`).toBeLessThan(4096);
  });

  /** A unix socket server inside the guest root that misbehaves. */
  const fakeSocket = async (root: string, path: string, mode: 'hang-up' | 'silent'): Promise<void> => {
    const host = guestPath(root, path);
    mkdirSync(host.slice(0, host.lastIndexOf('/')), { recursive: true });
    rmSync(host, { force: true });
    const server = net.createServer((conn) => {
      connections.add(conn);
      conn.on('close', () => connections.delete(conn));
      conn.on('error', () => undefined);
      if (mode === 'hang-up') conn.destroy();
      // silent: read whatever comes and never write.
    });
    servers.push(server);
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(host, resolve));
    chmodSync(host, 0o777);
  };

  /**
   * `fail` with `code`. A silent server holds the probe for its whole time; when the probe
   * child's own start-up eats the grace on top (a loaded machine), the check may instead end
   * as `error` saying the probe timed out. Never anything else.
   */
  const expectNoAnswer = (result: ReportResult, ...codes: string[]): void => {
    if (result.status === 'error') {
      expect(result.summary).toMatch(/timed out/);
      console.warn(`[robust-faulty-servers] ${result.id}: ${result.summary}`);
      return;
    }
    expect(result.status).toBe('fail');
    expect(
      result.findings.map((f) => f.code).filter((c) => codes.includes(c)),
      result.summary,
    ).not.toEqual([]);
  };

  const socketRun = async (root: string, env: Record<string, string>): Promise<BoundedRun> =>
    boundedRun(`chroot:${root}`, ['--only', 'x11,audio'], {
      netns: w.net.guestNsPath,
      timeoutMs: TIMEOUT_MS,
      env: { XAUTHORITY: '', ...env },
    });

  test.each(['hang-up', 'silent'] as const)('an X server that accepts and then %s', async (mode) => {
    const root = w.minimalRoot(`x11-${mode}`);
    await fakeSocket(root, '/tmp/.X11-unix/X42', mode);
    const run = await socketRun(root, { DISPLAY: ':42', PULSE_SERVER: '' });
    // Offered no cookie, a real X server refuses by hanging up (EPIPE): x11.socket reads an immediate
    // hang-up as that, so "no cookie" is as right as "no answer" here.
    expectNoAnswer(run.result('x11.socket'), 'x11-no-answer', ...(mode === 'hang-up' ? ['x11-no-cookie'] : []));
  });

  test.each(['hang-up', 'silent'] as const)('a PulseAudio socket that accepts and then %s', async (mode) => {
    const root = w.minimalRoot(`pulse-${mode}`);
    await fakeSocket(root, '/run/fakepulse/native', mode);
    const run = await socketRun(root, { DISPLAY: '', PULSE_SERVER: 'unix:/run/fakepulse/native' });
    expectNoAnswer(run.result('audio.pulse'), 'pulse-no-answer');
  });
});
