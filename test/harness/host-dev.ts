/**
 * Stand-in host device nodes for dev.access: this machine has no /dev/dri or /dev/snd, and its
 * /dev is the kernel's devtmpfs, which a test must never write. {@link hostDevNodes} makes the
 * nodes by mknod in a tmpfs of the test's; {@link hostDevNamespace} starts a holder process in a
 * private mount namespace whose /dev is an overlay of the real /dev (lower) and that directory
 * (upper), so there /dev/dri and /dev/snd are the stand-ins. The tool (runTool mountNs) and the
 * guest's processes (startChrootProcess mountNs) run in it; everything ends with the holder.
 */
import { mkdirSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Cleanup } from './cleanup.js';
import { must, spawnDaemon, waitFor } from './proc.js';
import { umountTree } from './rootfs.js';

/** One stand-in node: path under /dev, numbers, mode, group, an optional ACL for setfacl -m. */
export interface DevNodeSpec {
  rel: string;
  major: number;
  minor: number;
  mode: number;
  gid: number;
  acl?: string;
}

/** Mounts a tmpfs at `top` (device nodes allowed) and makes `nodes` under `top/dev`; returns that dir. Unmounted by `cleanup`. */
export async function hostDevNodes(top: string, nodes: readonly DevNodeSpec[], cleanup: Cleanup): Promise<string> {
  mkdirSync(top);
  await must(['mount', '-t', 'tmpfs', '-o', 'mode=755,size=1m', 'ctd_hostdev', top]);
  await must(['mount', '--make-private', top]);
  cleanup.defer(`umount ${top}`, async () => {
    await umountTree(top);
    rmdirSync(top);
  });
  const dir = join(top, 'dev');
  mkdirSync(join(top, 'work'));
  mkdirSync(join(top, 'keep'));
  for (const node of nodes) {
    const p = join(dir, node.rel);
    mkdirSync(join(p, '..'), { recursive: true });
    await must(['mknod', '-m', node.mode.toString(8), p, 'c', String(node.major), String(node.minor)]);
    await must(['chown', `0:${node.gid}`, p]);
    if (node.acl) await must(['setfacl', '-m', node.acl, p]);
  }
  return dir;
}

/**
 * A private mount namespace whose /dev shows `dir`'s entries over the real /dev (made by
 * {@link hostDevNodes}), held by a sleeping process; returns its `/proc/PID/ns/mnt`. Mounts made
 * in the host's namespace after this call are not seen in it: build the guests first.
 */
export async function hostDevNamespace(dir: string, cleanup: Cleanup): Promise<string> {
  const top = join(dir, '..');
  // /dev's own submounts (pts, shm, mqueue) are hidden by the overlay: bound again from the kept original.
  const script = [
    'set -e',
    'T=$1',
    'mount --rbind /dev "$T/keep"',
    'mount -t overlay ctd_hostdev -o "lowerdir=$T/keep,upperdir=$T/dev,workdir=$T/work" /dev',
    'for m in pts shm mqueue; do if mountpoint -q "$T/keep/$m"; then mount --rbind "$T/keep/$m" "/dev/$m"; fi; done',
    'echo ready',
    'exec sleep 100000',
  ].join('\n');
  let ready = false;
  const holder = spawnDaemon(
    `mount namespace with stand-in /dev (${top})`,
    ['unshare', '--mount', '--propagation', 'private', 'sh', '-c', script, 'sh', top],
    cleanup,
    {
      onStdout: (s) => {
        if (s.includes('ready')) ready = true;
      },
    },
  );
  await waitFor(
    'the stand-in /dev namespace',
    () => {
      if (holder.child.exitCode !== null) throw new Error(`the /dev namespace did not start: ${holder.output()}`);
      return ready;
    },
    { timeoutMs: 5_000, intervalMs: 10 },
  );
  return `/proc/${holder.pid}/ns/mnt`;
}
