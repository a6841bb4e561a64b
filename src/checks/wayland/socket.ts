import { defineCheck, cannotRun, type CheckContext, type EarlyOutcome, type Reported } from '../../core/check.js';
import { findingBuilder } from '../../core/findings.js';
import { desktopSessionApplies } from '../../core/desktop-session.js';
import { targetSchrootFstab } from '../schroot-fstab.js';
import { runtimeDirBindFix } from '../../fixes/plans/runtime-dir-plans.js';
import type { FixPlace } from '../../fixes/plans/x11-plans.js';
import type { WaylandRegistryResponse } from '../../core/probe-types.js';

/** What GTK and Qt print when the socket is not there. */
const NO_SOCKET = 'Failed to connect to Wayland display: No such file or directory';

const findings = {
  'wayland-connected': {
    severity: 'info',
    message: 'connected to {socket} as {user} and did a wl_display.get_registry round trip: {count} globals ({sample})',
    description: 'The compositor answered get_registry and sync as the desktop user.',
  },
  'wayland-unset': {
    severity: 'info',
    message:
      'WAYLAND_DISPLAY is not set and there is no {socket}: Wayland clients have no compositor to talk to (X11 clients are unaffected)',
    description: 'No WAYLAND_DISPLAY and no wayland-0: not a Wayland session.',
  },
  'wayland-no-runtime-dir': {
    severity: 'fail',
    message:
      'WAYLAND_DISPLAY={display} is a name, but XDG_RUNTIME_DIR is not set in the guest session (from {envSource}): libwayland says "XDG_RUNTIME_DIR is invalid or not set in the environment"',
    description: 'A relative WAYLAND_DISPLAY with no XDG_RUNTIME_DIR to find it in.',
  },
  'wayland-socket-missing': {
    severity: 'fail',
    message: `{socket} does not exist in the guest (ENOENT): "${NO_SOCKET}"`,
    description: 'The socket WAYLAND_DISPLAY names is not in the guest.',
  },
  'wayland-socket-stale': {
    severity: 'fail',
    message: 'connect to {socket}: Connection refused: the socket file is stale, no compositor listens on it',
    description: 'A socket file with nothing listening (ECONNREFUSED).',
  },
  'wayland-socket-permission': {
    severity: 'fail',
    message: 'connect to {socket} as {user} (uid {uid}): Permission denied (EACCES): the socket or its directory belongs to uid {owner}',
    description: 'The desktop user may not reach the socket.',
  },
  'wayland-socket-not-owned': {
    severity: 'warn',
    message: "{socket} belongs to uid {owner}, not to {user} (uid {uid}): it is another user's compositor",
    description: 'The socket answers but is owned by another user.',
  },
  'wayland-no-answer': {
    severity: 'fail',
    message: '{socket} accepted the connection but did not answer the registry round trip: {reason}',
    description: 'The socket accepted, but no compositor answered get_registry and sync.',
  },
  'wayland-connect-failed': {
    severity: 'fail',
    message: 'connect to {socket} failed: {reason}',
    description: 'Connecting failed for another reason (not a socket, timeout, symlink loop).',
  },
} as const;

const fixDocs = {
  'wayland.nspawn-bind-runtime-dir':
    'nspawn: --bind=/run/user/UID with --setenv=WAYLAND_DISPLAY=NAME (and the .nspawn lines); pair --bind-user= with it (systemd#41546). Shown when the host has that socket.',
  'wayland.schroot-bind-runtime-dir':
    "schroot: the fstab line binding /run/user/UID in the profile's file, and preserve-environment=true. Shown when the host has that socket.",
  'wayland.chroot-bind-runtime-dir':
    'chroot: mount --bind /run/user/UID and export XDG_RUNTIME_DIR and WAYLAND_DISPLAY. Shown when the host has that socket.',
} as const;

interface Facts {
  place: FixPlace;
  user: { name: string; uid: number };
  envSource: string;
  display: string | null;
  socket: string | null;
  result: WaylandRegistryResponse | null;
  owner: number | null;
  /** The host has /run/user/UID/<name> as a socket: what the bind brings. */
  hostSocket: boolean;
  name: string;
  fstabFile: string | null;
}

// What it looks at: the socket libwayland would open (WAYLAND_DISPLAY, absolute or in XDG_RUNTIME_DIR, else wayland-0),
// a get_registry + sync round trip on it as the desktop user, its owner, and the host's socket of that name.
async function gather(ctx: CheckContext): Promise<Facts | EarlyOutcome> {
  const { target, host } = ctx;
  const probeMs = Math.max(100, Math.floor(ctx.options.timeoutMs / 2));
  const display = target.env.WAYLAND_DISPLAY?.trim() || null;
  const runtimeDir = target.env.XDG_RUNTIME_DIR?.trim().replace(/\/+$/, '') || null;
  const name = display ?? 'wayland-0';
  const socket = name.startsWith('/') ? name : runtimeDir !== null ? `${runtimeDir}/${name}` : null;
  let result: WaylandRegistryResponse | null = null;
  if (socket !== null) {
    try {
      result = await target.probe(
        'wayland-registry',
        { socket: { path: socket }, timeoutMs: probeMs },
        { timeoutMs: probeMs, asUser: true },
      );
    } catch (error) {
      return cannotRun(`the Wayland probe could not run: ${(error as Error).message}`);
    }
  }
  const base = name.split('/').pop() ?? name;
  const [seen, onHost, fstab] = await Promise.all([
    socket !== null ? target.stat(socket) : null,
    host.stat(`/run/user/${target.user.uid}/${base}`),
    targetSchrootFstab(ctx),
  ]);
  const { kind, root, schroot, nspawn } = target;
  return {
    place: { kind, root, ...(schroot ? { schroot } : {}), ...(nspawn ? { nspawn } : {}) },
    user: { name: target.user.name, uid: target.user.uid },
    envSource: target.envSource,
    display,
    socket,
    result,
    owner: seen !== null && 'uid' in seen ? seen.uid : null,
    hostSocket: onHost?.type === 'socket',
    name: base,
    fstabFile: fstab?.file ?? null,
  };
}

const found = findingBuilder(findings);

// How it decides: no name to look for, then the round trip's outcome, then whose socket it is.
function judge(f: Facts) {
  const who = { user: f.user.name, uid: f.user.uid };
  if (f.socket === null) {
    return f.display === null
      ? [found('wayland-unset', { socket: '$XDG_RUNTIME_DIR/wayland-0' }, {})]
      : [found('wayland-no-runtime-dir', { display: f.display, envSource: f.envSource }, { display: f.display })];
  }
  const { socket, result } = f;
  if (result === null) return [];
  const ev = { socket, display: f.display, ...who, owner: f.owner, stage: result.stage, errno: result.ok ? null : result.errno };
  if (result.ok) {
    const out: Reported<typeof findings>[] = [
      found(
        'wayland-connected',
        { socket, ...who, count: result.globalCount, sample: result.globals.slice(0, 4).join(', ') },
        { ...ev, globals: result.globals },
      ),
    ];
    if (f.owner !== null && f.owner !== f.user.uid) out.push(found('wayland-socket-not-owned', { socket, ...who, owner: f.owner }, ev));
    return { findings: out, summary: `${socket}: ${result.globalCount} globals for ${f.user.name}` };
  }
  if (result.stage !== 'connect') return [found('wayland-no-answer', { socket, reason: result.reason }, ev)];
  switch (result.errno) {
    case 'ENOENT':
      return f.display === null
        ? [found('wayland-unset', { socket }, ev)]
        : [found('wayland-socket-missing', { socket }, { ...ev, hostSocket: f.hostSocket })];
    case 'ECONNREFUSED':
      return [found('wayland-socket-stale', { socket }, ev)];
    case 'EACCES':
      return [found('wayland-socket-permission', { socket, ...who, owner: f.owner ?? '?' }, ev)];
    default:
      return [found('wayland-connect-failed', { socket, reason: result.reason }, ev)];
  }
}

// What it offers: the host's runtime directory bound in with WAYLAND_DISPLAY set, only when the host has that socket for this uid.
function offer(f: Facts, reported: readonly Reported<typeof findings>[]) {
  const code = reported[0]?.code;
  if (!f.hostSocket || !(code === 'wayland-socket-missing' || code === 'wayland-no-runtime-dir' || code === 'wayland-socket-stale'))
    return [];
  return [
    runtimeDirBindFix(f.place, {
      ids: {
        nspawn: 'wayland.nspawn-bind-runtime-dir',
        schroot: 'wayland.schroot-bind-runtime-dir',
        chroot: 'wayland.chroot-bind-runtime-dir',
      },
      what: 'the Wayland socket',
      uid: f.user.uid,
      env: { name: 'WAYLAND_DISPLAY', value: f.name },
      fstabFile: f.fstabFile,
    }),
  ];
}

export default defineCheck({
  id: 'wayland.socket',
  group: 'wayland',
  title: 'Wayland socket reachable and answering',
  description:
    'Finds the socket libwayland opens (WAYLAND_DISPLAY as an absolute path, or in $XDG_RUNTIME_DIR; wayland-0 when unset) and, as the desktop user from the guest, sends wl_display.get_registry and wl_display.sync, expecting the globals and wl_callback.done. Separates ENOENT, ECONNREFUSED (stale), EACCES, silence, and a socket owned by another user. Wayland sockets are path sockets: the network namespace does not matter.',
  findings,
  fixDocs,
  probes: ['user'],
  appliesTo: (ctx) => desktopSessionApplies(ctx, 'the Wayland socket'),
  gather,
  judge,
  offer,
});
