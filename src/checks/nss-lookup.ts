import type { Target } from '../core/target.js';
import { DEFAULT_PATH } from '../core/target.js';
import { parseGetentAhosts } from '../parse/local-addresses.js';
import { parseGetentFrames } from '../parse/getent-frames.js';

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
 * Our fixed script for several lookups in one guest command: `sh -c SCRIPT sh MARKER NAME…`. The
 * names are looked up at once, one element of a pipeline each (the lookups overlap, as separate
 * commands did; a pipeline, not `&`: a shell opens /dev/null for a background job, and a bare
 * chroot may have none), each timed by the guest's clock (/proc/uptime read by the shell, else date) and its exit status and exact output (the
 * `x` keeps trailing newlines from command substitution) printed as one frame of tagged lines (parse/getent-frames.ts)
 * on descriptor 3, the script's stdout (the pipes between the elements carry nothing); the guest's
 * programs get no descriptor 3.
 *
 * Why this is no weaker than running the guest's getent directly: the guest's sh (and date, when it has no /proc)
 * are guest code run exactly as getent is (the same confined chain, the same user, environment and
 * descriptors), and no guest data is part of the script: the names and the marker are positional
 * arguments, never parsed as shell text. A guest that forges frames (it can read the marker in
 * /proc) can only misreport its own lookups, which it controls anyway through its NSS.
 */
const BATCH_SCRIPT = [
  'm=$1; shift',
  'exec 3>&1',
  "nl='",
  "'",
  // The clock: /proc/uptime read by the shell itself (no program; 10 ms steps are plenty for a 1 s
  // threshold), else date. Chosen once, so both readings of a lookup come from the same clock.
  'u=',
  '{ read u _ </proc/uptime; } 2>&-',
  'case $u in',
  '  [0-9]*.[0-9][0-9]) clock() { read u _ </proc/uptime; t=${u%.*}${u#*.}0000000; } ;;',
  '  *) clock() { t=$(date +%s%N 3>&-); } ;;',
  'esac',
  'one() {',
  '  clock; s=$t',
  '  o=$(getent ahosts "$2" 3>&-; r=$?; echo x; exit $r)',
  '  r=$?',
  '  clock; e=$t',
  '  o=${o%x}',
  // Every line of a frame is tagged and printed alone: lookups running at once may interleave
  // whole lines (bash's printf writes line by line), never mix inside one.
  '  printf \'%s %s H %s %s %s\\n\' "$m" "$1" "$r" "$s" "$e" >&3',
  '  while [ -n "$o" ]; do',
  '    case $o in',
  '      *"$nl"*) printf \'%s %s L %s\\n\' "$m" "$1" "${o%%"$nl"*}" >&3; o=${o#*"$nl"} ;;',
  '      *) printf \'%s %s P %s\\n\' "$m" "$1" "$o" >&3; o= ;;',
  '    esac',
  '  done',
  '  printf \'%s %s E\\n\' "$m" "$1" >&3',
  '}',
  'all() {',
  '  i=$1; shift',
  '  if [ $# -gt 1 ]; then k=$1; shift; one "$i" "$k" | all $((i + 1)) "$@"; else one "$i" "$1"; fi',
  '}',
  'all 1 "$@"',
].join('\n');

/** The guest command of a batch: our fixed script, then the marker and the names as its positional arguments. */
export function batchArgv(marker: string, names: readonly string[]): string[] {
  return ['sh', '-c', BATCH_SCRIPT, 'sh', marker, ...names];
}

/** The environment of every lookup: our PATH, the C locale. */
export const LOOKUP_ENV: Readonly<Record<string, string>> = { PATH: DEFAULT_PATH, LC_ALL: 'C' };

/**
 * `getent ahosts` of each name (duplicates asked once), in ONE guest command: the per-guest cost
 * of a command (the confined chain, a fork of the CLI) is paid once instead of once per name.
 * When the guest has no usable sh or its output is not our frames, each name is asked alone.
 * Answers come back in the order of `names`; `elapsedMs` is the lookup's own time in the guest.
 */
export async function guestGetaddrinfoAll(target: Target, names: readonly string[], timeoutMs: number): Promise<GetentAnswer[]> {
  const unique = [...new Set(names)];
  if (unique.length < 2) return Promise.all(names.map((n) => guestGetaddrinfo(target, n, timeoutMs)));
  const marker = `ctd-${globalThis.crypto.randomUUID()}`;
  const started = Date.now();
  const r = await target.exec(batchArgv(marker, unique), { env: { ...LOOKUP_ENV }, timeoutMs });
  const elapsedMs = Date.now() - started;
  const parsed = r.notFound || r.spawnError !== undefined ? null : parseGetentFrames(r.stdout, marker, unique.length);
  // Every frame, or the ones printed before the timeout stopped the rest: anything else is asked again, one name at a time.
  const usable = parsed?.ok === true && (r.timedOut || parsed.frames.size === unique.length);
  if (!usable) return Promise.all(names.map((n) => guestGetaddrinfo(target, n, timeoutMs)));
  const byName = new Map(
    unique.map((name, i): [string, GetentAnswer] => {
      const frame = parsed.frames.get(i + 1);
      if (!frame) return [name, { name, addresses: [], exitCode: null, elapsedMs, timedOut: true, missing: false }];
      return [
        name,
        {
          name,
          addresses: frame.exitCode === 0 ? parseGetentAhosts(frame.stdout) : [],
          exitCode: frame.exitCode,
          elapsedMs: frame.elapsedMs,
          timedOut: false,
          missing: frame.exitCode === 127,
        },
      ];
    }),
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
