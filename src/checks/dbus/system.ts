import { defineCheck, cannotRun, type CheckContext, type EarlyOutcome, type Reported } from '../../core/check.js';
import { findingBuilder } from '../../core/findings.js';
import { parseDbusAddress } from '../../parse/dbus-address.js';
import { manual, nspawnFileStep } from '../../fixes/plans/manual-steps.js';
import { hostPathInRoot, shellQuote } from '../../fixes/plans/shell-quote.js';
import type { FixPlace } from '../../fixes/plans/x11-plans.js';
import type { DbusHelloResponse } from '../../core/probe-types.js';
import type { Fix } from '../../core/types.js';

/** Where libdbus, sd-bus and GDBus find the system bus when DBUS_SYSTEM_BUS_ADDRESS is unset. */
const SYSTEM_BUS = '/run/dbus/system_bus_socket';

const findings = {
  'system-bus-connected': {
    severity: 'info',
    message: "connected to the guest's system bus {bus} as {user} and said Hello: named {name}",
    description: 'The guest has a system bus of its own that answers Hello.',
  },
  'system-bus-host': {
    severity: 'warn',
    message:
      '{bus} in the guest is the host\'s system bus (the same socket, through a shared /run): "poweroff", "reboot", systemctl and NetworkManager in the guest reach the HOST\'s daemons',
    description: "The guest's system bus socket is the host's own: poweroff and friends in the guest reach the host.",
  },
  'system-bus-missing': {
    severity: 'warn',
    message:
      'there is no system bus in the guest ({bus}: ENOENT): clients of systemd, polkit, udisks or NetworkManager say "Failed to connect to bus: No such file or directory"',
    description: 'No system bus socket in the guest.',
  },
  'system-bus-address-invalid': {
    severity: 'fail',
    message: 'DBUS_SYSTEM_BUS_ADDRESS="{address}" is not a D-Bus address: {reason}',
    description: 'DBUS_SYSTEM_BUS_ADDRESS does not parse.',
  },
  'system-bus-not-probed': {
    severity: 'info',
    message: 'DBUS_SYSTEM_BUS_ADDRESS names no unix socket path ({address}); not probed',
    description: 'The address names only transports or abstract names the check does not probe.',
  },
  'system-bus-stale': {
    severity: 'fail',
    message:
      'connect to {bus}: Connection refused: the socket file is stale, no dbus-daemon listens on it (left from a daemon that died, or copied in)',
    description: 'The system bus socket is there but nothing listens (ECONNREFUSED).',
  },
  'system-bus-permission': {
    severity: 'fail',
    message: 'connect to {bus} as {user}: Permission denied (EACCES)',
    description: 'The desktop user may not reach the system bus socket.',
  },
  'system-bus-no-answer': {
    severity: 'fail',
    message: '{bus} accepted the connection but did not complete Hello: {reason}',
    description: 'The socket accepted, but no bus answered AUTH and Hello.',
  },
  'system-bus-connect-failed': {
    severity: 'fail',
    message: 'connect to {bus} failed: {reason}',
    description: 'Connecting failed for another reason (timeout, not a socket).',
  },
} as const;

const fixDocs = {
  'dbus.private-system-bus':
    "Give the guest a /run of its own (no bind of the host's /run or /run/dbus) and a dbus-daemon --system of its own, per kind.",
  'dbus.start-system-bus':
    "Start the guest's own system bus: dbus-daemon --system in a chroot, systemctl start dbus in a booted guest (when the guest has dbus-daemon).",
} as const;

interface Facts {
  place: FixPlace;
  user: string;
  address: string | null;
  parsed: ReturnType<typeof parseDbusAddress> | null;
  bus: string | null;
  result: DbusHelloResponse | null;
  /** The guest's socket is the very file the host has at /run/dbus/system_bus_socket (device and inode). */
  hostsOwn: boolean;
  guestHasDaemon: boolean;
  booted: boolean;
}

// What it looks at: the system bus socket clients in the guest use, a Hello on it as the desktop user,
// and whether it is the host's own socket file.
async function gather(ctx: CheckContext): Promise<Facts | EarlyOutcome> {
  const { target, host } = ctx;
  const probeMs = Math.max(100, Math.floor(ctx.options.timeoutMs / 2));
  const address = target.env.DBUS_SYSTEM_BUS_ADDRESS?.trim() || null;
  const parsed = address === null ? null : parseDbusAddress(address);
  const first =
    parsed === null
      ? { kind: 'path' as const, path: SYSTEM_BUS }
      : Array.isArray(parsed)
        ? parsed.find((e) => e.kind === 'path')
        : undefined;
  const bus = first?.path ?? null;
  let result: DbusHelloResponse | null = null;
  if (bus !== null) {
    try {
      result = await target.probe(
        'dbus-hello',
        { socket: { path: bus }, uid: target.user.uid, timeoutMs: probeMs },
        { timeoutMs: probeMs, asUser: true },
      );
    } catch (error) {
      return cannotRun(`the D-Bus probe could not run: ${(error as Error).message}`);
    }
  }
  const [inGuest, onHost, daemon, init] = await Promise.all([
    bus !== null ? target.stat(bus) : null,
    host.stat(SYSTEM_BUS),
    target.stat('/usr/bin/dbus-daemon'),
    target.processes().then(
      (ps) => ps.some((p) => p.comm === 'systemd' && p.uid === 0),
      () => false,
    ),
  ]);
  const hostsOwn =
    inGuest !== null &&
    'type' in inGuest &&
    inGuest.type === 'socket' &&
    onHost !== null &&
    onHost.type === 'socket' &&
    onHost.dev === inGuest.dev &&
    onHost.ino === inGuest.ino;
  const { kind, root, schroot, nspawn } = target;
  return {
    place: { kind, root, ...(schroot ? { schroot } : {}), ...(nspawn ? { nspawn } : {}) },
    user: target.user.name,
    address,
    parsed,
    bus,
    result,
    hostsOwn,
    guestHasDaemon: 'type' in daemon && daemon.type === 'file',
    booted: init,
  };
}

const found = findingBuilder(findings);

// How it decides: the host's own socket first (whatever answers, it is the host), then the probe's answer.
function judge(f: Facts) {
  if (f.parsed !== null && !Array.isArray(f.parsed))
    return [found('system-bus-address-invalid', { address: f.address ?? '', reason: f.parsed.error }, { address: f.address })];
  if (f.bus === null || f.result === null) return [found('system-bus-not-probed', { address: f.address ?? '' }, { address: f.address })];
  const { bus, result } = f;
  const ev = { bus, address: f.address, user: f.user, hostsOwn: f.hostsOwn, stage: result.stage, errno: result.ok ? null : result.errno };
  if (f.hostsOwn) return [found('system-bus-host', { bus }, ev)];
  if (result.ok)
    return {
      findings: [found('system-bus-connected', { bus, user: f.user, name: result.name }, { ...ev, name: result.name })],
      summary: `${bus}: the guest's own system bus, Hello answered with ${result.name}`,
    };
  if (result.stage !== 'connect') return [found('system-bus-no-answer', { bus, reason: result.reason }, ev)];
  if (result.errno === 'ENOENT') return [found('system-bus-missing', { bus }, ev)];
  if (result.errno === 'ECONNREFUSED') return [found('system-bus-stale', { bus }, ev)];
  if (result.errno === 'EACCES') return [found('system-bus-permission', { bus, user: f.user }, ev)];
  return [found('system-bus-connect-failed', { bus, reason: result.reason }, ev)];
}

function privateBusFix(f: Facts): Fix<'dbus.private-system-bus'> | null {
  const { place } = f;
  if (place.kind === 'nspawn') {
    const machine = place.nspawn?.machine ?? 'MACHINE';
    return {
      id: 'dbus.private-system-bus',
      title: "Drop the bind of the host's /run (or /run/dbus) from the machine",
      safety: 'manual',
      steps: [
        manual(
          'restart the machine without --bind=/run or --bind=/run/dbus (nspawn gives the guest a /run of its own, and a booted guest starts its own dbus)',
          `systemd-nspawn -b -D … -M ${shellQuote(machine)}`,
        ),
        nspawnFileStep(machine, '[Files]\n# remove Bind=/run and Bind=/run/dbus lines', 'and in'),
      ],
    };
  }
  if (place.kind === 'schroot') {
    const chroot = place.schroot?.chroot ?? 'NAME';
    return {
      id: 'dbus.private-system-bus',
      title: "Stop binding the host's /run into the schroot",
      safety: 'manual',
      steps: [
        manual(
          `in the fstab of ${chroot}'s profile (setup.fstab), remove the "/run" and "/run/dbus" bind lines and bind only /run/user/UID, then start a new session`,
          '/run/user /run/user none rw,bind 0 0',
        ),
      ],
    };
  }
  if (place.kind === 'chroot') {
    const run = shellQuote(hostPathInRoot(place.root, '/run'));
    return {
      id: 'dbus.private-system-bus',
      title: 'Give the chroot a /run of its own',
      safety: 'manual',
      steps: [
        manual(
          "unmount the host's /run from the chroot (no process of the guest may hold it) and mount a tmpfs instead",
          `umount -R ${run} && mount -t tmpfs -o mode=755,nosuid,nodev run ${run}`,
        ),
        manual("then start the guest's own system bus", `chroot ${shellQuote(place.root)} dbus-daemon --system --fork`),
      ],
    };
  }
  return null;
}

function startBusFix(f: Facts, stale: boolean): Fix<'dbus.start-system-bus'> | null {
  if (!f.guestHasDaemon) return null;
  if (f.booted)
    return {
      id: 'dbus.start-system-bus',
      title: "Start the guest's system bus",
      safety: 'manual',
      steps: [manual('as root in the guest', 'systemctl start dbus.socket dbus.service', 'guest')],
    };
  if (f.place.kind !== 'chroot' && f.place.kind !== 'schroot') return null;
  const rm = stale ? `rm -f ${shellQuote(hostPathInRoot(f.place.root, SYSTEM_BUS))} && ` : '';
  return {
    id: 'dbus.start-system-bus',
    title: "Start a system bus of the guest's own",
    safety: 'manual',
    steps: [
      manual(
        `from the host, as root${stale ? ' (the stale socket removed first)' : ''}`,
        `${rm}mkdir -p ${shellQuote(hostPathInRoot(f.place.root, '/run/dbus'))} && chroot ${shellQuote(f.place.root)} dbus-daemon --system --fork`,
      ),
    ],
  };
}

// What it offers: away from the host's bus; a bus of the guest's own where there is none or a stale one.
function offer(f: Facts, reported: readonly Reported<typeof findings>[]) {
  const code = reported[0]?.code;
  if (code === 'system-bus-host') return [privateBusFix(f)];
  if (code === 'system-bus-missing' || code === 'system-bus-stale') return [startBusFix(f, code === 'system-bus-stale')];
  return [];
}

export default defineCheck({
  id: 'dbus.system',
  group: 'dbus',
  title: 'System bus reachable, and whose',
  description:
    "Connects to DBUS_SYSTEM_BUS_ADDRESS or /run/dbus/system_bus_socket in the guest as the desktop user (AUTH EXTERNAL, BEGIN, Hello). Separates a missing socket, a stale one (ECONNREFUSED), EACCES and silence, and says when the socket is the host's own file (same device and inode, through a shared /run): then poweroff, reboot and systemctl in the guest reach the host.",
  findings,
  fixDocs,
  probes: ['user'],
  appliesTo: (ctx) => (ctx.target.kind === 'host' ? 'no guest chosen: the system bus is checked inside a guest' : true),
  gather,
  judge,
  offer,
});
