import type { ExecOptions, Target } from '../core/target.js';
import { DEFAULT_PATH } from '../core/target.js';
import { parseGetentAhosts } from '../parse/local-addresses.js';
import type { CommandSlot } from './command-batch.js';

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

/** The environment of every lookup: our PATH, the C locale. */
export const LOOKUP_ENV: Readonly<Record<string, string>> = { PATH: DEFAULT_PATH, LC_ALL: 'C' };

/**
 * Resolves `name` through the guest's own NSS (its nsswitch.conf, its libnss modules, its
 * network namespace): `getent ahosts`, the getaddrinfo() every program uses.
 */
export async function guestGetaddrinfo(target: Target, name: string, timeoutMs: number): Promise<GetentAnswer> {
  const started = Date.now();
  const r = await target.exec(['getent', 'ahosts', name], { env: { ...LOOKUP_ENV }, timeoutMs });
  return {
    name,
    addresses: r.exitCode === 0 ? parseGetentAhosts(r.stdout) : [],
    exitCode: r.exitCode,
    elapsedMs: Date.now() - started,
    timedOut: r.timedOut,
    missing: r.notFound,
  };
}

/**
 * `getent ahosts` of each name (duplicates asked once) through `slot`: with the other commands of
 * the diagnosis in one guest command when they share `opts.user` (command-batch.ts), each answer
 * with the lookup's own time (by the guest's clock in a batch). Answers come in the order of `names`.
 */
export async function guestGetaddrinfoAll(
  slot: CommandSlot,
  names: readonly string[],
  timeoutMs: number,
  opts: Pick<ExecOptions, 'user'> = {},
): Promise<GetentAnswer[]> {
  const unique = [...new Set(names)];
  const answers = slot.execAll(
    unique.map((name) => ({ argv: ['getent', 'ahosts', name], opts: { ...opts, env: { ...LOOKUP_ENV }, timeoutMs } })),
  );
  const byName = new Map(
    await Promise.all(
      unique.map(async (name, i): Promise<[string, GetentAnswer]> => {
        const r = await answers[i]!;
        return [
          name,
          {
            name,
            addresses: r.exitCode === 0 ? parseGetentAhosts(r.stdout) : [],
            exitCode: r.exitCode,
            elapsedMs: r.elapsedMs,
            timedOut: r.timedOut,
            missing: r.notFound,
          },
        ];
      }),
    ),
  );
  return names.map((n) => byName.get(n)!);
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
      // Present whatever the guest's libraries: no file to look for (a dozen guest walks fewer per guest).
      if (BUILT_IN.has(name)) return void (out[name] = true);
      const hits = await Promise.all(
        dirs.map(async (d) => {
          const s = await target.stat(`${d}/libnss_${name}.so.2`);
          return !('error' in s) && s.type === 'file';
        }),
      );
      out[name] = hits.some(Boolean);
    }),
  );
  return out;
}
