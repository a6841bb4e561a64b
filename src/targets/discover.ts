import { access } from 'node:fs/promises';
import { dirIdentity, readEnviron, readProcess } from '../host/procfs.js';
import { sessionRoot } from '../host/schroot-state.js';
import { apiMountRoots } from '../host/guest-mount-roots.js';
import { isUnder } from '../parse/mountinfo.js';
import type { HostContext } from '../host/host-context.js';

/** One guest found on the host, as `list` shows it. */
export interface DiscoveredGuest {
  kind: 'chroot' | 'schroot' | 'nspawn' | 'leftover';
  /** The TARGET argument that opens it. */
  target: string;
  name: string;
  root: string | null;
  pid: number | null;
  state: 'running' | 'active' | 'stale' | 'leftover-mounts';
  detail: string;
}

/** Every guest on the host: running chroots, schroot sessions, nspawn machines, directories with leftover mounts. */
export async function discoverGuests(host: HostContext): Promise<DiscoveredGuest[]> {
  const [processes, mounts, sessions, machines, hostRoot, self] = await Promise.all([
    host.processes(),
    host.mountinfo(),
    host.schrootSessions(),
    host.nspawnMachines(),
    dirIdentity('/'),
    readProcess(process.pid),
  ]);
  const found: DiscoveredGuest[] = [];

  for (const s of sessions) {
    const root = s.mounted ? sessionRoot(s) : (s.directory ?? null);
    found.push({
      kind: 'schroot',
      target: `session:${s.id}`,
      name: s.id,
      root,
      pid: null,
      state: s.stale ? 'stale' : 'active',
      detail: s.stale ? 'session state left, mounts gone (after a reboot?)' : `chroot ${s.chroot ?? '?'}`,
    });
  }
  const schrootRoots = sessions.filter((s) => s.mounted).map(sessionRoot);

  for (const m of machines) {
    found.push({
      kind: 'nspawn',
      target: `nspawn:${m.machine}`,
      name: m.machine,
      root: m.directory,
      pid: m.leaderPid,
      state: 'running',
      detail: `leader ${m.leaderPid}, via ${m.via}`,
    });
  }
  const nspawnMntns = new Set<string>();
  for (const m of machines) {
    const leader = processes.find((p) => p.pid === m.leaderPid);
    if (leader?.mntns) nspawnMntns.add(leader.mntns);
  }

  // Running chroots: processes in our mount and user namespaces whose root is another directory
  // (the root identity came with the host scan: the rest of a busy host costs nothing more here).
  const byRoot = new Map<string, number[]>();
  for (const p of processes) {
    if (p.rootId === null || p.rootId === hostRoot || p.rootLink === null || p.rootLink === '/') continue;
    if (p.mntns !== self?.mntns || nspawnMntns.has(p.mntns ?? '')) continue;
    if ((p as { userns?: string | null }).userns !== undefined && (p as { userns?: string | null }).userns !== self.userns) continue;
    if (schrootRoots.includes(p.rootLink)) continue;
    byRoot.set(p.rootLink, [...(byRoot.get(p.rootLink) ?? []), p.pid]);
  }
  for (const [root, pids] of byRoot) {
    found.push({
      kind: 'chroot',
      target: `chroot:${root}`,
      name: root,
      root,
      pid: Math.min(...pids),
      state: 'running',
      detail: `${pids.length} process(es)`,
    });
  }

  // Leftover API mounts under a directory no process and no session uses (the same finder as mounts.leftover).
  const candidates = apiMountRoots(mounts);
  for (const dir of candidates) {
    if (byRoot.has(dir) || schrootRoots.some((r) => dir === r || isUnder(dir, r))) continue;
    const count = mounts.filter((m) => isUnder(m.mountPoint, dir) && m.mountPoint !== dir).length;
    found.push({
      kind: 'leftover',
      target: `chroot:${dir}`,
      name: dir,
      root: dir,
      pid: null,
      state: 'leftover-mounts',
      detail: `${count} mount(s) left under it`,
    });
  }
  return found;
}

/** True when ctr-doctor itself runs inside a container. */
export async function runningInsideContainer(env: Record<string, string | undefined>): Promise<boolean> {
  if (env.container) return true;
  if (
    await access('/run/.containerenv').then(
      () => true,
      () => false,
    )
  )
    return true;
  if (
    await access('/.dockerenv').then(
      () => true,
      () => false,
    )
  )
    return true;
  const initEnv = await readEnviron(1);
  if (initEnv?.container) return true;
  // Our root differs from init's: we are chrooted.
  const [ours, init] = await Promise.all([dirIdentity('/'), dirIdentity('/proc/1/root')]);
  return ours !== null && init !== null && ours !== init;
}
