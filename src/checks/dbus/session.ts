import { defineCheck, cannotRun, type CheckContext, type EarlyOutcome, type Reported } from '../../core/check.js';
import { findingBuilder } from '../../core/findings.js';
import { desktopSessionApplies } from '../../core/desktop-session.js';
import { parseDbusAddress, type DbusAddressEntry } from '../../parse/dbus-address.js';
import { targetSchrootFstab } from '../schroot-fstab.js';
import { runtimeDirBindFix } from '../../fixes/plans/runtime-dir-plans.js';
import { manual } from '../../fixes/plans/manual-steps.js';
import type { FixPlace } from '../../fixes/plans/x11-plans.js';
import type { DbusHelloResponse } from '../../core/probe-types.js';
import type { Fix } from '../../core/types.js';
import { abstractListens } from '../abstract-listener.js';

/** sd-bus's words when neither variable is set (systemctl --user, busctl --user). */
const SD_BUS_UNSET = 'Failed to connect to bus: $DBUS_SESSION_BUS_ADDRESS and $XDG_RUNTIME_DIR not defined';

const findings = {
  'bus-connected': {
    severity: 'info',
    message: 'connected to {bus} as {user} (uid {uid}) and said Hello: the bus named us {name}',
    description: 'The session bus accepted AUTH EXTERNAL and Hello as the desktop user.',
  },
  'bus-unset': {
    severity: 'warn',
    message: `DBUS_SESSION_BUS_ADDRESS and XDG_RUNTIME_DIR are not set in the guest session (from {envSource}): "${SD_BUS_UNSET}"; libdbus falls back to autolaunch, which needs dbus-launch (dbus-x11), DISPLAY and a valid machine-id`,
    description: `No address and no runtime directory: "${SD_BUS_UNSET}".`,
  },
  'bus-none': {
    severity: 'warn',
    message:
      'DBUS_SESSION_BUS_ADDRESS is not set and there is no {bus} in the guest: GTK and Qt apps print "Failed to connect to bus", dconf cannot save settings ("failed to commit changes to dconf")',
    description: 'No address set and no bus socket at $XDG_RUNTIME_DIR/bus, where clients look by default.',
  },
  'bus-address-invalid': {
    severity: 'fail',
    message: 'DBUS_SESSION_BUS_ADDRESS="{address}" is not a D-Bus address: {reason}',
    description: 'The address does not parse (libdbus: "… does not contain an equal sign", "… does not contain a colon").',
  },
  'bus-not-probed': {
    severity: 'info',
    message: 'DBUS_SESSION_BUS_ADDRESS names {transports} only; not probed (only unix sockets are)',
    description: 'The address names only transports the check does not probe (tcp:, autolaunch:, launchd:…).',
  },
  'bus-socket-missing': {
    severity: 'fail',
    message: '{bus} does not exist in the guest (ENOENT): GDBus says "Could not connect: No such file or directory"',
    description: 'The socket the address names is not in the guest.',
  },
  'bus-host-address': {
    severity: 'warn',
    message:
      "the guest inherited the host's session bus address {bus}: the host has that socket, the guest does not (ENOENT), so apps in the guest wait for a bus they cannot reach; bind the runtime directory in, or unset DBUS_SESSION_BUS_ADDRESS",
    description: "The address is the host session's (the host has the socket) but the path is not in the guest (x11docker#408).",
  },
  'bus-socket-stale': {
    severity: 'fail',
    message: 'connect to {bus}: Connection refused: the socket file is stale, no bus daemon listens on it',
    description: 'A socket file with nothing listening (ECONNREFUSED).',
  },
  'bus-abstract-listening': {
    severity: 'info',
    message: "the abstract socket {bus} listens in the guest's network namespace (/proc/net/unix); Hello is not tried over abstract names",
    description: "An abstract address whose socket listens in the guest's network namespace.",
  },
  'bus-abstract-other-netns': {
    severity: 'fail',
    message:
      'nothing listens on {bus} in the guest\'s network namespace, so clients get "Connection refused": abstract sockets belong to a network namespace, and the guest has its own, so a bus made outside it cannot be reached',
    description: 'An abstract address refused in a guest with its own network namespace: the bus lives in another one.',
  },
  'bus-abstract-refused': {
    severity: 'fail',
    message: 'nothing listens on {bus} (/proc/net/unix), so clients get "Connection refused": the bus that made it is gone',
    description: 'An abstract address nothing listens on, in a shared network namespace.',
  },
  'bus-permission': {
    severity: 'fail',
    message: 'connect to {bus} as {user} (uid {uid}): Permission denied (EACCES): the socket or its directory belongs to another user',
    description: 'The desktop user may not reach the socket (a 0700 /run/user/UID of another uid).',
  },
  'bus-auth-rejected': {
    severity: 'fail',
    message: '{bus} refused {user} (uid {uid}): {reason}',
    description:
      "The bus answered AUTH EXTERNAL with REJECTED (the stated uid is not the peer's, across a user namespace), or accepted it and hung up before Hello (a bus of another user).",
  },
  'bus-no-answer': {
    severity: 'fail',
    message: '{bus} accepted the connection but did not complete Hello: {reason}',
    description: 'The socket accepted, but no D-Bus daemon answered AUTH and Hello.',
  },
  'bus-connect-failed': {
    severity: 'fail',
    message: 'connect to {bus} failed: {reason}',
    description: 'Connecting failed for another reason (timeout, not a socket, a symlink loop).',
  },
} as const;

const fixDocs = {
  'dbus.nspawn-bind-session-bus':
    'nspawn: --bind=/run/user/UID with --setenv=DBUS_SESSION_BUS_ADDRESS=unix:path=/run/user/UID/bus (and the .nspawn lines); pair --bind-user= with it (systemd#41546). Shown when the host has that bus.',
  'dbus.schroot-bind-session-bus':
    'schroot: the fstab line "/run/user/UID /run/user/UID none rw,bind 0 0" in the profile\'s file, and preserve-environment=true. Shown when the host has that bus.',
  'dbus.chroot-bind-session-bus':
    'chroot: mount --bind /run/user/UID and export DBUS_SESSION_BUS_ADDRESS=unix:path=/run/user/UID/bus. Shown when the host has that bus.',
  'dbus.unset-host-address': "Unset the host's DBUS_SESSION_BUS_ADDRESS in the guest so clients use a bus of the guest's own.",
  'dbus.run-session':
    'Start the program under a bus of its own in the guest: dbus-run-session -- PROGRAM (when the guest has dbus-run-session).',
} as const;

/** One alternative of the address, and what the probe found there. */
interface Tried {
  entry: DbusAddressEntry;
  /** The socket as messages name it: a path, or @name. */
  bus: string;
  /** The probe's answer; null for an abstract name, which is looked up in /proc/net/unix instead. */
  result: DbusHelloResponse | null;
  /** For an abstract name: it listens in the guest's network namespace. */
  listening: boolean;
  /** The host has a socket at this very path (the address was inherited from it). */
  onHost: boolean;
}

interface Facts {
  place: FixPlace;
  user: { name: string; uid: number };
  envSource: string;
  address: string | null;
  runtimeDir: string | null;
  parsed: ReturnType<typeof parseDbusAddress> | null;
  tried: Tried[];
  sharesNetns: boolean;
  /** The host has /run/user/UID/bus for this uid: what the bind fixes bring. */
  hostBus: boolean;
  guestHasRunSession: boolean;
  fstabFile: string | null;
}

const BUS = (dir: string): string => `${dir.replace(/\/+$/, '')}/bus`;

function socketOf(entry: DbusAddressEntry, runtimeDir: string): { path: string } | { abstract: string } | null {
  if (entry.kind === 'path') return { path: entry.path };
  if (entry.kind === 'abstract') return { abstract: entry.name };
  if (entry.kind === 'runtime') return { path: BUS(runtimeDir) };
  return null;
}

// What it looks at: the address clients in the guest would use (or $XDG_RUNTIME_DIR/bus), each unix alternative
// connected to as the desktop user with AUTH EXTERNAL and Hello, and whether the host has the socket.
async function gather(ctx: CheckContext): Promise<Facts | EarlyOutcome> {
  const { target, host } = ctx;
  const probeMs = Math.max(100, Math.floor(ctx.options.timeoutMs / 2));
  const address = target.env.DBUS_SESSION_BUS_ADDRESS?.trim() || null;
  const runtimeDir = target.env.XDG_RUNTIME_DIR?.trim() || null;
  const parsed =
    address !== null
      ? parseDbusAddress(address)
      : runtimeDir !== null
        ? [{ kind: 'path' as const, path: BUS(runtimeDir), text: `unix:path=${BUS(runtimeDir)}` }]
        : null;
  const entries = parsed !== null && Array.isArray(parsed) ? parsed : [];
  const uid = target.user.uid;
  const probeable = entries.flatMap((entry) => {
    const socket = socketOf(entry, runtimeDir ?? `/run/user/${uid}`);
    return socket ? [{ entry, socket }] : [];
  });
  let tried: Tried[];
  try {
    tried = await Promise.all(
      probeable.map(async ({ entry, socket }): Promise<Tried> => {
        if ('abstract' in socket)
          return {
            entry,
            bus: `@${socket.abstract}`,
            result: null,
            listening: await abstractListens(target, socket.abstract),
            onHost: false,
          };
        const result = await target.probe('dbus-hello', { socket, uid, timeoutMs: probeMs }, { timeoutMs: probeMs, asUser: true });
        const onHost = address !== null && (await host.stat(socket.path))?.type === 'socket';
        return { entry, bus: socket.path, result, listening: false, onHost };
      }),
    );
  } catch (error) {
    return cannotRun(`the D-Bus probe could not run: ${(error as Error).message}`);
  }
  const [hostBus, runSession, fstab] = await Promise.all([
    host.stat(`/run/user/${uid}/bus`).then((s) => s?.type === 'socket'),
    target.stat('/usr/bin/dbus-run-session'),
    targetSchrootFstab(ctx),
  ]);
  const { kind, root, schroot, nspawn } = target;
  return {
    place: { kind, root, ...(schroot ? { schroot } : {}), ...(nspawn ? { nspawn } : {}) },
    user: { name: target.user.name, uid },
    envSource: target.envSource,
    address,
    runtimeDir,
    parsed,
    tried,
    sharesNetns: target.sharesNetns,
    hostBus,
    guestHasRunSession: 'type' in runSession && runSession.type === 'file',
    fstabFile: fstab?.file ?? null,
  };
}

const found = findingBuilder(findings);

// How it decides: libdbus's order (the address, else $XDG_RUNTIME_DIR/bus); the first alternative that says
// Hello back wins; otherwise the first one's errno or the bus's refusal says why.
function judge(f: Facts) {
  const who = { user: f.user.name, uid: f.user.uid };
  if (f.parsed === null) return [found('bus-unset', { envSource: f.envSource }, { envSource: f.envSource })];
  if (!Array.isArray(f.parsed))
    return [found('bus-address-invalid', { address: f.address ?? '', reason: f.parsed.error }, { address: f.address })];
  if (f.tried.length === 0) {
    const transports = [...new Set(f.parsed.map((e) => (e.kind === 'other' ? `${e.transport}:` : 'unix:')))].join(', ');
    return [found('bus-not-probed', { transports }, { address: f.address })];
  }
  const chosen = f.tried.find((t) => t.result?.ok) ?? f.tried.find((t) => t.listening) ?? f.tried[0]!;
  const { result, bus } = chosen;
  const ev = {
    address: f.address,
    runtimeDir: f.runtimeDir,
    bus,
    ...who,
    tried: f.tried.map((t) =>
      t.result
        ? { bus: t.bus, ok: t.result.ok, stage: t.result.stage, errno: t.result.ok ? null : t.result.errno }
        : { bus: t.bus, listening: t.listening },
    ),
  };
  if (result === null) {
    if (chosen.listening) return [found('bus-abstract-listening', { bus }, ev)];
    return [
      f.sharesNetns
        ? found('bus-abstract-refused', { bus }, ev)
        : found('bus-abstract-other-netns', { bus }, { ...ev, sharesNetns: false }),
    ];
  }
  if (result.ok) {
    return {
      findings: [
        found(
          'bus-connected',
          { bus, ...who, name: result.name },
          { ...ev, name: result.name, guid: result.guid, elapsedMs: result.elapsedMs },
        ),
      ],
      summary: `${bus}: Hello answered with ${result.name} for ${f.user.name}`,
    };
  }
  const reason = result.reason;
  if (result.stage === 'auth' || result.stage === 'denied') return [found('bus-auth-rejected', { bus, ...who, reason }, ev)];
  if (result.stage !== 'connect') return [found('bus-no-answer', { bus, reason }, ev)];
  switch (result.errno) {
    case 'ENOENT':
      if (f.address === null) return [found('bus-none', { bus }, ev)];
      if (chosen.onHost) return [found('bus-host-address', { bus }, { ...ev, hostHasSocket: true })];
      return [found('bus-socket-missing', { bus }, ev)];
    case 'ECONNREFUSED':
      return [found('bus-socket-stale', { bus }, ev)];
    case 'EACCES':
      return [found('bus-permission', { bus, ...who }, ev)];
    default:
      return [found('bus-connect-failed', { bus, reason }, { ...ev, errno: result.errno })];
  }
}

// What it offers: the host's bus bound in (only when the host has one for this uid), dropping an inherited
// address, or a bus of the program's own.
function offer(f: Facts, reported: readonly Reported<typeof findings>[]) {
  const code = reported[0]?.code;
  const fixes: (Fix<keyof typeof fixDocs> | null)[] = [];
  const reach =
    code === 'bus-unset' ||
    code === 'bus-none' ||
    code === 'bus-socket-missing' ||
    code === 'bus-host-address' ||
    code === 'bus-socket-stale' ||
    code === 'bus-abstract-other-netns';
  if (reach && f.hostBus) {
    fixes.push(
      runtimeDirBindFix(f.place, {
        ids: { nspawn: 'dbus.nspawn-bind-session-bus', schroot: 'dbus.schroot-bind-session-bus', chroot: 'dbus.chroot-bind-session-bus' },
        what: 'the session bus',
        uid: f.user.uid,
        env: { name: 'DBUS_SESSION_BUS_ADDRESS', value: `unix:path=/run/user/${f.user.uid}/bus` },
        fstabFile: f.fstabFile,
      }),
    );
  }
  if (code === 'bus-host-address') {
    fixes.push({
      id: 'dbus.unset-host-address',
      title: "Unset the host's DBUS_SESSION_BUS_ADDRESS in the guest",
      safety: 'manual',
      steps: [
        manual(
          'in the shell inside the guest (x11docker#408: xfce, firefox and chromium then start)',
          'unset DBUS_SESSION_BUS_ADDRESS',
          'guest',
        ),
      ],
    });
  }
  if (reach && f.guestHasRunSession) {
    fixes.push({
      id: 'dbus.run-session',
      title: 'Give the program a session bus of its own in the guest',
      safety: 'manual',
      steps: [manual('in the guest, start the program under its own bus', 'dbus-run-session -- firefox', 'guest')],
    });
  }
  return fixes;
}

export default defineCheck({
  id: 'dbus.session',
  group: 'dbus',
  title: 'Session bus reachable and answering',
  description:
    "Takes DBUS_SESSION_BUS_ADDRESS from the guest session (else $XDG_RUNTIME_DIR/bus, where libdbus, sd-bus and GDBus look), and connects to each unix path alternative as the desktop user from the guest's mount and network namespaces: the NUL byte, AUTH EXTERNAL with the user's uid, BEGIN and Hello, expecting a unique name (:1.N); an abstract name is looked up in the guest network namespace's /proc/net/unix. Separates ENOENT, ECONNREFUSED (a stale socket, or an abstract address from another network namespace), EACCES, REJECTED and silence; warns when the guest inherited the host's address for a socket it does not have.",
  findings,
  fixDocs,
  probes: ['user'],
  appliesTo: (ctx) => desktopSessionApplies(ctx, 'the session bus'),
  gather,
  judge,
  offer,
});
