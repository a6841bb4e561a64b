/**
 * A healthy desktop guest (X11 + Wayland + PipeWire + D-Bus), every server real
 * (test/harness/desktop-world.ts): `ctr-doctor check` on it must find every desktop check green,
 * with no warning, and exit 0. The README's "A healthy desktop guest" shows this run's screen.
 */
import { afterAll, beforeAll, expect, test } from 'vitest';
import { createDesktopWorld, type DesktopWorld } from '../harness/desktop-world.js';
import { describeIntegration } from '../harness/skip.js';
import { runTool, validateReport } from '../harness/tool.js';
import { createWorld, type World } from '../harness/world.js';
import type { Report } from '../../src/core/types.js';

/** Every check that looks at the desktop session, by id or group. */
const DESKTOP = /^(x11\.|wayland\.|dbus\.|audio\.|dconf\.runtime-dir$|dev\.|session\.user$)/;
/** Checks that must be there: the desktop world is for them. */
const EXPECTED = [
  'x11.display',
  'x11.socket',
  'x11.mitshm',
  'audio.pipewire',
  'wayland.socket',
  'dbus.session',
  'dbus.system',
  'dbus.machine-id',
  'audio.pulse',
  'dconf.runtime-dir',
  'dev.pts',
  'dev.shm',
  'dev.access',
  'session.user',
];

describeIntegration('a healthy desktop guest', () => {
  let w: World;
  let d: DesktopWorld;
  const args = () => [
    'check',
    `chroot:${d.root}`,
    '--env-from',
    String(d.sessionPid),
    '--ping-target',
    '203.0.113.10',
    '--dns-name',
    'example.com',
    '--timeout',
    '5000',
  ];

  beforeAll(async () => {
    w = await createWorld({ dns: true });
    d = await createDesktopWorld(w);
  }, 90_000);
  afterAll(async () => w?.dispose());

  test('every desktop check passes with no warning, and the whole run exits 0', async () => {
    const r = await runTool([...args(), '--json'], { netns: w.net.guestNsPath, mountNs: d.mountNs, timeoutMs: 120_000 });
    await validateReport(r.json);
    const report = r.json as Report;
    const desktop = report.results.filter((c) => DESKTOP.test(c.id));
    expect(desktop.map((c) => c.id)).toEqual(expect.arrayContaining(EXPECTED));
    for (const c of desktop) {
      expect(c.status, `${c.id}: ${c.summary}`).toBe('pass');
      expect(c.findings.filter((f) => f.severity !== 'info').map((f) => `${c.id} ${f.code}: ${f.message}`)).toEqual([]);
    }
    // The rest (network, DNS, mounts, system plumbing) is healthy too, so the run as a whole passes.
    const notPassing = report.results
      .filter((c) => c.status !== 'pass' && c.status !== 'skip')
      .map((c) => `${c.id} ${c.status}: ${c.summary}`);
    expect(notPassing).toEqual([]);
    expect(r.exitCode, r.stderr).toBe(0);
  }, 150_000);

  test('the servers answered for real: registry globals, a bus name, the X vendor, PipeWire behind the pulse socket', async () => {
    const r = await runTool([...args(), '--only', 'x11.socket,wayland.socket,dbus.session,audio.pulse,dev.access', '--json'], {
      netns: w.net.guestNsPath,
      mountNs: d.mountNs,
      timeoutMs: 120_000,
    });
    const by = (id: string) => (r.json as Report).results.find((c) => c.id === id)!;
    expect(JSON.stringify(by('x11.socket').findings)).toMatch(/X\.Org/);
    expect(JSON.stringify(by('wayland.socket').findings)).toContain('wl_compositor');
    expect(JSON.stringify(by('dbus.session').findings)).toMatch(/:1\.\d+/);
    expect(JSON.stringify(by('audio.pulse').findings)).toMatch(/PipeWire/i);
    expect(by('dev.access').summary).toContain("opens the host's 2 device nodes");
  }, 150_000);

  test('the human report: every line PASS, and the exit code 0', async () => {
    const r = await runTool(args(), { netns: w.net.guestNsPath, mountNs: d.mountNs, timeoutMs: 120_000, env: { COLUMNS: '100' } });
    expect(r.exitCode, r.stdout).toBe(0);
    expect(r.stdout).not.toMatch(/\b(WARN|FAIL|ERROR)\b/);
    // CTD_PRINT_DESKTOP=1 prints the screen (the README shows it), and the --verbose one with every summary.
    if (process.env.CTD_PRINT_DESKTOP) {
      const verbose = await runTool([...args(), '--verbose'], {
        netns: w.net.guestNsPath,
        mountNs: d.mountNs,
        timeoutMs: 120_000,
        env: { COLUMNS: '100' },
      });
      console.log(`${r.stdout}\n${verbose.stdout}`);
    }
  }, 150_000);
});
