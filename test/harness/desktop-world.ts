/**
 * A healthy desktop guest, every piece real: a whole-root overlay chroot with the usual API
 * mounts, the desktop user (uid 1000) and a session process of theirs whose environment names
 * an Xvfb (+ its cookie in ~/.Xauthority), a headless Weston, a dbus-daemon session bus in
 * /run/user/1000 and a system bus of the guest's own, PipeWire with pipewire-pulse, the runtime
 * dir dconf writes into, and a GPU render node and a sound node (mknod'd stand-ins with /dev/fuse's
 * numbers, granted to uid 1000 by an ACL as logind's uaccess does) seen as the host's /dev/dri and
 * /dev/snd in a mount namespace of the world's own, where the tool and the session process run. `ctr-doctor check` on it
 * should find every desktop check green (test/integration/desktop-healthy.test.ts; README
 * "A healthy desktop guest").
 */
import { chmodSync, chownSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { mountChrootApi, startChrootProcess } from './chroot-guest.js';
import { startBus } from './dbus.js';
import { guestHome, writeXauthority } from './desktop-session.js';
import { hostDevNamespace, hostDevNodes, type DevNodeSpec } from './host-dev.js';
import { must } from './proc.js';
import { startPipewire } from './pipewire.js';
import { startWeston } from './weston.js';
import type { World } from './world.js';

/** The host's GPU and sound nodes: what logind gives the seat's user (mode 0660, the group, and an ACL for the uid). */
const DEVICES = (uid: number): DevNodeSpec[] => [
  { rel: 'dri/renderD128', major: 10, minor: 229, mode: 0o660, gid: 44, acl: `u:${uid}:rw` },
  { rel: 'snd/controlC0', major: 10, minor: 229, mode: 0o660, gid: 29, acl: `u:${uid}:rw` },
];

/** What a desktop world is made of, for assertions and for printing. */
export interface DesktopWorld {
  /** The guest root (host path): `ctr-doctor check chroot:ROOT`. */
  root: string;
  user: { uid: number; gid: number; name: string; home: string };
  /** The mount namespace (`/proc/PID/ns/mnt`) to run the tool in (runTool mountNs): there /dev has dri/ and snd/. */
  mountNs: string;
  /** The session process (a `sleep` as the user, chrooted, in the world's guest netns) and its whole environment. */
  sessionPid: number;
  env: Record<string, string>;
  pids: { xvfb: number; weston: number; sessionBus: number; systemBus: number; pipewire: number; pipewirePulse: number | null };
}

/** A system bus config of the world's own (never the machine's system.conf): anyone may connect and say Hello. */
function systemBusConfig(dir: string, socket: string): string {
  const file = join(dir, 'desktop-system-bus.conf');
  writeFileSync(
    file,
    `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN" "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig><type>system</type><auth>EXTERNAL</auth><listen>unix:path=${socket}</listen>
<policy context="default"><allow user="*"/><allow own="*"/><allow send_destination="*" eavesdrop="true"/><allow receive_sender="*"/></policy></busconfig>
`,
  );
  return file;
}

/**
 * Builds the healthy desktop guest in `w` (named `name`): servers first, then the session
 * process whose environment points at them. Everything is registered on `w.cleanup`.
 */
export async function createDesktopWorld(w: World, name = 'desktop'): Promise<DesktopWorld> {
  const g = await w.guestRoot(name);
  const { root, user } = g;
  await mountChrootApi(root, w.cleanup, { x11: true });
  guestHome(root, user.home, user.uid, user.gid);
  const runtime = `/run/user/${user.uid}`;
  const runUser = join(root, runtime);
  mkdirSync(runUser, { recursive: true });
  chownSync(runUser, user.uid, user.gid);
  chmodSync(runUser, 0o700);

  const x = await w.xvfb();
  const xauthority = join(user.home, '.Xauthority');
  await writeXauthority(join(root, xauthority), x.display, x.cookieHex);
  chownSync(join(root, xauthority), user.uid, user.gid);
  chmodSync(join(root, xauthority), 0o600);

  const weston = await startWeston(runUser, 'wayland-0', w.cleanup, { uid: user.uid, gid: user.gid });
  const sessionBus = await startBus(w.cleanup, { address: `unix:path=${runUser}/bus`, uid: user.uid, gid: user.gid, dirMode: 0o700 });
  const systemSocket = join(root, 'run/dbus/system_bus_socket');
  const systemBus = await startBus(w.cleanup, {
    address: `unix:path=${systemSocket}`,
    configFile: systemBusConfig(w.stateDir, systemSocket),
    dirMode: 0o755,
  });

  const pw = await startPipewire(runUser, w.cleanup, { uid: user.uid, gid: user.gid });
  // Weston, the bus and PipeWire each made the runtime dir theirs: it must stay the user's, 0700.
  chownSync(runUser, user.uid, user.gid);
  chmodSync(runUser, 0o700);

  const env = {
    PATH: '/usr/local/bin:/usr/bin:/bin',
    HOME: user.home,
    USER: user.name,
    LOGNAME: user.name,
    LANG: 'C.UTF-8',
    DISPLAY: x.displayName,
    XAUTHORITY: xauthority,
    XDG_RUNTIME_DIR: runtime,
    WAYLAND_DISPLAY: 'wayland-0',
    DBUS_SESSION_BUS_ADDRESS: `unix:path=${runtime}/bus`,
  };
  // The devices last: mounts made in the host's namespace after the holder starts are not seen in it.
  const dev = await hostDevNodes(join(w.base, `${name}-hostdev`), DEVICES(user.uid), w.cleanup);
  const mountNs = await hostDevNamespace(dev, w.cleanup);
  // In that namespace only, the guest's /dev is the /dev with the devices (the host's own devtmpfs is never written).
  await must([
    'nsenter',
    `--mount=${mountNs}`,
    'sh',
    '-c',
    'umount -R "$1" && mount --rbind /dev "$1" && mount --make-rslave "$1"',
    'sh',
    join(root, 'dev'),
  ]);
  const session = await startChrootProcess(w.net, root, { uid: user.uid, gid: user.gid, env, mountNs }, w.cleanup);
  return {
    root,
    user,
    mountNs,
    sessionPid: session.pid,
    env,
    pids: {
      xvfb: x.pid,
      weston: weston.pid,
      sessionBus: sessionBus.pid,
      systemBus: systemBus.pid,
      pipewire: pw.pid,
      pipewirePulse: pw.pulsePid,
    },
  };
}
