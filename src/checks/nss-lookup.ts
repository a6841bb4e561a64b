import type { Target } from '../core/target.js';
import { DEFAULT_PATH } from '../core/target.js';
import { parseGetentAhosts } from '../parse/local-addresses.js';

/** What `getent ahosts NAME` said in the guest, and how long it took. */
export interface GetentAnswer {
  name: string;
  addresses: string[];
  /** 0 found, 2 not found (getent's codes); null when it did not finish. */
  exitCode: number | null;
  elapsedMs: number;
  timedOut: boolean;
  /** The guest has no getent. */
  missing: boolean;
}

/**
 * Resolves `name` through the guest's own NSS (its nsswitch.conf, its libnss modules, its
 * network namespace): `getent ahosts`, the getaddrinfo() every program uses.
 */
export async function guestGetaddrinfo(target: Target, name: string, timeoutMs: number): Promise<GetentAnswer> {
  const started = Date.now();
  const r = await target.exec(['getent', 'ahosts', name], { env: { PATH: DEFAULT_PATH, LC_ALL: 'C' }, timeoutMs });
  return {
    name,
    addresses: r.exitCode === 0 ? parseGetentAhosts(r.stdout) : [],
    exitCode: r.exitCode,
    elapsedMs: Date.now() - started,
    timedOut: r.timedOut,
    missing: r.notFound,
  };
}

/** Modules glibc 2.34 and later carry inside libc: present even with no libnss_X.so.2. */
const BUILT_IN = new Set(['files', 'dns']);

/** The directories a guest's loader searches for libnss_X.so.2: the usual ones plus each multiarch triplet. */
async function libraryDirs(target: Target): Promise<string[]> {
  const dirs = ['/lib', '/usr/lib', '/lib64', '/usr/lib64'];
  for (const base of ['/usr/lib', '/lib']) {
    for (const entry of (await target.readdir(base)) ?? [])
      if (/^[a-z0-9_]+-linux-gnu[a-z0-9_]*$/.test(entry)) dirs.push(`${base}/${entry}`);
  }
  return [...new Set(dirs)];
}

/** For each NSS module name: whether the guest has it (its library found, or built into glibc). */
export async function guestNssModules(target: Target, names: readonly string[]): Promise<Record<string, boolean>> {
  const dirs = await libraryDirs(target);
  const out: Record<string, boolean> = {};
  await Promise.all(
    names.map(async (name) => {
      if (!/^[\w-]+$/.test(name)) return void (out[name] = false);
      const hits = await Promise.all(
        dirs.map(async (d) => {
          const s = await target.stat(`${d}/libnss_${name}.so.2`);
          return !('error' in s) && s.type === 'file';
        }),
      );
      out[name] = BUILT_IN.has(name) || hits.some(Boolean);
    }),
  );
  return out;
}
