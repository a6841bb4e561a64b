/**
 * Guest root filesystems: a whole-root overlay of the host (test-targets.md §2;
 * 0.01 s, works for chroot, schroot and nspawn -b) on a per-world tmpfs, and a
 * tiny hand-made root for file-only tests. Paths with spaces are supported.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { Cleanup } from './cleanup.js';
import { runSyncQuiet } from './cleanup.js';
import { must, run } from './proc.js';

/** A user read from the guest's /etc/passwd. */
export interface GuestUserInfo {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

/** A guest root created by {@link createGuestRoot}. */
export interface GuestRoot {
  /** Host path of the root (may contain spaces). */
  root: string;
  /** Overlay upper dir: everything the guest wrote. */
  upperDir: string;
  /** uid 1000 as the guest's /etc/passwd names it (on this host: `cloudsdk`). */
  user: GuestUserInfo;
}

/** Options of {@link createGuestRoot}. */
export interface GuestRootOptions {
  /** Content of etc/resolv.conf (default `nameserver 203.0.113.53\n`); null keeps the host's file. */
  resolvConf?: string | null;
  /** Content of etc/machine-id (default: a fresh random id, so the guest is healthy and not the host); '' stages the empty-id fault. */
  machineId?: string;
  /** The tree the overlay is made over (default `/`, the host; e.g. an unpacked genuine root, see real-root.ts). */
  lower?: string;
}

const mountedBases = new Set<string>();
let ovlCounter = 0;

/** `root` + guest absolute path `p` (no symlink resolution). */
export function guestPath(root: string, p: string): string {
  return join(root, p.startsWith('/') ? p : `/${p}`);
}

async function isMountPoint(p: string): Promise<boolean> {
  return (await run(['mountpoint', '-q', p])).exitCode === 0;
}

/** Unmount `p` and everything below without propagating anything to the host. */
export async function umountTree(p: string): Promise<void> {
  if (!(await isMountPoint(p))) return;
  await run(['mount', '--make-rslave', p]);
  await must(['umount', '-R', p]);
}

/**
 * Mount a private tmpfs at `base` unless it already is a mount point (idempotent
 * per process). Registered on `cleanup`: unmount, then remove the directory.
 */
export async function ensureBaseTmpfs(base: string, cleanup: Cleanup): Promise<void> {
  if (mountedBases.has(base)) return;
  const created = !existsSync(base);
  mkdirSync(base, { recursive: true, mode: 0o755 });
  if (!(await isMountPoint(base))) {
    await must(['mount', '-t', 'tmpfs', '-o', 'mode=755,size=2g', 'ctrtest_base', base]);
    await must(['mount', '--make-private', base]);
    mountedBases.add(base);
    cleanup.defer(
      `umount base ${base}`,
      async () => {
        mountedBases.delete(base);
        await umountTree(base);
        if (created) rmdirSync(base);
      },
      {
        sync: () => {
          runSyncQuiet(['umount', '-R', base]);
          if (created) runSyncQuiet(['rmdir', base]);
        },
      },
    );
  }
}

function readGuestUser(root: string, uid: number): GuestUserInfo {
  const passwd = readFileSync(join(root, 'etc/passwd'), 'utf8');
  for (const line of passwd.split('\n')) {
    const f = line.split(':');
    if (f.length >= 7 && Number(f[2]) === uid) {
      return { name: f[0]!, uid, gid: Number(f[3]), home: f[5]! };
    }
  }
  throw new Error(`no uid ${uid} in ${root}/etc/passwd`);
}

function checkName(name: string): void {
  if (!name || name.includes('/') || name === '.' || name === '..' || name.includes('\n')) {
    throw new Error(`bad guest root name ${JSON.stringify(name)}`);
  }
}

/**
 * Overlay the host's `/` (lower, read-only in effect) at `base/name`, with the
 * upper and work dirs on the tmpfs at `base`. Writes etc/resolv.conf (replacing
 * any symlink) and a fresh etc/machine-id of its own (an empty one makes libdbus abort, and a booted
 * guest must not share the host's). Unmounted by `cleanup`.
 */
export async function createGuestRoot(base: string, name: string, cleanup: Cleanup, opts: GuestRootOptions = {}): Promise<GuestRoot> {
  checkName(name);
  await ensureBaseTmpfs(base, cleanup);
  const t = join(base, '.ovl', `${++ovlCounter}`);
  const upperDir = join(t, 'u');
  const work = join(t, 'w');
  const root = join(base, name);
  mkdirSync(upperDir, { recursive: true });
  mkdirSync(work, { recursive: true });
  mkdirSync(root, { recursive: true });
  // argv, no shell: a space in `root` is fine; the option string holds only safe paths.
  await must([
    'mount',
    '-t',
    'overlay',
    '-o',
    `lowerdir=${opts.lower ?? '/'},upperdir=${upperDir},workdir=${work}`,
    'ctrtest_overlay',
    root,
  ]);
  cleanup.defer(
    `umount overlay ${root}`,
    async () => {
      await umountTree(root);
      rmdirSync(root);
      rmSync(t, { recursive: true, force: true });
    },
    { sync: () => runSyncQuiet(['umount', '-R', root]) },
  );

  const resolv = opts.resolvConf === undefined ? 'nameserver 203.0.113.53\n' : opts.resolvConf;
  if (resolv !== null) {
    rmSync(guestPath(root, '/etc/resolv.conf'), { force: true });
    writeFileSync(guestPath(root, '/etc/resolv.conf'), resolv, { mode: 0o644 });
  }
  rmSync(guestPath(root, '/etc/machine-id'), { force: true });
  writeFileSync(guestPath(root, '/etc/machine-id'), opts.machineId ?? `${randomBytes(16).toString('hex')}\n`, { mode: 0o444 });
  return { root, upperDir, user: readGuestUser(root, 1000) };
}

/**
 * A tiny root directory under `base` (no mounts, no binaries): etc/passwd with
 * root and `ctruser` (1000), etc/group, etc/resolv.conf, etc/os-release,
 * tmp (1777), run, proc, sys, dev, home/ctruser. Removed with `base`.
 */
export function createMinimalRoot(base: string, name: string): string {
  checkName(name);
  const root = join(base, name);
  for (const d of ['etc', 'tmp', 'run', 'proc', 'sys', 'dev', 'root', 'home/ctruser', 'usr/bin', 'var/tmp']) {
    mkdirSync(join(root, d), { recursive: true });
  }
  chmodSync(join(root, 'tmp'), 0o1777);
  const w = (p: string, s: string): void => writeFileSync(join(root, p), s);
  w('etc/passwd', 'root:x:0:0:root:/root:/bin/sh\nctruser:x:1000:1000:ctr user:/home/ctruser:/bin/sh\n');
  w('etc/group', 'root:x:0:\nctruser:x:1000:\n');
  w('etc/resolv.conf', 'nameserver 203.0.113.53\n');
  w('etc/hostname', `${name.replace(/[^a-z0-9-]/gi, '-')}\n`);
  w('etc/os-release', 'ID=ctrtest\nNAME="ctr-doctor test root"\n');
  return root;
}
