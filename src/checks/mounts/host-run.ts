import path from 'node:path';
import { defineCheck, type CheckContext } from '../../core/check.js';
import { finding, outcomeOf } from '../../core/outcome.js';
import { fsLocationOf, isVisibleAt, whereEntryShows } from '../../host/host-paths-in-mounts.js';
import { unmountUnits } from '../../host/unmount-order.js';
import { isUnder, mountsUnder, type MountEntry } from '../../parse/mountinfo.js';
import { parseFstab } from '../../parse/fstab.js';
import { effectiveSetupFiles } from '../../parse/schroot-config.js';
import { parseNspawnArgs } from '../../parse/nspawn-args.js';
import { splitLines } from '../../parse/text-lines.js';
import { privateRunChrootScriptFix, privateRunLiveFix, privateRunNspawnFix, privateRunSchrootFix } from '../../fixes/plans/mount-plans.js';
import { COUPLED_RUN_DIRS, runReplacementFor, type CoupledRunDir } from './coupled-run.js';
import type { Finding, Fix } from '../../core/types.js';

/** Sockets that identify the host's daemons even when the mount table does not say how they got in. */
const HOST_SOCKETS = ['/run/systemd/private', '/run/dbus/system_bus_socket'];

interface Exposure {
  /** The guest mount that shows host directories. */
  entry: MountEntry;
  /** Host directory → where the guest sees it. */
  shows: { hostDir: string; at: string }[];
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

/** The profile fstab line of a schroot chroot that brings in `e`, with its file and text. */
async function schrootFstabLine(ctx: CheckContext, e: Exposure): Promise<{ file: string; line: number; text: string } | null> {
  const name = ctx.target.schroot?.chroot;
  const chroot = (await ctx.host.schrootConfig()).chroots.find((c) => c.name === name);
  if (!chroot) return null;
  const file = path.posix.resolve(ctx.host.schrootPaths.configDir, effectiveSetupFiles(chroot).fstab);
  const text = await ctx.host.readFile(file);
  if (text === null) return null;
  const lines = splitLines(text);
  for (const entry of parseFstab(text).entries) {
    const spec = entry.spec;
    const hit = e.shows.some((s) => isUnder(s.hostDir, spec) && path.posix.join(entry.file, path.posix.relative(spec, s.hostDir)) === s.at);
    if (hit) return { file, line: entry.line, text: lines.find((l) => l.line === entry.line)?.text ?? '' };
  }
  return null;
}

/** Fixes for one exposure, by the kind of guest. */
async function fixesFor(ctx: CheckContext, e: Exposure, hostMounts: MountEntry[]): Promise<Fix[]> {
  const { target } = ctx;
  const r = await runReplacementFor(ctx.host, ctx.target.user);
  const fixes: Fix[] = [];
  if (target.kind === 'nspawn') {
    const args = parseNspawnArgs((target.nspawn?.argv ?? []).slice(1));
    const offending = args.binds.filter((b) => e.shows.some((s) => isUnder(s.hostDir, b.source))).map((b) => `--${b.readOnly ? 'bind-ro' : 'bind'}=${b.source}${b.dest !== b.source ? `:${b.dest}` : ''}`);
    return [privateRunNspawnFix(target.nspawn?.machine ?? target.name, offending, r)];
  }
  if (target.kind !== 'chroot' && target.kind !== 'schroot') return fixes;
  // Live repair: the guest's mounts are host mounts below its root (chroot and schroot share the host's namespace).
  const hostPath = path.posix.join(target.root, e.entry.mountPoint);
  const unit = unmountUnits(mountsUnder(hostMounts, hostPath)).find((u) => u.path === hostPath);
  if (unit) {
    const busy = (await target.processes()).length > 0;
    fixes.push(privateRunLiveFix(e.entry.mountPoint, unit, r, busy ? 'unsafe' : 'safe'));
  }
  if (target.kind === 'schroot') {
    const line = await schrootFstabLine(ctx, e);
    if (line) fixes.push(privateRunSchrootFix(line.file, line.line, line.text, r));
  } else {
    fixes.push(privateRunChrootScriptFix(target.root, r));
  }
  return fixes;
}

export default defineCheck({
  id: 'mounts.host-run',
  group: 'mounts',
  title: 'Host /run visible in the guest',
  description: 'Compares the guest\'s mount table with the host\'s: a guest mount of the same device and root as the host\'s /run (or /run/systemd, /run/dbus, /run/user) means the guest talks to the host\'s init and buses. The same inode of /run/systemd/private or the system bus socket inside and outside is the second sign.',
  findings: {
    'host-run-mounted': { severity: 'fail', description: 'The host\'s whole /run is mounted in the guest: "poweroff" in the guest shuts the host down.' },
    'host-systemd-run-mounted': { severity: 'fail', description: 'The host\'s /run/systemd is mounted in the guest.' },
    'host-dbus-mounted': { severity: 'fail', description: 'The host\'s /run/dbus (system bus) is mounted in the guest.' },
    'host-user-run-mounted': { severity: 'warn', description: 'The host\'s /run/user (or /run/user/UID) is mounted in the guest: the host session\'s bus and daemons.' },
    'host-socket-visible': { severity: 'fail', description: 'The guest reaches the very socket of a host daemon (same device and inode).' },
  },
  fixDocs: {
    'mounts.private-run': 'Live: unmount it (make-rslave first), mount a tmpfs, a private /run/user/UID, and bind only pulse and dconf.',
    'mounts.private-run-setup': 'chroot: the mount commands to use instead of rbinding /run.',
    'mounts.schroot-private-run': 'schroot: the profile fstab line to remove and the lines to put in its place.',
    'mounts.nspawn-private-run': 'nspawn: drop the bind of /run; --bind=/run/user/UID/pulse:/run/user/pulse and PULSE_SERVER.',
  },
  appliesTo: (ctx) => {
    if (ctx.target.kind === 'host') return 'no guest chosen: the host\'s /run is its own';
    if (ctx.target.kind === 'self') return 'ctr-doctor runs inside the guest and cannot see the host\'s /run';
    return true;
  },

  async run(ctx) {
    // What it looks at: the guest's mount table against the host's, and the host daemons' sockets.
    const [hostMounts, guestMounts] = await Promise.all([ctx.host.mountinfo(), ctx.target.mounts()]);
    const found = exposures(hostMounts, guestMounts, ctx.target.user.uid);

    // How it decides: any guest mount that shows one of the coupled host directories.
    const findings: Finding[] = [];
    const fixes: Fix[] = [];
    for (const e of found) {
      const c = worst(e);
      const shown = e.shows.find((s) => s.hostDir === c.dir) ?? e.shows[0];
      findings.push(finding(c.code, c.severity,
        `the host's ${shown?.hostDir ?? c.dir} is mounted in the guest at ${shown?.at ?? e.entry.mountPoint}: ${c.why}`,
        { guestMountPoint: e.entry.mountPoint, device: `${e.entry.major}:${e.entry.minor}`, root: e.entry.root, fsType: e.entry.fsType, shows: e.shows }));
      fixes.push(...(await fixesFor(ctx, e, hostMounts)));
    }
    for (const sock of HOST_SOCKETS) {
      if (found.some((e) => e.shows.some((s) => isUnder(sock, s.hostDir) && s.at === s.hostDir))) continue;
      const [host, guest] = await Promise.all([ctx.host.stat(sock), ctx.target.stat(sock)]);
      if (host && !('error' in guest) && guest.dev === host.dev && guest.ino === host.ino) {
        findings.push(finding('host-socket-visible', 'fail',
          `${sock} in the guest is the host's own socket (same device and inode): the guest talks to the host's ${sock.includes('dbus') ? 'system bus' : 'systemd'}`,
          { socket: sock, dev: host.dev, ino: host.ino }));
      }
    }
    // What it offers: fixes built per exposure above.
    const summary = findings.length === 0 ? 'the guest has its own /run; no host daemon sockets are visible' : undefined;
    return outcomeOf(findings, fixes, summary);
  },
});
