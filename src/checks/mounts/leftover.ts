import path from 'node:path';
import { defineCheck, type CheckContext, type Reported } from '../../core/check.js';
import { findingBuilder, renderMessage } from '../../core/findings.js';
import { apiMountRoots, guestRootUse, type GuestRootUse } from '../../host/guest-mount-roots.js';
import { sessionRoot } from '../../parse/schroot-config.js';
import { unmountUnits } from '../../host/unmount-order.js';
import { isUnder, type MountEntry } from '../../parse/mountinfo.js';
import { lazyUnmountFix, stopHoldersFix, umountCommands, unmountLeftoversFix } from '../../fixes/plans/mount-plans.js';
import type { MountHolder, MountHolderScan } from '../../core/host.js';

const findings = {
  'leftover-mounts': {
    severity: 'warn',
    message:
      '{count} mount(s) are left below {root} ({names}) and no process or schroot session uses them; deleting the directory would delete host files through them',
    description: 'Mounts below a guest root that nothing uses any more.',
  },
  'leftover-mounts-shared': {
    severity: 'warn',
    message:
      '{mounts} share mount propagation with the host: a plain "umount -R" would also unmount the host\'s own copies ({peers}); run "mount --make-rslave" first',
    description: "A leftover mount shares propagation with the host: a plain umount -R would unmount the host's own /dev/pts, /dev/shm…",
  },
  'leftover-mount-busy': {
    severity: 'warn',
    message: 'umount: {mountPoint}: target is busy: held by {holders}',
    description: 'A leftover mount is held by a process (its cwd, root, an open or mapped file): umount says "target is busy".',
  },
  'mounts-in-use': {
    severity: 'info',
    message: '{count} mount(s) below {root} are in use by {pids} process(es) rooted there',
    description: 'Mounts below a guest root that running processes use.',
  },
  'mounts-owned-by-session': {
    severity: 'info',
    message: '{count} mount(s) below {root} belong to the open schroot session {session}',
    description: 'Mounts that belong to an open schroot session.',
  },
  'holders-incomplete': {
    severity: 'info',
    message: "some processes' open files could not be read; run as root to name every process that holds a mount",
    description: "Some processes' open files could not be read (not root), so a busy mount may go unnamed.",
  },
  'holders-unknown': {
    severity: 'info',
    message:
      'who holds the mounts below {root} ({names}) is known only in part: the host scan read {read} of {total} processes within its budget of {budgetMs} ms, so holders among the rest go unnamed here; fix names them if umount says "target is busy"',
    description:
      'A busy host: the scan for processes holding the leftover mounts stopped at its budget (CTR_DOCTOR_HOLDERS_BUDGET_MS) before reading every process. The holders it found are still named.',
  },
} as const;

const fixDocs = {
  'mounts.unmount-leftovers': 'umount steps, deepest first, each after mount --make-rslave so nothing propagates to the host.',
  'mounts.stop-holders': 'Names the processes that keep a mount busy (kill them or move them elsewhere).',
  'mounts.lazy-unmount': 'Unsafe: umount -l the busy mounts; they disappear but stay alive for their holders.',
} as const;

const SCHROOT_MOUNT_DIRS = ['/run/schroot/mount', '/var/run/schroot/mount'];

/** One guest root with mounts below it, and who uses it. */
interface RootFacts {
  use: GuestRootUse;
  /** Processes rooted there: the host's view, and for the target's own root the guest's processes too. */
  pids: number[];
}

/** No process is rooted there and no open session owns it: its mounts are left over. */
const isUnused = (r: RootFacts): boolean => r.pids.length === 0 && r.use.session === null;

interface Facts {
  /** No guest chosen: every guest root of the host was looked at. */
  hostWide: boolean;
  root: string;
  /** How many guest roots were looked at (on the bare host: those found in the mount table). */
  examined: number;
  hostMounts: MountEntry[];
  roots: RootFacts[];
  /** Who holds the mounts of the roots nobody uses (one host scan for all of them); null when every root is in use. */
  holders: MountHolderScan | null;
}

/** No guest chosen (the bare host, or ctr-doctor's own environment): look at every guest root in our mount table. */
const isHostWide = (ctx: CheckContext): boolean => ctx.target.kind === 'host' || ctx.target.kind === 'self';

/** The guest roots to look at: this guest's, or on the bare host every directory that holds chroot mounts. */
function rootsToExamine(hostWide: boolean, root: string, hostMounts: readonly MountEntry[]): string[] {
  if (!hostWide) return [root];
  const roots = new Set(apiMountRoots(hostMounts));
  // A session directory with mounts but no state file is also left over (state removed by hand).
  for (const m of hostMounts) {
    const base = SCHROOT_MOUNT_DIRS.find((d) => isUnder(m.mountPoint, d) && m.mountPoint !== d);
    if (base) roots.add(path.posix.join(base, path.posix.relative(base, m.mountPoint).split('/')[0] ?? ''));
  }
  return [...roots].filter((r) => ![...roots].some((o) => o !== r && isUnder(r, o))).sort();
}

// What it looks at: the host's mount table below each guest root, who is rooted there, open sessions,
// and (only when something is left over) a host scan for the holders of exactly those mounts, by mount id.
async function gather(ctx: CheckContext): Promise<Facts> {
  const { host, target } = ctx;
  const [hostMounts, processes, sessions, ownMntns] = await Promise.all([
    host.mountinfo(),
    host.processes(),
    host.schrootSessions(),
    host.ownMntns(),
  ]);
  const hostWide = isHostWide(ctx);
  const sessionRoots = new Map(sessions.filter((s) => s.mounted).map((s) => [sessionRoot(s), s.id] as const));
  const names = rootsToExamine(hostWide, target.root, hostMounts);
  const byHost = names
    .map((root) => ({ root, use: guestRootUse(root, hostMounts, processes, sessionRoots, ownMntns) }))
    .filter(({ use }) => use.mounts.length > 0);
  // The holder scan of the roots no host process uses starts before the guest's own processes are
  // asked (they can only make a root used): it runs on the host-scan thread meanwhile.
  const candidates = byHost.filter(({ use }) => use.rootedPids.length === 0 && use.session === null).flatMap(({ use }) => use.mounts);
  const scanning = candidates.length > 0 ? host.scanMountHolders(candidates.map((m) => m.id)) : null;
  // Awaited below only if a root stays unused; a failure then is the check's error.
  scanning?.catch(() => undefined);
  const guestPids = hostWide || byHost.length === 0 ? [] : (await target.processes()).map((p) => p.pid);
  const roots = byHost.map(({ root, use }) => ({
    use,
    pids: [...new Set([...use.rootedPids, ...(root === target.root ? guestPids : [])])],
  }));
  return {
    hostWide,
    root: target.root,
    examined: names.length,
    hostMounts,
    roots,
    holders: roots.some(isUnused) ? await scanning : null,
  };
}

const found = findingBuilder(findings);

/** Host mounts outside `root` in the same peer group: where an unmount below `root` would propagate. */
function peersOutside(m: MountEntry, root: string, hostMounts: readonly MountEntry[]): MountEntry[] {
  return m.shared === null ? [] : hostMounts.filter((h) => h.shared === m.shared && !isUnder(h.mountPoint, root));
}

const describeMount = (m: MountEntry) => ({
  mountPoint: m.mountPoint,
  fsType: m.fsType,
  source: m.source,
  root: m.root,
  propagation: m.optionalFields.join(' ') || 'private',
});

/** A left-over root's mounts split into what can go now and what a process holds. */
function leftoverPlan(use: GuestRootUse, holders: readonly MountHolder[]) {
  const units = unmountUnits(use.mounts);
  const holdersOf = (u: (typeof units)[number]) => holders.filter((h) => u.members.some((m) => m.id === h.mountId));
  const busy = units.filter((u) => holdersOf(u).length > 0);
  return { units, busy, free: units.filter((u) => !busy.includes(u)), holdersOf, busyHolders: busy.flatMap(holdersOf) };
}

const holdersOfRoot = (f: Facts, use: GuestRootUse): MountHolder[] =>
  (f.holders?.holders ?? []).filter((h) => use.mounts.some((m) => m.id === h.mountId));

/** Findings for one root whose mounts nobody uses: left over, shared with the host, busy. */
function judgeLeftover(f: Facts, use: GuestRootUse): Reported<typeof findings>[] {
  const plan = leftoverPlan(use, holdersOfRoot(f, use));
  const names = [...new Set(plan.units.map((u) => path.posix.relative(use.root, u.path)))];
  const out = [
    found(
      'leftover-mounts',
      { count: use.mounts.length, root: use.root, names: names.join(', ') },
      { root: use.root, mounts: use.mounts.map(describeMount), commands: plan.units.map((u) => umountCommands(u)) },
    ),
  ];
  const scan = f.holders;
  if (scan && !scan.finished)
    out.push(
      found(
        'holders-unknown',
        { root: use.root, names: names.join(', '), read: scan.read, total: scan.total, budgetMs: scan.budgetMs },
        {
          root: use.root,
          mounts: use.mounts.map((m) => m.mountPoint),
          read: scan.read,
          total: scan.total,
          elapsedMs: scan.elapsedMs,
          budgetMs: scan.budgetMs,
          holdersFound: holdersOfRoot(f, use).length,
        },
      ),
    );
  const shared = use.mounts.filter((m) => peersOutside(m, use.root, f.hostMounts).length > 0);
  if (shared.length > 0) {
    const peers = [...new Set(shared.flatMap((m) => peersOutside(m, use.root, f.hostMounts).map((p) => p.mountPoint)))].slice(0, 6);
    out.push(
      found(
        'leftover-mounts-shared',
        { mounts: shared.map((m) => m.mountPoint).join(', '), peers: peers.join(', ') },
        {
          mounts: shared.map((m) => ({
            mountPoint: m.mountPoint,
            peerGroup: m.shared,
            peers: peersOutside(m, use.root, f.hostMounts).map((p) => p.mountPoint),
          })),
        },
      ),
    );
  }
  for (const u of plan.busy) {
    const hs = plan.holdersOf(u);
    out.push(
      found(
        'leftover-mount-busy',
        { mountPoint: u.path, holders: hs.map((h) => `${h.pid} (${h.comm}, ${h.how} ${h.path})`).join(', ') },
        { mountPoint: u.path, pids: [...new Set(hs.map((h) => h.pid))], holders: hs },
      ),
    );
  }
  return out;
}

// How it decides: a root with mounts but no process rooted in it and no open session is left over.
function judge(f: Facts) {
  const out: Reported<typeof findings>[] = [];
  const unreadable = f.holders?.unreadable ?? 0;
  for (const { use, pids } of f.roots) {
    const base = { count: use.mounts.length, root: use.root };
    if (pids.length > 0) out.push(found('mounts-in-use', { ...base, pids: pids.length }, { root: use.root, pids: pids.slice(0, 20) }));
    else if (use.session !== null)
      out.push(found('mounts-owned-by-session', { ...base, session: use.session }, { root: use.root, session: use.session }));
    else {
      if (unreadable > 0 && !out.some((r) => r.code === 'holders-incomplete')) out.push(found('holders-incomplete', {}, { unreadable }));
      out.push(...judgeLeftover(f, use));
    }
  }
  if (f.examined === 0) return { findings: [], summary: 'no guest roots with mounts on this host' };
  if (f.roots.length === 0) return { findings: [], summary: `no mounts below ${f.hostWide ? 'any guest root' : f.root}` };
  // Every root in use: the summary says so for each of them.
  return { findings: out, summary: out.map((r) => renderMessage(findings[r.code].message, r.data)).join('; ') };
}

// What it offers: unmount what nobody holds; for held mounts, who to stop, and a lazy unmount as the unsafe way.
function offer(f: Facts) {
  return f.roots.filter(isUnused).flatMap(({ use }) => {
    const plan = leftoverPlan(use, holdersOfRoot(f, use));
    return [
      plan.free.length > 0 ? unmountLeftoversFix(use.root, plan.free) : null,
      ...(plan.busy.length > 0 ? [stopHoldersFix(use.root, plan.busyHolders), lazyUnmountFix(use.root, plan.busy)] : []),
    ];
  });
}

export default defineCheck({
  id: 'mounts.leftover',
  group: 'mounts',
  title: 'Leftover mounts below guest roots',
  description:
    "Looks in the host's mount table for mounts (/proc, /sys, /dev rbinds and others) below a guest root that no process has as its root and no open schroot session owns: what is left after the chroot ended. Offers an unmount plan that cannot propagate to the host.",
  findings,
  fixDocs,
  appliesTo: (ctx) => (ctx.target.rootViaProcess ? 'the guest has its own mount namespace; its mounts end with it' : true),
  gather,
  judge,
  offer,
});
