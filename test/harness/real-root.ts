/**
 * Genuine Debian roots (real-guests.md): built once per machine by debootstrap into a cache
 * of zstd tarballs outside the repository, and unpacked fresh for each test onto the world's
 * tmpfs. Unlike the whole-root overlays of rootfs.ts, these are other releases with their own
 * systemd-resolved, networkd, resolvconf and logind, and nothing of the host's.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Cleanup } from './cleanup.js';
import { must, run } from './proc.js';
import { ensureBaseTmpfs, type GuestUserInfo } from './rootfs.js';

/** The Debian releases the harness can build. */
export type RealSuite = 'bookworm' | 'bullseye';

/** Packages on top of minbase, per suite (real-guests.md). */
export const REAL_PACKAGES: Record<RealSuite, readonly string[]> = {
  // systemd-resolved's postinst links /etc/resolv.conf to its stub file; nsswitch gets `resolve`.
  bookworm: [
    'systemd',
    'systemd-sysv',
    'systemd-resolved',
    'libnss-resolve',
    'libpam-systemd',
    'dbus',
    'iproute2',
    'iputils-ping',
    'passwd',
  ],
  // resolvconf links /etc/resolv.conf to its own file; resolved ships (disabled) inside systemd.
  bullseye: ['systemd', 'systemd-sysv', 'libpam-systemd', 'dbus', 'iproute2', 'iputils-ping', 'resolvconf', 'ifupdown', 'passwd'],
};

/** The desktop user every real root has (uid 1000, a login shell). */
export const DESKTOP_USER = 'desk';

const BUILD_SCRIPT = fileURLToPath(new URL('./build-real-root.sh', import.meta.url));

/** Where tarballs live: `CTD_TEST_CACHE`, else /var/cache/ctr-doctor-test. */
export function realRootCacheDir(): string {
  return process.env.CTD_TEST_CACHE ?? '/var/cache/ctr-doctor-test';
}

/** The cache file for `suite`: keyed by suite, package list, user and the build script itself. */
export function realRootTarball(suite: RealSuite): string {
  const key = createHash('sha256')
    .update(JSON.stringify([suite, REAL_PACKAGES[suite], DESKTOP_USER]))
    .update(readFileSync(BUILD_SCRIPT))
    .digest('hex')
    .slice(0, 12);
  return join(realRootCacheDir(), `${suite}-${key}.tar.zst`);
}

/** Why real roots cannot be built or unpacked here, or null. */
export function realRootSkipReason(suite: RealSuite): string | null {
  if (existsSync(realRootTarball(suite))) return null;
  for (const tool of ['debootstrap', 'zstd', 'tar']) {
    if (['/usr/sbin', '/usr/bin', '/sbin', '/bin'].every((d) => !existsSync(join(d, tool)))) {
      return `no cached ${suite} root and no ${tool} to build one (apt-get install debootstrap zstd)`;
    }
  }
  return null;
}

/**
 * The tarball for `suite`, built first when the cache lacks it (about 40–60 s and 55 MB each;
 * the Debian mirror must be reachable). Concurrent test processes wait on one flock per suite.
 */
export async function ensureRealRootTarball(suite: RealSuite): Promise<string> {
  const out = realRootTarball(suite);
  if (existsSync(out)) return out;
  mkdirSync(realRootCacheDir(), { recursive: true });
  const t0 = performance.now();
  await must(
    ['flock', join(realRootCacheDir(), `.${suite}.lock`), BUILD_SCRIPT, suite, REAL_PACKAGES[suite].join(','), DESKTOP_USER, out],
    { timeoutMs: 900_000 },
  );
  console.warn(`[harness] built the ${suite} root cache ${out} in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  return out;
}

/** An unpacked genuine root. */
export interface RealRoot {
  suite: RealSuite;
  /** Host path of the root. */
  root: string;
  /** The desktop user, uid 1000. */
  user: GuestUserInfo;
  /** Milliseconds spent unpacking. */
  unpackMs: number;
}

/**
 * A fresh copy of `suite` at `base/name` on the world's tmpfs (removed with the world or by
 * `cleanup`). Nothing of it is shared with other tests: boot it, break it, fix it.
 */
export async function unpackRealRoot(base: string, name: string, suite: RealSuite, cleanup: Cleanup): Promise<RealRoot> {
  if (!/^[a-z0-9][a-z0-9-]*$/.test(name)) throw new Error(`bad real root name ${JSON.stringify(name)}`);
  const tarball = await ensureRealRootTarball(suite);
  await ensureBaseTmpfs(base, cleanup);
  const root = join(base, name);
  mkdirSync(root, { mode: 0o755 });
  cleanup.defer(`rm real root ${root}`, async () => {
    // A booted guest leaves nothing mounted here once powered off; refuse to delete through a mount.
    const mounted = (await run(['findmnt', '-rn', '-o', 'TARGET'])).stdout
      .split('\n')
      .filter((m) => m === root || m.startsWith(`${root}/`));
    if (mounted.length > 0) throw new Error(`still mounted under ${root}: ${mounted.join(', ')}`);
    rmSync(root, { recursive: true, force: true });
  });
  const t0 = performance.now();
  await must(['sh', '-c', 'zstd -dcq "$1" | tar -x --numeric-owner --xattrs --xattrs-include="*" -C "$2"', 'sh', tarball, root], {
    timeoutMs: 120_000,
  });
  const unpackMs = performance.now() - t0;
  const line = readFileSync(join(root, 'etc/passwd'), 'utf8')
    .split('\n')
    .find((l) => l.split(':')[2] === '1000');
  const f = line?.split(':') ?? [];
  if (f.length < 7) throw new Error(`${tarball} has no uid 1000 in etc/passwd`);
  return { suite, root, user: { name: f[0]!, uid: 1000, gid: Number(f[3]), home: f[5]! }, unpackMs };
}
