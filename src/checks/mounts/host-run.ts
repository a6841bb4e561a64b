import path from 'node:path';
import { defineCheck, type CheckContext, type Reported } from '../../core/check.js';
import { findingBuilder } from '../../core/findings.js';
import { fsLocationOf, isVisibleAt, whereEntryShows } from '../../host/host-paths-in-mounts.js';
import { unmountUnits } from '../../host/unmount-order.js';
import { isUnder, mountsUnder, type MountEntry } from '../../parse/mountinfo.js';
import { parseFstab } from '../../parse/fstab.js';
import { effectiveSetupFiles } from '../../parse/schroot-config.js';
import { parseNspawnArgs } from '../../parse/nspawn-args.js';
import { splitLines } from '../../parse/text-lines.js';
import {
  privateRunChrootScriptFix,
  privateRunLiveFix,
  privateRunNspawnFix,
  privateRunSchrootFix,
  type RunReplacement,
} from '../../fixes/plans/mount-plans.js';
import { COUPLED_RUN_DIRS, runReplacementFor, type CoupledRunDir } from './coupled-run.js';
import type { Fix, TargetKind } from '../../core/types.js';

const [RUN, SYSTEMD, DBUS, USER] = COUPLED_RUN_DIRS;

const findings = {
  'host-run-mounted': {
    severity: 'fail',
    message: `the host's {hostDir} is mounted in the guest at {at}: ${RUN.why}`,
    description: 'The host\'s whole /run is mounted in the guest: "poweroff" in the guest shuts the host down.',
  },
  'host-systemd-run-mounted': {
    severity: 'fail',
    message: `the host's {hostDir} is mounted in the guest at {at}: ${SYSTEMD.why}`,
    description: "The host's /run/systemd is mounted in the guest.",
  },
  'host-dbus-mounted': {
    severity: 'fail',
    message: `the host's {hostDir} is mounted in the guest at {at}: ${DBUS.why}`,
    description: "The host's /run/dbus (system bus) is mounted in the guest.",
  },
  'host-user-run-mounted': {
    severity: 'warn',
    message: `the host's {hostDir} is mounted in the guest at {at}: ${USER.why}`,
    description: "The host's /run/user (or /run/user/UID) is mounted in the guest: the host session's bus and daemons.",
  },
  'host-socket-visible': {
    severity: 'fail',
    message: "{socket} in the guest is the host's own socket (same device and inode): the guest talks to the host's {daemon}",
    description: 'The guest reaches the very socket of a host daemon (same device and inode).',
  },
} as const;

const fixDocs = {
  'mounts.private-run': 'Live: unmount it (make-rslave first), mount a tmpfs, a private /run/user/UID, and bind only pulse and dconf.',
  'mounts.private-run-setup': 'chroot: the mount commands to use instead of rbinding /run.',
  'mounts.schroot-private-run': 'schroot: the profile fstab line to remove and the lines to put in its place.',
  'mounts.nspawn-private-run': 'nspawn: drop the bind of /run; --bind=/run/user/UID/pulse:/run/user/pulse and PULSE_SERVER.',
} as const;

/** Sockets that identify the host's daemons even when the mount table does not say how they got in. */
const HOST_SOCKETS = ['/run/systemd/private', '/run/dbus/system_bus_socket'];

interface Exposure {
  /** The guest mount that shows host directories. */
  entry: MountEntry;
  /** Host directory → where the guest sees it. */
  shows: { hostDir: string; at: string }[];
}

/** A host daemon's socket, as the host and the guest see that path. */
interface SocketSight {
  socket: string;
  host: { dev: number; ino: number } | null;
  guest: { dev: number; ino: number } | null;
}

interface Facts {
  kind: TargetKind;
  root: string;
  uid: number;
  hostMounts: MountEntry[];
  guestMounts: MountEntry[];
  sockets: SocketSight[];
  /** What replaces the host's /run: a private runtime dir plus the host's pulse and dconf dirs that exist. */
  run: RunReplacement;
  /** Processes run in the guest, so a live repair pulls /run away under them. */
  busy: boolean;
  nspawn: { machine: string; argv: string[] } | null;
  /** For a schroot guest: its profile's fstab (path and text), where the bind of /run comes from. */
  schrootFstab: { file: string; text: string } | null;
}

/** The profile fstab of the target's schroot chroot, as the host has it. */
async function schrootFstabOf(ctx: CheckContext): Promise<{ file: string; text: string } | null> {
  const name = ctx.target.schroot?.chroot;
  if (ctx.target.kind !== 'schroot' || name === undefined) return null;
  const chroot = (await ctx.host.schrootConfig()).chroots.find((c) => c.name === name);
  if (!chroot) return null;
  const file = path.posix.resolve(ctx.host.schrootPaths.configDir, effectiveSetupFiles(chroot).fstab);
  const text = await ctx.host.readFile(file);
  return text === null ? null : { file, text };
}

// What it looks at: the guest's mount table against the host's, the host daemons' sockets inside and outside,
// and for the fixes what would replace /run, whether processes run in the guest, and a schroot's profile fstab.
async function gather(ctx: CheckContext): Promise<Facts> {
  const { target, host } = ctx;
  const liveRepair = target.kind === 'chroot' || target.kind === 'schroot';
  const [hostMounts, guestMounts, sockets, run, processes, schrootFstab] = await Promise.all([
    host.mountinfo(),
    target.mounts(),
    Promise.all(
      HOST_SOCKETS.map(async (socket): Promise<SocketSight> => {
        const [h, g] = await Promise.all([host.stat(socket), target.stat(socket)]);
        return { socket, host: h && { dev: h.dev, ino: h.ino }, guest: 'error' in g ? null : { dev: g.dev, ino: g.ino } };
      }),
    ),
    runReplacementFor(host, target.user),
    liveRepair ? target.processes() : [],
    schrootFstabOf(ctx),
  ]);
  return {
    kind: target.kind,
    root: target.root,
    uid: target.user.uid,
    hostMounts,
    guestMounts,
    sockets,
    run,
    busy: processes.length > 0,
    nspawn: target.kind === 'nspawn' ? { machine: target.nspawn?.machine ?? target.name, argv: target.nspawn?.argv ?? [] } : null,
    schrootFstab,
  };
}

/** Which guest mounts show the host's /run, /run/systemd, /run/dbus, /run/user or /run/user/UID (by device and root). */
function exposures(hostMounts: MountEntry[], guestMounts: MountEntry[], uid: number): Exposure[] {
  const userDirs = hostMounts.map((m) => m.mountPoint).filter((p) => /^\/run\/user\/\d+$/.test(p));
  const dirs = [...COUPLED_RUN_DIRS.map((c) => c.dir), ...new Set([...userDirs, `/run/user/${uid}`])];
  const found = new Map<number, Exposure>();
  for (const dir of dirs) {
    const loc = fsLocationOf(hostMounts, dir);
    if (!loc) continue;
    for (const entry of guestMounts) {
      const at = whereEntryShows(entry, loc);
      if (at === null || !isVisibleAt(guestMounts, entry, at)) continue;
      const e = found.get(entry.id) ?? { entry, shows: [] };
      e.shows.push({ hostDir: dir, at });
      found.set(entry.id, e);
    }
  }
  // A submount of an exposed mount (the rest of an rbind) is reported with it, and goes with it.
  const byId = new Map(guestMounts.map((m) => [m.id, m]));
  const exposedAncestor = (m: MountEntry): Exposure | undefined => {
    let top: Exposure | undefined;
    const seen = new Set<number>([m.id]);
    for (let p = byId.get(m.parentId); p && !seen.has(p.id); p = byId.get(p.parentId)) {
      seen.add(p.id);
      top = found.get(p.id) ?? top;
    }
    return top;
  };
  const tops: Exposure[] = [];
  for (const e of found.values()) {
    const anc = exposedAncestor(e.entry);
    if (anc) anc.shows.push(...e.shows);
    else tops.push(e);
  }
  return tops;
}

/** The coupled directory that matters most for an exposure (the shallowest). */
function worst(e: Exposure): CoupledRunDir {
  const hit = COUPLED_RUN_DIRS.find((c) => e.shows.some((s) => s.hostDir === c.dir));
  return hit ?? COUPLED_RUN_DIRS[3];
}

const found = findingBuilder(findings);

// How it decides: any guest mount that shows one of the coupled host directories, then the host daemons'
// own sockets seen in the guest (same device and inode) where no exposure already says so.
function judge(f: Facts) {
  const exposed = exposures(f.hostMounts, f.guestMounts, f.uid);
  const out: Reported<typeof findings>[] = exposed.map((e) => {
    const c = worst(e);
    const shown = e.shows.find((s) => s.hostDir === c.dir) ?? e.shows[0];
    return found(
      c.code,
      { hostDir: shown?.hostDir ?? c.dir, at: shown?.at ?? e.entry.mountPoint },
      {
        guestMountPoint: e.entry.mountPoint,
        device: `${e.entry.major}:${e.entry.minor}`,
        root: e.entry.root,
        fsType: e.entry.fsType,
        shows: e.shows,
      },
    );
  });
  for (const { socket, host, guest } of f.sockets) {
    if (exposed.some((e) => e.shows.some((s) => isUnder(socket, s.hostDir) && s.at === s.hostDir))) continue;
    if (host && guest?.dev === host.dev && guest.ino === host.ino) {
      out.push(
        found(
          'host-socket-visible',
          { socket, daemon: socket.includes('dbus') ? 'system bus' : 'systemd' },
          { socket, dev: host.dev, ino: host.ino },
        ),
      );
    }
  }
  return { findings: out, summary: 'the guest has its own /run; no host daemon sockets are visible' };
}

/** The profile fstab line of a schroot chroot that brings in `e`, with its line number and text. */
function schrootFstabLine(fstab: { file: string; text: string }, e: Exposure): { file: string; line: number; text: string } | null {
  const lines = splitLines(fstab.text);
  for (const entry of parseFstab(fstab.text).entries) {
    const spec = entry.spec;
    const hit = e.shows.some((s) => isUnder(s.hostDir, spec) && path.posix.join(entry.file, path.posix.relative(spec, s.hostDir)) === s.at);
    if (hit) return { file: fstab.file, line: entry.line, text: lines.find((l) => l.line === entry.line)?.text ?? '' };
  }
  return null;
}

/** Fixes for one exposure, by the kind of guest. */
function fixesFor(f: Facts, e: Exposure): (Fix<keyof typeof fixDocs> | null)[] {
  if (f.kind === 'nspawn') {
    const args = parseNspawnArgs((f.nspawn?.argv ?? []).slice(1));
    const offending = args.binds
      .filter((b) => e.shows.some((s) => isUnder(s.hostDir, b.source)))
      .map((b) => `--${b.readOnly ? 'bind-ro' : 'bind'}=${b.source}${b.dest !== b.source ? `:${b.dest}` : ''}`);
    return [privateRunNspawnFix(f.nspawn?.machine ?? f.root, offending, f.run)];
  }
  if (f.kind !== 'chroot' && f.kind !== 'schroot') return [];
  // Live repair: the guest's mounts are host mounts below its root (chroot and schroot share the host's namespace).
  const hostPath = path.posix.join(f.root, e.entry.mountPoint);
  const unit = unmountUnits(mountsUnder(f.hostMounts, hostPath)).find((u) => u.path === hostPath);
  const live = unit ? privateRunLiveFix(e.entry.mountPoint, unit, f.run, f.busy ? 'unsafe' : 'safe') : null;
  if (f.kind === 'chroot') return [live, privateRunChrootScriptFix(f.root, f.run)];
  const line = f.schrootFstab ? schrootFstabLine(f.schrootFstab, e) : null;
  return [live, line ? privateRunSchrootFix(line.file, line.line, line.text, f.run) : null];
}

// What it offers: per exposure, the live repair and the lasting one for this kind of guest.
function offer(f: Facts) {
  return exposures(f.hostMounts, f.guestMounts, f.uid).flatMap((e) => fixesFor(f, e));
}

export default defineCheck({
  id: 'mounts.host-run',
  group: 'mounts',
  title: 'Host /run visible in the guest',
  description:
    "Compares the guest's mount table with the host's: a guest mount of the same device and root as the host's /run (or /run/systemd, /run/dbus, /run/user) means the guest talks to the host's init and buses. The same inode of /run/systemd/private or the system bus socket inside and outside is the second sign.",
  findings,
  fixDocs,
  appliesTo: (ctx) => {
    if (ctx.target.kind === 'host') return "no guest chosen: the host's /run is its own";
    if (ctx.target.kind === 'self') return "ctr-doctor runs inside the guest and cannot see the host's /run";
    return true;
  },
  gather,
  judge,
  offer,
});
