import path from 'node:path';
import { defineCheck, type CheckContext } from '../../core/check.js';
import { finding, outcomeOf } from '../../core/outcome.js';
import { apiMountRoots, guestRootUse, type GuestRootUse } from '../../host/guest-mount-roots.js';
import { mountHolders } from '../../host/mount-holders.js';
import { sessionRoot } from '../../parse/schroot-config.js';
import { unmountUnits } from '../../host/unmount-order.js';
import { isUnder, type MountEntry } from '../../parse/mountinfo.js';
import { lazyUnmountFix, stopHoldersFix, umountCommands, unmountLeftoversFix } from '../../fixes/plans/mount-plans.js';
import type { Finding, Fix } from '../../core/types.js';

const SCHROOT_MOUNT_DIRS = ['/run/schroot/mount', '/var/run/schroot/mount'];

/** No guest chosen (the bare host, or ctr-doctor's own environment): look at every guest root in our mount table. */
const isHostWide = (ctx: CheckContext): boolean => ctx.target.kind === 'host' || ctx.target.kind === 'self';

/** The guest roots to look at: this guest's, or on the bare host every directory that holds chroot mounts. */
async function rootsToExamine(ctx: CheckContext, hostMounts: MountEntry[]): Promise<string[]> {
  if (!isHostWide(ctx)) return [ctx.target.root];
  const roots = new Set(apiMountRoots(hostMounts));
  // A session directory with mounts but no state file is also left over (state removed by hand).
  for (const m of hostMounts) {
    const base = SCHROOT_MOUNT_DIRS.find((d) => isUnder(m.mountPoint, d) && m.mountPoint !== d);
    if (base) roots.add(path.posix.join(base, path.posix.relative(base, m.mountPoint).split('/')[0] ?? ''));
  }
  return [...roots].filter((r) => ![...roots].some((o) => o !== r && isUnder(r, o))).sort();
}

/** Host mounts outside `root` in the same peer group: where an unmount below `root` would propagate. */
function peersOutside(m: MountEntry, root: string, hostMounts: MountEntry[]): MountEntry[] {
  return m.shared === null ? [] : hostMounts.filter((h) => h.shared === m.shared && !isUnder(h.mountPoint, root));
}

const describeMount = (m: MountEntry) => ({ mountPoint: m.mountPoint, fsType: m.fsType, source: m.source, root: m.root, propagation: m.optionalFields.join(' ') || 'private' });

/** Findings and fixes for one root whose mounts nobody uses. */
function judgeLeftover(use: GuestRootUse, hostMounts: MountEntry[], holders: ReturnType<typeof mountHolders>): { findings: Finding[]; fixes: Fix[] } {
  const findings: Finding[] = [];
  const units = unmountUnits(use.mounts);
  const names = [...new Set(units.map((u) => path.posix.relative(use.root, u.path)))];
  findings.push(finding('leftover-mounts', 'warn',
    `${use.mounts.length} mount(s) are left below ${use.root} (${names.join(', ')}) and no process or schroot session uses them; deleting the directory would delete host files through them`,
    { root: use.root, mounts: use.mounts.map(describeMount), commands: units.map((u) => umountCommands(u)) }));

  const shared = use.mounts.filter((m) => peersOutside(m, use.root, hostMounts).length > 0);
  if (shared.length > 0) {
    findings.push(finding('leftover-mounts-shared', 'warn',
      `${shared.map((m) => m.mountPoint).join(', ')} share mount propagation with the host: a plain "umount -R" would also unmount the host's own copies (${[...new Set(shared.flatMap((m) => peersOutside(m, use.root, hostMounts).map((p) => p.mountPoint)))].slice(0, 6).join(', ')}); run "mount --make-rslave" first`,
      { mounts: shared.map((m) => ({ mountPoint: m.mountPoint, peerGroup: m.shared, peers: peersOutside(m, use.root, hostMounts).map((p) => p.mountPoint) })) }));
  }

  const busyUnits = units.filter((u) => u.members.some((m) => holders.some((h) => h.mountPoint === m.mountPoint)));
  const freeUnits = units.filter((u) => !busyUnits.includes(u));
  const busyHolders = holders.filter((h) => busyUnits.some((u) => u.members.some((m) => m.mountPoint === h.mountPoint)));
  for (const u of busyUnits) {
    const hs = busyHolders.filter((h) => u.members.some((m) => m.mountPoint === h.mountPoint));
    findings.push(finding('leftover-mount-busy', 'warn',
      `umount: ${u.path}: target is busy: held by ${hs.map((h) => `${h.pid} (${h.comm}, ${h.how} ${h.path})`).join(', ')}`,
      { mountPoint: u.path, pids: [...new Set(hs.map((h) => h.pid))], holders: hs }));
  }

  const fixes: Fix[] = [];
  if (freeUnits.length > 0) fixes.push(unmountLeftoversFix(use.root, freeUnits));
  if (busyUnits.length > 0) fixes.push(stopHoldersFix(use.root, busyHolders), lazyUnmountFix(use.root, busyUnits));
  return { findings, fixes };
}

export default defineCheck({
  id: 'mounts.leftover',
  group: 'mounts',
  title: 'Leftover mounts below guest roots',
  description: 'Looks in the host\'s mount table for mounts (/proc, /sys, /dev rbinds and others) below a guest root that no process has as its root and no open schroot session owns: what is left after the chroot ended. Offers an unmount plan that cannot propagate to the host.',
  findings: {
    'leftover-mounts': { severity: 'warn', description: 'Mounts below a guest root that nothing uses any more.' },
    'leftover-mounts-shared': { severity: 'warn', description: 'A leftover mount shares propagation with the host: a plain umount -R would unmount the host\'s own /dev/pts, /dev/shm…' },
    'leftover-mount-busy': { severity: 'warn', description: 'A leftover mount is held by a process (its cwd, root, an open or mapped file): umount says "target is busy".' },
    'mounts-in-use': { severity: 'info', description: 'Mounts below a guest root that running processes use.' },
    'mounts-owned-by-session': { severity: 'info', description: 'Mounts that belong to an open schroot session.' },
    'holders-incomplete': { severity: 'info', description: 'Some processes\' open files could not be read (not root), so a busy mount may go unnamed.' },
  },
  fixDocs: {
    'mounts.unmount-leftovers': 'umount steps, deepest first, each after mount --make-rslave so nothing propagates to the host.',
    'mounts.stop-holders': 'Names the processes that keep a mount busy (kill them or move them elsewhere).',
    'mounts.lazy-unmount': 'Unsafe: umount -l the busy mounts; they disappear but stay alive for their holders.',
  },
  appliesTo: (ctx) => {
    if (ctx.target.root.startsWith('/proc/')) return 'the guest has its own mount namespace; its mounts end with it';
    return true;
  },

  async run(ctx) {
    // What it looks at: the host's mount table below each guest root, who is rooted there, open sessions.
    const [hostMounts, processes, sessions, ownMntns] = await Promise.all([
      ctx.host.mountinfo(), ctx.host.processes(), ctx.host.schrootSessions(), ctx.host.ownMntns(),
    ]);
    const sessionRoots = new Map(sessions.filter((s) => s.mounted).map((s) => [sessionRoot(s), s.id] as const));
    const roots = await rootsToExamine(ctx, hostMounts);
    if (roots.length === 0) return outcomeOf([], [], 'no guest roots with mounts on this host');
    const guestPids = isHostWide(ctx) ? [] : (await ctx.target.processes()).map((p) => p.pid);

    // How it decides: a root with mounts but no process rooted in it and no session is left over.
    const findings: Finding[] = [];
    const fixes: Fix[] = [];
    let leftoverCount = 0;
    for (const root of roots) {
      const use = guestRootUse(root, hostMounts, processes, sessionRoots, ownMntns);
      if (use.mounts.length === 0) continue;
      const pids = [...new Set([...use.rootedPids, ...(root === ctx.target.root ? guestPids : [])])];
      if (pids.length > 0) {
        findings.push(finding('mounts-in-use', 'info', `${use.mounts.length} mount(s) below ${root} are in use by ${pids.length} process(es) rooted there`, { root, pids: pids.slice(0, 20) }));
        continue;
      }
      if (use.session !== null) {
        findings.push(finding('mounts-owned-by-session', 'info', `${use.mounts.length} mount(s) below ${root} belong to the open schroot session ${use.session}`, { root, session: use.session }));
        continue;
      }
      const files = await ctx.host.processFiles();
      if (files.some((f) => !f.complete) && !findings.some((f) => f.code === 'holders-incomplete')) {
        findings.push(finding('holders-incomplete', 'info', 'some processes\' open files could not be read; run as root to name every process that holds a mount', { unreadable: files.filter((f) => !f.complete).length }));
      }
      const judged = judgeLeftover(use, hostMounts, mountHolders(files, use.mounts, ownMntns));
      leftoverCount += use.mounts.length;
      findings.push(...judged.findings);
      fixes.push(...judged.fixes);
    }
    // What it offers: the unmount plans built above.
    const summary = leftoverCount === 0
      ? (findings.length === 0 ? `no mounts below ${isHostWide(ctx) ? 'any guest root' : ctx.target.root}` : findings.map((f) => f.message).join('; '))
      : undefined;
    return outcomeOf(findings, fixes, summary);
  },
});
