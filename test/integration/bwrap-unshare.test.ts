/**
 * Guests made by bubblewrap and unshare, opened with `pid:N`: the tool (itself in a test
 * netns) must read files through the guest's own root and mount namespace, and probe from
 * the guest's own network namespace (an empty one: "Network is unreachable", no packet out).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { killSync } from '../harness/cleanup.js';
import { commOf, descendantsOf, spawnDaemon, waitFor } from '../harness/proc.js';
import { describeIntegration, requireTool } from '../harness/skip.js';
import { runTool, validateReport } from '../harness/tool.js';
import { createWorld, type World } from '../harness/world.js';
import type { Report } from '../../src/core/types.js';

const GUEST_ENV = { PATH: '/usr/bin:/bin', HOME: '/root', DISPLAY: ':93', XDG_RUNTIME_DIR: '/run/user/0' };

describeIntegration('pid:N guests from bwrap and unshare', () => {
  let w: World;
  let dir: string;
  beforeAll(async () => {
    w = await createWorld();
    dir = mkdtempSync(join(tmpdir(), 'ctd-pidguest-'));
  }, 60_000);
  afterAll(async () => {
    await w?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Starts `argv` and returns the PID of the `sleep` it ends up running (a child or grandchild). */
  async function sleeperOf(label: string, argv: string[]): Promise<number> {
    const d = spawnDaemon(label, argv, w.cleanup, { env: GUEST_ENV, cleanEnv: true });
    let pid = 0;
    await waitFor(
      `${label}: its sleep`,
      () => {
        if (d.child.exitCode !== null) throw new Error(`${label} exited: ${d.output()}`);
        pid = descendantsOf(d.pid).find((p) => commOf(p) === 'sleep') ?? 0;
        return pid > 0;
      },
      { timeoutMs: 10_000, intervalMs: 20 },
    );
    w.cleanup.defer(`kill sleep ${pid}`, () => killSync(pid));
    return pid;
  }

  /** The tool, in the world's guest netns, on `pid:N` with the default ping target. */
  async function diagnose(pid: number): Promise<{ report: Report; stderr: string }> {
    const r = await runTool([`pid:${pid}`, '--json', '--dns-name', 'example.com', '--timeout', '8000'], { netns: w.net.guestNsPath });
    await validateReport(r.json);
    return { report: r.json as Report, stderr: r.stderr };
  }
  const result = (rep: Report, id: string) => rep.results.find((x) => x.id === id);

  function assertInsideEmptyNetns(rep: Report, nameserver: string): void {
    // Files through the guest's root: the resolv.conf the guest sees, not the host's.
    // A file bound over /etc/resolv.conf is a bind mount from the host: said as a warning.
    expect(result(rep, 'dns.resolv-conf')?.status).toMatch(/^(pass|warn)$/);
    // Probes from the guest's own (empty) netns: nothing is reachable there.
    const ping = result(rep, 'net.ping')!;
    expect(ping.status).toBe('fail');
    expect(ping.findings.map((f) => f.code)).toContain('ping-no-route');
    expect(JSON.stringify(ping)).toMatch(/Network is unreachable/i);
    expect(result(rep, 'dns.resolve')?.status).toBe('fail');
    expect(result(rep, 'dns.resolve')?.summary).toContain(`${nameserver}: Network is unreachable`);
    // The desktop checks ran inside (they may fail or warn: there is no X or pulse there), never "could not run".
    for (const id of ['x11.display', 'x11.socket', 'audio.pulse', 'dconf.runtime-dir']) {
      const r = result(rep, id);
      expect(r, id).toBeDefined();
      expect(r!.status, `${id}: ${r!.summary}`).not.toBe('error');
    }
    expect(rep.target.kind).toBe('pid');
  }

  describe.skipIf(requireTool('bwrap') !== null)('bwrap', () => {
    test('bwrap --unshare-net --ro-bind ROOT /: pid:N reads its root and probes from its netns', async () => {
      const resolv = join(dir, 'bwrap-resolv.conf');
      writeFileSync(resolv, 'nameserver 192.0.2.53\n');
      // A root of its own: a guest whose root is the host's / is refused (audit M7, asserted below).
      const { root } = await w.guestRoot('bwrap');
      const pid = await sleeperOf('bwrap', [
        'bwrap',
        '--unshare-net',
        '--die-with-parent',
        '--ro-bind',
        root,
        '/',
        '--dev',
        '/dev',
        '--proc',
        '/proc',
        '--ro-bind',
        resolv,
        '/etc/resolv.conf',
        'sleep',
        '600',
      ]);
      const { report, stderr } = await diagnose(pid);
      expect(report.target).toMatchObject({ name: `pid:${pid}`, pid });
      assertInsideEmptyNetns(report, '192.0.2.53');
      expect(stderr).not.toMatch(/\n\s+at /);
    });
  });

  describe.skipIf(requireTool('unshare') !== null)('unshare', () => {
    test('unshare --net --mount --fork: pid:N sees the guest mount namespace and its empty netns', async () => {
      const resolv = join(dir, 'unshare-resolv.conf');
      writeFileSync(resolv, 'nameserver 192.0.2.54\n');
      const { root } = await w.guestRoot('unshare');
      // The bind exists only in the new mount namespace (unshare makes it private); the sleep runs chrooted in a root of its own.
      const pid = await sleeperOf('unshare', [
        'unshare',
        '--net',
        '--mount',
        '--fork',
        '--kill-child',
        'sh',
        '-c',
        `mount --bind ${resolv} ${root}/etc/resolv.conf && exec /usr/sbin/chroot ${root} sleep 600`,
      ]);
      const { report } = await diagnose(pid);
      expect(report.target).toMatchObject({ name: `pid:${pid}`, root: expect.stringMatching(/^\/proc\/\d+\/root$/) });
      assertInsideEmptyNetns(report, '192.0.2.54');
    });

    test("a process whose root is the host's own / is refused as a guest (audit M7): exit 2, one line", async () => {
      const pid = await sleeperOf('unshare-host-root', ['unshare', '--net', '--mount', '--fork', '--kill-child', 'sleep', '600']);
      const r = await runTool([`pid:${pid}`, '--json'], { netns: w.net.guestNsPath });
      expect(r.exitCode).toBe(2);
      expect(r.stderr).toMatch(/is the host's own \/, not a guest/);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    });
  });
});
