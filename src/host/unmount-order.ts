import type { MountEntry } from '../parse/mountinfo.js';
import type { UnmountUnit } from '../core/host.js';

export type { UnmountUnit } from '../core/host.js';

/**
 * Groups mounts (all below one guest root) into the fewest `umount` calls, deepest first.
 * A mount whose parent is also removed goes with its parent, except a layer stacked on the
 * same mount point, which `umount -R PATH` reaches only after the layer above is gone.
 */
export function unmountUnits(mounts: readonly MountEntry[]): UnmountUnit[] {
  const byId = new Map(mounts.map((m) => [m.id, m]));
  const isTop = (m: MountEntry): boolean => {
    const parent = byId.get(m.parentId);
    if (!parent) return true;
    return parent.mountPoint === m.mountPoint && isTop(parent);
  };
  const tops = mounts.filter(isTop);
  const memberOf = (m: MountEntry): MountEntry | undefined => {
    let cur: MountEntry | undefined = m;
    while (cur && !tops.includes(cur)) cur = byId.get(cur.parentId);
    return cur;
  };
  const depth = (p: string): number => p.split('/').filter(Boolean).length;
  return (
    tops
      .map((top) => {
        const members = [top, ...mounts.filter((m) => m !== top && memberOf(m) === top)];
        return { path: top.mountPoint, recursive: members.length > 1, shared: members.some((m) => m.shared !== null), members };
      })
      // Deepest first; for layers stacked on one path, the newest (top) layer first.
      .sort((a, b) => depth(b.path) - depth(a.path) || (b.members[0]?.id ?? 0) - (a.members[0]?.id ?? 0))
  );
}
