import type { MountEntry } from '../parse/mountinfo.js';
import { ProcEntry } from './procfs.js';
import type { HostProcess, MountHolder } from '../core/host.js';

/** The ids of mount `top` and of every mount below it in the mount tree (by parent id, not by path). */
export function mountSubtree(mounts: readonly MountEntry[], top: number): Set<number> {
  const ids = new Set<number>([top]);
  for (let grew = true; grew;) {
    grew = false;
    for (const m of mounts)
      if (!ids.has(m.id) && ids.has(m.parentId)) {
        ids.add(m.id);
        grew = true;
      }
  }
  return ids;
}

/** One mount the holder scan looks for: its id (what decides), its mount point (a prefilter only) and its device as maps writes it. */
export interface HolderScanMount {
  id: number;
  mountPoint: string;
  /** `MAJOR:MINOR` in hex, two digits at least, as /proc/PID/maps writes a mapping's device. */
  mapDev: string;
}

/** Everything the holder scan needs, as plain data: it runs on the host-scan thread (or inline when there is none). */
export interface HolderScanInput {
  procRoot: string;
  pids: number[];
  /** 1 where the process's root is ctr-doctor's own `/` (never one of these mounts), parallel to `pids`. */
  ownRoot: number[];
  /** 1 where the process is known (from the process scan) to be in our mount namespace: its link is not read again. */
  ownMntnsKnown: number[];
  mounts: HolderScanMount[];
  /** Our mount namespace (`mnt:[N]`): a process in another one holds that namespace's copies, so it is not read further. */
  ownMntns: string | null;
  selfPid: number;
  /** Milliseconds of reading, counted from the scan's start (or from `askedAt`); Infinity for none. */
  budgetMs: number;
  /**
   * When the scan was asked for (`performance.timeOrigin + performance.now()`, the same clock on every
   * thread): the budget then counts from here, so that time spent waiting for a busy scan thread comes out
   * of it (a quarter of the budget is always left for reading).
   */
  askedAt?: number;
  /** How many mappings of one process are looked at (a hostile process can map a file a million times). */
  maxRanges: number;
}

/** A holder as the scan found it: by mount id. */
export interface RawHolder {
  pid: number;
  comm: string;
  how: MountHolder['how'];
  path: string;
  mountId: number;
}

/** What the scan sends, in order: holders as they are found, progress now and then, and one `done`. */
export type HolderScanMessage =
  | { kind: 'holders'; holders: RawHolder[] }
  | { kind: 'progress'; read: number; unreadable: number }
  | { kind: 'done'; read: number; total: number; unreadable: number; elapsedMs: number; stoppedAtBudget: boolean };

/** The subset of node:fs the scan uses (passed in: the function's source also runs on a worker thread). */
export type HolderScanFs = Pick<typeof import('node:fs'), 'openSync' | 'readSync' | 'closeSync' | 'readdirSync' | 'readlinkSync'>;

/**
 * The holders of `input.mounts`, found by the mount id the kernel gives what each process holds: its
 * root and cwd (an O_PATH handle's mnt_id), its open files (fdinfo `mnt_id`), and mappings on one of
 * the mounts' devices (the maps line's device field, then the map_files handle's mnt_id). Only the
 * kernel's own answers decide. The links of root, cwd and fds are read (readlink: no filesystem call,
 * so a hung FUSE or NFS server cannot stall the scan, as a stat would) only as a prefilter: a file on
 * a mount always reads as a path that begins with the mount point, so a link that does not cannot be
 * on one; one that does is decided by its mount id (a guest names files as it likes).
 *
 * SELF-CONTAINED: its source is sent to the host-scan thread, so it refers to nothing outside itself
 * but its parameters and globals (performance, Buffer).
 */
export function holderScanMain(input: HolderScanInput, fs: HolderScanFs, emit: (m: HolderScanMessage) => void): void {
  const started = performance.now();
  // The budget runs from when the scan was asked for: waiting in the scan thread's queue comes out of it,
  // down to a quarter of the budget of reading (a loaded machine still gets some holders named).
  const waited = input.askedAt === undefined ? 0 : Math.max(0, performance.timeOrigin + started - input.askedAt);
  const deadline = started + Math.max(input.budgetMs / 4, input.budgetMs - waited);
  const O_PATH = 0o10000000;
  const ids = new Set(input.mounts.map((m) => m.id));
  const points = [...new Set(input.mounts.map((m) => m.mountPoint))];
  // A mount point that did not decode cleanly cannot be compared even as a prefilter: every link is a candidate.
  const prefilter = !points.some((p) => p.includes('\uFFFD'));
  const mapDevs = new Set(input.mounts.map((m) => m.mapDev));
  const buf = Buffer.allocUnsafe(64 * 1024);
  const code = (e: unknown): string => (e as { code?: string }).code ?? 'EIO';
  const gone = (c: string): boolean => c === 'ENOENT' || c === 'ESRCH';
  const denied = (c: string): boolean => c === 'EACCES' || c === 'EPERM';

  /** readlink: the link, or the errno. */
  const link = (path: string): { ok: string } | { err: string } => {
    try {
      return { ok: fs.readlinkSync(path) };
    } catch (e) {
      return { err: code(e) };
    }
  };
  const onSomeMount = (p: string): boolean => p.startsWith('/') && (!prefilter || points.some((mp) => p.startsWith(mp)));
  /** A descriptor of `path`, or the errno that refused it. */
  const openOrErrno = (path: string, flags: string | number): number | string => {
    try {
      return fs.openSync(path, flags);
    } catch (e) {
      return code(e);
    }
  };
  /** The `mnt_id:` of an fdinfo file (its first lines), or the errno. */
  const fdinfoMount = (path: string): number | string => {
    const fd = openOrErrno(path, 'r');
    if (typeof fd === 'string') return fd;
    try {
      const n = fs.readSync(fd, buf, 0, 512, null);
      const m = /(?:^|\n)mnt_id:\s*(\d+)/.exec(buf.toString('latin1', 0, n));
      return m ? Number(m[1]) : 'ENODATA';
    } catch (e) {
      return code(e);
    } finally {
      fs.closeSync(fd);
    }
  };
  /** The mount id of what a /proc magic link leads to, through an O_PATH handle of it; or the errno. */
  const handleMount = (path: string): number | string => {
    const fd = openOrErrno(path, O_PATH);
    if (typeof fd === 'string') return fd;
    try {
      return fdinfoMount(`/proc/self/fdinfo/${fd}`);
    } finally {
      fs.closeSync(fd);
    }
  };
  /** Each line of a file, read in chunks; a chunk naming none of the devices is not split at all. Returns the errno or null. */
  const mapsLines = (path: string, onLine: (line: string) => void): string | null => {
    const fd = openOrErrno(path, 'r');
    if (typeof fd === 'string') return fd;
    try {
      let rest = '';
      let total = 0;
      while (total < 16 * 1024 * 1024) {
        const n = fs.readSync(fd, buf, 0, buf.length, null);
        if (n === 0) break;
        total += n;
        const text = rest + buf.toString('latin1', 0, n);
        const cut = text.lastIndexOf('\n');
        const whole = cut < 0 ? '' : text.slice(0, cut);
        rest = cut < 0 ? text : text.slice(cut + 1);
        if ([...mapDevs].some((d) => whole.includes(` ${d} `))) for (const l of whole.split('\n')) onLine(l);
      }
      if (rest !== '' && [...mapDevs].some((d) => rest.includes(` ${d} `))) onLine(rest);
      return null;
    } catch (e) {
      return code(e);
    } finally {
      fs.closeSync(fd);
    }
  };
  const commOf = (pid: number): string => {
    let fd: number;
    try {
      fd = fs.openSync(`${input.procRoot}/${pid}/comm`, 'r');
    } catch {
      return '?';
    }
    try {
      const n = fs.readSync(fd, buf, 0, 64, null);
      return buf.toString('utf8', 0, n).replace(/\n$/, '');
    } catch {
      return '?';
    } finally {
      fs.closeSync(fd);
    }
  };

  let read = 0;
  let unreadable = 0;
  let stoppedAtBudget = false;
  const total = input.pids.length;
  for (let i = 0; i < total; i++) {
    if (performance.now() > deadline) {
      stoppedAtBudget = true;
      break;
    }
    const pid = input.pids[i]!;
    read++;
    if (i % 256 === 255) emit({ kind: 'progress', read, unreadable });
    if (pid === input.selfPid) continue;
    const dir = `${input.procRoot}/${pid}`;
    if (input.ownMntns !== null && input.ownMntnsKnown[i] !== 1) {
      const ns = link(`${dir}/ns/mnt`);
      if ('ok' in ns && ns.ok !== input.ownMntns) continue;
      if ('err' in ns && gone(ns.err)) continue;
    }
    let incomplete = false;
    const found: RawHolder[] = [];
    const seen = new Set<string>();
    const note = (how: RawHolder['how'], id: number | string, path: string): void => {
      if (typeof id === 'string') {
        if (!gone(id)) incomplete = true;
        return;
      }
      if (!ids.has(id) || seen.has(`${how}:${id}`)) return;
      seen.add(`${how}:${id}`);
      found.push({ pid, comm: '', how, path, mountId: id });
    };
    /** Root, cwd or an fd: its link first, its mount id only when the link could lie on one of the mounts. */
    const linked = (how: RawHolder['how'], path: string, idOf: () => number | string): boolean => {
      const l = link(path);
      if ('err' in l) {
        if (gone(l.err)) return false;
        if (denied(l.err)) {
          incomplete = true;
          return false;
        }
      } else if (!onSomeMount(l.ok)) return true;
      note(how, idOf(), 'ok' in l ? l.ok : '?');
      return true;
    };
    if (input.ownRoot[i] !== 1) linked('root', `${dir}/root`, () => handleMount(`${dir}/root`));
    if (!linked('cwd', `${dir}/cwd`, () => handleMount(`${dir}/cwd`))) continue;
    let fds: string[] = [];
    try {
      fds = fs.readdirSync(`${dir}/fd`);
    } catch (e) {
      if (denied(code(e))) incomplete = true;
    }
    for (const n of fds) linked('fd', `${dir}/fd/${n}`, () => fdinfoMount(`${dir}/fdinfo/${n}`));
    const ranges: string[] = [];
    const mapsFailed = mapsLines(`${dir}/maps`, (line) => {
      // address perms offset dev inode path
      const f = line.split(/\s+/, 6);
      if (f.length >= 5 && f[4] !== '0' && mapDevs.has(f[3]!) && ranges.length < input.maxRanges) ranges.push(f[0]!);
    });
    if (mapsFailed !== null && denied(mapsFailed)) incomplete = true;
    for (const r of ranges) note('map', handleMount(`${dir}/map_files/${r}`), r);
    if (incomplete) unreadable++;
    if (found.length > 0) {
      const comm = commOf(pid);
      // A mapping's path, for showing only: the map_files link (its range until then).
      for (const h of found) {
        const shown = h.how === 'map' ? link(`${dir}/map_files/${h.path}`) : null;
        if (shown !== null && 'ok' in shown) h.path = shown.ok;
      }
      emit({ kind: 'holders', holders: found.map((h) => ({ ...h, comm })) });
    }
  }
  emit({ kind: 'done', read, total, unreadable, elapsedMs: Math.round(performance.now() - started + waited), stoppedAtBudget });
}

/** `MAJOR:MINOR` of a mount as maps writes it (`%02x:%02x`). */
export const mapDevOf = (m: MountEntry): string => `${m.major.toString(16).padStart(2, '0')}:${m.minor.toString(16).padStart(2, '0')}`;

/** A process's mount namespace when known without a read (a lazily read process: only when another scan read it already). */
const knownMntns = (p: HostProcess): string | null | undefined => (p instanceof ProcEntry ? p.knownNamespace('mnt') : p.mntns);

/**
 * The scan's input for these mounts (by id) of `mounts`, over `processes`: those already known to be
 * in another mount namespace are left out (they hold that namespace's copies; the scan reads the
 * namespace link of the others first). Processes rooted at our own `/` come first: a host's
 * containers (rooted elsewhere, mostly in other namespaces) then do not eat the budget before them.
 */
export function holderScanInput(
  processes: readonly HostProcess[],
  mounts: readonly MountEntry[],
  mountIds: ReadonlySet<number>,
  opts: { ownMntns: string | null; ownRootId: string | null; budgetMs: number; procRoot?: string; selfPid?: number },
): HolderScanInput {
  const atOwnRoot = (p: HostProcess): boolean => opts.ownRootId !== null && p.rootId === opts.ownRootId;
  const ours = processes.filter((p) => {
    const ns = knownMntns(p);
    return opts.ownMntns === null || ns == null || ns === opts.ownMntns;
  });
  const ordered = [...ours.filter(atOwnRoot), ...ours.filter((p) => !atOwnRoot(p))];
  return {
    procRoot: opts.procRoot ?? '/proc',
    pids: ordered.map((p) => p.pid),
    ownRoot: ordered.map((p) => (atOwnRoot(p) ? 1 : 0)),
    ownMntnsKnown: ordered.map((p) => (opts.ownMntns !== null && knownMntns(p) === opts.ownMntns ? 1 : 0)),
    mounts: mounts.filter((m) => mountIds.has(m.id)).map((m) => ({ id: m.id, mountPoint: m.mountPoint, mapDev: mapDevOf(m) })),
    ownMntns: opts.ownMntns,
    selfPid: opts.selfPid ?? process.pid,
    budgetMs: opts.budgetMs,
    maxRanges: 4096,
  };
}
