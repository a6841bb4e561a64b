/** What decides whether a process belongs to a guest; read lazily from /proc, or given by a test. */
export interface ProcessFacts {
  pid: number;
  /** dev:ino of /proc/PID/root. */
  rootId: string | null;
  mntns: string | null;
  userns: string | null;
  pidns: string | null;
  /** cgroup v2 path, null without a unified hierarchy. */
  cgroup: string | null;
}

/**
 * How a guest's processes are recognised (issue 12 item 2, audit H4):
 * - `root`: a chroot's: rooted at its directory (dev:ino), in our mount and user namespaces, so that
 *   a process that unshared its own mount namespace cannot pass its view off as the guest;
 * - `pidns`: an nspawn or pid guest with a PID namespace of its own: everything in it, including
 *   systemd's sandboxed services, which have mount namespaces of their own;
 * - `cgroup`: a guest that shares our PID namespace but has a cgroup of its own: that subtree;
 * - `mntns-root`: neither: the leader's mount namespace and root.
 */
export type MembershipRule =
  | { kind: 'root'; rootId: string; mntns: string | null; userns: string | null }
  | { kind: 'pidns'; pidns: string; hostRootId: string | null }
  | { kind: 'cgroup'; cgroup: string; hostRootId: string | null }
  | { kind: 'mntns-root'; mntns: string | null; rootId: string | null };

/** Our own namespaces, cgroup and root, to tell a guest's from the host's. */
export interface OwnFacts {
  rootId: string | null;
  mntns: string | null;
  userns: string | null;
  pidns: string | null;
  cgroup: string | null;
}

/** The rule for a chroot or schroot directory with identity `rootId`. */
export function chrootRule(rootId: string, own: OwnFacts): MembershipRule {
  return { kind: 'root', rootId, mntns: own.mntns, userns: own.userns };
}

/** The rule for a guest known by its leader process (nspawn, pid). */
export function leaderRule(leader: ProcessFacts, own: OwnFacts): MembershipRule {
  if (leader.pidns !== null && leader.pidns !== own.pidns) return { kind: 'pidns', pidns: leader.pidns, hostRootId: own.rootId };
  if (leader.cgroup !== null && leader.cgroup !== '/' && leader.cgroup !== own.cgroup)
    return { kind: 'cgroup', cgroup: leader.cgroup, hostRootId: own.rootId };
  return { kind: 'mntns-root', mntns: leader.mntns, rootId: leader.rootId };
}

const under = (path: string, dir: string): boolean => path === dir || path.startsWith(dir.endsWith('/') ? dir : `${dir}/`);

/**
 * True when `p` belongs to the guest. Fields are read in the order that costs least: the root
 * identity comes with the host scan, so processes rooted at the host's `/` are ruled out first.
 */
export function isMember(rule: MembershipRule, p: ProcessFacts): boolean {
  switch (rule.kind) {
    case 'root':
      return p.rootId === rule.rootId && p.mntns === rule.mntns && p.userns === rule.userns;
    case 'pidns':
      return p.rootId !== rule.hostRootId && p.pidns === rule.pidns;
    case 'cgroup':
      return p.rootId !== rule.hostRootId && p.cgroup !== null && under(p.cgroup, rule.cgroup);
    case 'mntns-root':
      return p.rootId !== null && p.rootId === rule.rootId && p.mntns === rule.mntns;
  }
}

/** The members of a guest among `processes`, ourselves excluded. */
export function guestMembers<T extends ProcessFacts>(rule: MembershipRule, processes: readonly T[], selfPid: number = process.pid): T[] {
  return processes.filter((p) => p.pid !== selfPid && isMember(rule, p));
}
