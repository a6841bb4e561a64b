/**
 * Plain chroot guests: the API mounts a user would make (test-targets.md §3)
 * and long-running processes chrooted into a root inside the guest netns.
 */
import { chmodSync, existsSync, mkdirSync } from 'node:fs';
import type { Cleanup } from './cleanup.js';
import { killSync } from './cleanup.js';
import { netOf, type WorldLike } from './networld.js';
import { commOf, killAndWait, must, rootOf, spawnDaemon, waitFor } from './proc.js';
import { guestPath, umountTree } from './rootfs.js';

/** Options of {@link mountChrootApi}. */
export interface ChrootApiOptions {
  /** Also rbind the host's /run (the `mounts.host-run` scenario). */
  run?: boolean;
  /** Bind /tmp/.X11-unix into the guest. */
  x11?: boolean;
}

/**
 * `mount -t proc proc R/proc`, then `mount --rbind /X R/X; mount --make-rslave R/X`
 * for sys, dev (and run). Returns the mount points made (host paths). Each is
 * undone by `cleanup` with make-rslave + `umount -R`.
 */
export async function mountChrootApi(root: string, cleanup: Cleanup, opts: ChrootApiOptions = {}): Promise<string[]> {
  const made: string[] = [];
  const track = (p: string): void => {
    made.push(p);
    cleanup.defer(`umount -R ${p}`, () => umountTree(p));
  };
  const proc = guestPath(root, '/proc');
  mkdirSync(proc, { recursive: true });
  await must(['mount', '-t', 'proc', 'proc', proc]);
  track(proc);
  for (const d of ['sys', 'dev', ...(opts.run ? ['run'] : [])]) {
    const p = guestPath(root, `/${d}`);
    mkdirSync(p, { recursive: true });
    await must(['mount', '--rbind', `/${d}`, p]);
    track(p);
    await must(['mount', '--make-rslave', p]);
  }
  if (opts.x11) {
    if (!existsSync('/tmp/.X11-unix')) {
      mkdirSync('/tmp/.X11-unix', { recursive: true });
      chmodSync('/tmp/.X11-unix', 0o1777);
    }
    const p = guestPath(root, '/tmp/.X11-unix');
    mkdirSync(p, { recursive: true });
    await must(['mount', '--bind', '/tmp/.X11-unix', p]);
    track(p);
  }
  return made;
}

/** Options of {@link startChrootProcess}. */
export interface ChrootProcessOptions {
  /** Default 0. */
  uid?: number;
  /** Default: same as uid. */
  gid?: number;
  /** The process's whole environment (`env -i K=V…`). */
  env?: Record<string, string>;
  /** Default `['sleep', '100000']`. Must exec, not fork, so the PID is the process itself. */
  cmd?: string[];
  /** Network namespace path; default the world's guest netns. */
  netns?: string;
  /** IPC namespace: `own` = a new one (`unshare --ipc`, as bwrap --unshare-ipc does), or a path to enter (`/proc/PID/ns/ipc`); default the host's. */
  ipc?: string;
  /** A mount namespace (`/proc/PID/ns/mnt`) to start it in, e.g. the one the tool runs in (runTool mountNs). */
  mountNs?: string;
}

/** A process running chrooted into a guest root. */
export interface ChrootProcess {
  pid: number;
  stop(): Promise<void>;
  output(): string;
}

/**
 * `nsenter --net=<guest> chroot --userspec=U:G R /usr/bin/env -i K=V… CMD`.
 * Every step execs, so the returned PID is CMD itself; it is checked to have
 * `/proc/PID/root` = R. The process stays in the host mount namespace, so the
 * host's mounts under R are exactly what it sees. Killed by `cleanup`.
 */
export async function startChrootProcess(
  worldLike: WorldLike,
  root: string,
  opts: ChrootProcessOptions,
  cleanup: Cleanup,
): Promise<ChrootProcess> {
  const world = netOf(worldLike);
  const uid = opts.uid ?? 0;
  const gid = opts.gid ?? uid;
  const cmd = opts.cmd ?? ['sleep', '100000'];
  const env = Object.entries(opts.env ?? { PATH: '/usr/local/bin:/usr/bin:/bin' }).map(([k, v]) => `${k}=${v}`);
  const argv = [
    'nsenter',
    ...(opts.mountNs ? [`--mount=${opts.mountNs}`] : []),
    `--net=${opts.netns ?? world.guestNsPath}`,
    ...(opts.ipc !== undefined && opts.ipc !== 'own' ? [`--ipc=${opts.ipc}`] : []),
    ...(opts.ipc === 'own' ? ['unshare', '--ipc'] : []),
    'chroot',
    `--userspec=${uid}:${gid}`,
    root,
    '/usr/bin/env',
    '-i',
    ...env,
    ...cmd,
  ];
  const d = spawnDaemon(`chroot ${cmd[0]} in ${root}`, argv, cleanup);
  const want = cmd[0]!.split('/').pop()!.slice(0, 15);
  try {
    await waitFor(
      `chrooted ${want} (pid ${d.pid})`,
      () => {
        if (d.child.exitCode !== null) throw new Error(`exited: ${d.output()}`);
        return commOf(d.pid) === want && rootOf(d.pid) === root;
      },
      { timeoutMs: 5_000, intervalMs: 10 },
    );
  } catch (e) {
    await killAndWait(d.pid, { child: d.child }).catch(() => killSync(d.pid));
    throw e;
  }
  return { pid: d.pid, stop: () => d.stop(), output: d.output };
}
