/**
 * dbus.session against real dbus-daemon session buses, as uid 1000 in a chroot guest: the user's
 * bus in the guest's runtime dir, a missing path, the host's address inherited, a stale socket,
 * root's bus (EACCES and REJECTED), an abstract bus in another network namespace, and no address.
 * dbus.system against dbus-daemon with a config of the test's own: the guest's own bus, none, a stale
 * socket, and the "host's" bus through a bind (the host's /run/dbus faked in the tool's own mount namespace).
 */
import { chmodSync, chownSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startChrootProcess } from '../harness/chroot-guest.js';
import { startBus } from '../harness/dbus.js';
import { makeStaleSocket } from '../harness/pulse.js';
import { describeIntegration } from '../harness/skip.js';
import { CLI_PATH, runTool, validateReport } from '../harness/tool.js';
import { run } from '../harness/proc.js';
import { createWorld, type World } from '../harness/world.js';
import type { CheckResult, Report } from '../../src/core/types.js';

describeIntegration('dbus.session on real buses', () => {
  let w: World;
  let root: string;
  let user: { uid: number; gid: number; name: string; home: string };
  const pids: Record<string, number> = {};
  let hostOnlyBus: string;
  /** A second guest whose every process runs in the world's offline netns (not the tool's). */
  let nsRoot: string;

  async function busCheck(key: string): Promise<CheckResult> {
    const r = await runTool(
      [
        'check',
        `chroot:${key.startsWith('abstract') ? nsRoot : root}`,
        '--only',
        'dbus.session',
        '--json',
        '--timeout',
        '4000',
        '--env-from',
        String(pids[key]),
      ],
      { netns: w.net.guestNsPath },
    );
    await validateReport(r.json);
    return (r.json as Report).results.find((c) => c.id === 'dbus.session')!;
  }
  const codes = (c: CheckResult) => c.findings.map((f) => f.code);

  beforeAll(async () => {
    w = await createWorld();
    const g = await w.guestRoot('dbus');
    root = g.root;
    user = g.user;
    const runUser = join(root, `run/user/${user.uid}`);
    mkdirSync(runUser, { recursive: true });
    chownSync(runUser, user.uid, user.gid);
    chmodSync(runUser, 0o700);
    hostOnlyBus = join(w.stateDir, 'hostbus/bus');
    mkdirSync(join(runUser, 'stale'), { recursive: true });
    await makeStaleSocket(join(runUser, 'stale/bus'));
    chmodSync(join(runUser, 'stale/bus'), 0o777);
    chownSync(join(runUser, 'stale'), user.uid, user.gid);
    await Promise.all([
      startBus(w.cleanup, { address: `unix:path=${runUser}/bus`, uid: user.uid, gid: user.gid, dirMode: 0o700 }),
      // A bus on a host path the guest does not have: what a guest inherits from the host session.
      startBus(w.cleanup, { address: `unix:path=${hostOnlyBus}`, uid: user.uid, gid: user.gid }),
      startBus(w.cleanup, { address: `unix:path=${root}/run/bus-root-closed/bus`, dirMode: 0o700 }),
      startBus(w.cleanup, { address: `unix:path=${root}/run/bus-root-open/bus`, dirMode: 0o755 }),
      // Abstract sockets belong to a network namespace: this one lives in a private one, not the guest's.
      startBus(w.cleanup, { address: `unix:abstract=/tmp/ctd-${w.id}-elsewhere`, uid: user.uid, gid: user.gid }),
      startBus(w.cleanup, { address: `unix:abstract=/tmp/ctd-${w.id}-here`, uid: user.uid, gid: user.gid, netns: w.net.offNsPath }),
    ]);
    nsRoot = (await w.guestRoot('dbus-ns')).root;
    const start = async (key: string, extra: Record<string, string>, netns?: string) => {
      const env = { PATH: '/usr/bin:/bin', HOME: user.home, USER: user.name, ...extra };
      pids[key] = (
        await startChrootProcess(
          w.net,
          netns ? nsRoot : root,
          { uid: user.uid, gid: user.gid, env, ...(netns ? { netns } : {}) },
          w.cleanup,
        )
      ).pid;
    };
    const rt = { XDG_RUNTIME_DIR: `/run/user/${user.uid}` };
    await Promise.all([
      start('working', { ...rt, DBUS_SESSION_BUS_ADDRESS: `unix:path=/run/user/${user.uid}/bus` }),
      start('fallback', rt),
      start('none', {}),
      start('missing', { ...rt, DBUS_SESSION_BUS_ADDRESS: `unix:path=/run/user/${user.uid}/nothing/bus` }),
      start('inherited', { ...rt, DBUS_SESSION_BUS_ADDRESS: `unix:path=${hostOnlyBus}` }),
      start('stale', { ...rt, DBUS_SESSION_BUS_ADDRESS: `unix:path=/run/user/${user.uid}/stale/bus` }),
      start('denied', { ...rt, DBUS_SESSION_BUS_ADDRESS: 'unix:path=/run/bus-root-closed/bus' }),
      start('rejected', { ...rt, DBUS_SESSION_BUS_ADDRESS: 'unix:path=/run/bus-root-open/bus' }),
      // The session runs in a network namespace of its own (not the tool's): abstract names are looked up there.
      start('abstract', { ...rt, DBUS_SESSION_BUS_ADDRESS: `unix:abstract=/tmp/ctd-${w.id}-elsewhere` }, w.net.offNsPath),
      start('abstract-here', { ...rt, DBUS_SESSION_BUS_ADDRESS: `unix:abstract=/tmp/ctd-${w.id}-here` }, w.net.offNsPath),
      start('malformed', { ...rt, DBUS_SESSION_BUS_ADDRESS: 'unix:path' }),
    ]);
  });
  afterAll(async () => w?.dispose());

  test("the user's bus: Hello answered with a unique name, as dbus-send in the guest agrees", async () => {
    const send = await w.net.exec('guest', [
      'chroot',
      `--userspec=${user.uid}:${user.gid}`,
      root,
      'env',
      `DBUS_SESSION_BUS_ADDRESS=unix:path=/run/user/${user.uid}/bus`,
      'dbus-send',
      '--session',
      '--print-reply',
      '--dest=org.freedesktop.DBus',
      '/',
      'org.freedesktop.DBus.GetId',
    ]);
    expect(send.stdout).toMatch(/string "[0-9a-f]{32}"/);
    const c = await busCheck('working');
    expect(c.status, c.summary).toBe('pass');
    expect(c.findings[0]?.evidence.name).toMatch(/^:1\.\d+$/);
  });

  test('no address: $XDG_RUNTIME_DIR/bus is found and answers', async () => {
    const c = await busCheck('fallback');
    expect(c.status, c.summary).toBe('pass');
    expect(c.summary).toContain(`/run/user/${user.uid}/bus`);
  });

  test("neither variable: a warning in sd-bus's words", async () => {
    const c = await busCheck('none');
    expect(c.status).toBe('warn');
    expect(codes(c)).toEqual(['bus-unset']);
  });

  test('a path the guest lacks: ENOENT, as dbus-send says', async () => {
    const c = await busCheck('missing');
    expect(c.status).toBe('fail');
    expect(codes(c)).toEqual(['bus-socket-missing']);
  });

  test("the host's address inherited, its socket not in the guest: warn, unset it (x11docker#408)", async () => {
    const c = await busCheck('inherited');
    expect(c.status, JSON.stringify(c.findings)).toBe('warn');
    expect(codes(c)).toEqual(['bus-host-address']);
    expect(c.fixes.map((f) => f.id)).toContain('dbus.unset-host-address');
  });

  test('a stale socket: ECONNREFUSED', async () => {
    const c = await busCheck('stale');
    expect(codes(c)).toEqual(['bus-socket-stale']);
  });

  test("root's bus behind a 0700 directory: EACCES for uid 1000", async () => {
    const c = await busCheck('denied');
    expect(codes(c)).toEqual(['bus-permission']);
  });

  test("root's bus reachable: it accepts AUTH EXTERNAL, then drops uid 1000 before Hello", async () => {
    const c = await busCheck('rejected');
    expect(codes(c)).toEqual(['bus-auth-rejected']);
    expect(c.findings[0]?.message).toContain('does not allow');
  });

  test("an abstract bus in the session's own network namespace: Hello answered", async () => {
    const c = await busCheck('abstract-here');
    expect(c.status, JSON.stringify(c.findings)).toBe('pass');
  });

  test('an abstract bus from another network namespace: refused, and said why', async () => {
    const c = await busCheck('abstract');
    expect(codes(c)).toEqual(['bus-abstract-other-netns']);
  });

  test("a malformed address: libdbus's words", async () => {
    const c = await busCheck('malformed');
    expect(codes(c)).toEqual(['bus-address-invalid']);
    expect(c.findings[0]?.message).toContain('does not contain an equal sign');
  });
});

/** A system bus config of the test's own (never the machine's system.conf): anyone may connect and say Hello. */
function systemBusConfig(dir: string, name: string, socket: string): string {
  const file = join(dir, `system-test-${name}.conf`);
  writeFileSync(
    file,
    `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN" "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig><type>system</type><auth>EXTERNAL</auth><listen>unix:path=${socket}</listen>
<policy context="default"><allow user="*"/><allow send_destination="*" eavesdrop="true"/><allow receive_sender="*"/><allow own="*"/></policy></busconfig>
`,
  );
  return file;
}

describeIntegration('dbus.system on real buses', () => {
  let w: World;
  const roots: Record<string, string> = {};
  let hostRunDbus: string;

  async function systemCheck(key: string, opts: { hostRunDbus?: string } = {}): Promise<CheckResult> {
    const args = ['check', `chroot:${roots[key]}`, '--only', 'dbus.system', '--json', '--timeout', '4000'];
    let r;
    if (opts.hostRunDbus) {
      // The tool's own mount namespace sees the test's bus as the host's /run/dbus; the machine's is untouched.
      const script = 'mount --bind "$1" /run/dbus || exit 125; shift; exec "$@"';
      const out = await run(
        [
          'unshare',
          '--mount',
          '--propagation',
          'private',
          'sh',
          '-c',
          script,
          'sh',
          opts.hostRunDbus,
          'nsenter',
          `--net=${w.net.guestNsPath}`,
          process.execPath,
          CLI_PATH,
          ...args,
        ],
        { timeoutMs: 60_000 },
      );
      r = { json: JSON.parse(out.stdout) as unknown };
    } else {
      r = await runTool(args, { netns: w.net.guestNsPath });
    }
    await validateReport(r.json);
    return (r.json as Report).results.find((c) => c.id === 'dbus.system')!;
  }
  const codes = (c: CheckResult) => c.findings.map((f) => f.code);

  beforeAll(async () => {
    w = await createWorld();
    for (const key of ['own', 'none', 'stale', 'shared']) roots[key] = (await w.guestRoot(`sys-${key}`)).root;
    mkdirSync(join(roots.stale!, 'run/dbus'), { recursive: true });
    await makeStaleSocket(join(roots.stale!, 'run/dbus/system_bus_socket'));
    chmodSync(join(roots.stale!, 'run/dbus/system_bus_socket'), 0o777);
    hostRunDbus = join(w.stateDir, 'host-run-dbus');
    await Promise.all([
      startBus(w.cleanup, {
        address: `unix:path=${roots.own}/run/dbus/system_bus_socket`,
        configFile: systemBusConfig(w.stateDir, 'own', `${roots.own}/run/dbus/system_bus_socket`),
        dirMode: 0o755,
      }),
      startBus(w.cleanup, {
        address: `unix:path=${hostRunDbus}/system_bus_socket`,
        configFile: systemBusConfig(w.stateDir, 'host', `${hostRunDbus}/system_bus_socket`),
        dirMode: 0o755,
      }),
    ]);
    // A guest whose /run/dbus is the "host's" (a bind, as a shared /run gives it).
    const guestRunDbus = join(roots.shared!, 'run/dbus');
    mkdirSync(guestRunDbus, { recursive: true });
    await run(['mount', '--bind', hostRunDbus, guestRunDbus]);
    w.cleanup.defer(`umount ${guestRunDbus}`, async () => {
      await run(['umount', guestRunDbus]);
    });
  });
  afterAll(async () => w?.dispose());

  test("the guest's own system bus: Hello answered as uid 1000", async () => {
    const c = await systemCheck('own');
    expect(c.status, JSON.stringify(c.findings)).toBe('pass');
    expect(c.findings[0]?.evidence.name).toMatch(/^:1\.\d+$/);
  });

  test('no system bus in the guest: a warning, and dbus-daemon --system offered', async () => {
    const c = await systemCheck('none');
    expect(c.status).toBe('warn');
    expect(codes(c)).toEqual(['system-bus-missing']);
    expect(c.fixes.map((f) => f.id)).toEqual(['dbus.start-system-bus']);
  });

  test('a stale socket: ECONNREFUSED', async () => {
    const c = await systemCheck('stale');
    expect(codes(c)).toEqual(['system-bus-stale']);
  });

  test("the host's system bus through a shared /run/dbus: said so, though it answers", async () => {
    const c = await systemCheck('shared', { hostRunDbus });
    expect(c.status, JSON.stringify(c.findings)).toBe('warn');
    expect(codes(c)).toEqual(['system-bus-host']);
    expect(c.findings[0]?.message).toContain('poweroff');
    expect(c.fixes.map((f) => f.id)).toEqual(['dbus.private-system-bus']);
  });

  test("the same guest seen from a host without that bus: the guest's bus answers, nothing said of the host", async () => {
    const c = await systemCheck('shared');
    expect(codes(c)).toEqual(['system-bus-connected']);
  });
});
