import { PROC_CAPS, readCappedText } from './proc-read.js';
import { parseMountinfo, type MountEntry } from '../parse/mountinfo.js';

/** One line of /proc/PID/cgroup: hierarchy id, its controllers (`''` for the unified one) and the path. */
interface CgroupLine {
  hierarchy: string;
  controllers: string[];
  path: string;
}

/**
 * The lines of a /proc/PID/cgroup text, or null when it is not exactly one well-formed line per
 * hierarchy: a cgroup name may hold a newline, and a guest with a delegated subtree names its own
 * cgroups, so a second line for a hierarchy is a forgery (it could point at the root cgroup).
 */
export function parseProcCgroup(text: string): CgroupLine[] | null {
  const lines: CgroupLine[] = [];
  const seen = new Set<string>();
  for (const raw of text.split('\n')) {
    if (raw === '') continue;
    const m = /^(\d+):([^:]*):(\/.*)$/.exec(raw);
    if (!m || seen.has(m[1]!)) return null;
    seen.add(m[1]!);
    lines.push({ hierarchy: m[1]!, controllers: m[2] === '' ? [] : m[2]!.split(','), path: m[3]! });
  }
  return lines.length > 0 ? lines : null;
}

/** The cgroup filesystem mount of the hierarchy `line` is in: cgroup2 for the unified one, else the v1 mount with its controllers. */
function mountOf(line: CgroupLine, mounts: readonly MountEntry[]): MountEntry | undefined {
  const candidates =
    line.hierarchy === '0' && line.controllers.length === 0
      ? mounts.filter((m) => m.fsType === 'cgroup2')
      : mounts.filter((m) => m.fsType === 'cgroup' && line.controllers.every((c) => m.superOptions.includes(c)));
  return candidates.find((m) => m.root === '/') ?? candidates[0];
}

/**
 * The host paths of the `cgroup.procs` files to write for a command to join the cgroups of a guest
 * process (`guest`, its /proc/PID/cgroup), in every hierarchy where it differs from ours (`own`).
 * An error when the guest's cgroups cannot all be found: a guest command is then not run at all.
 */
export function cgroupJoinPaths(guest: string, own: string, mounts: readonly MountEntry[]): string[] | { error: string } {
  const theirs = parseProcCgroup(guest);
  const ours = parseProcCgroup(own);
  if (theirs === null || ours === null) return { error: "the guest process's /proc/PID/cgroup is not one line per hierarchy" };
  const out: string[] = [];
  for (const line of theirs) {
    if (ours.some((o) => o.hierarchy === line.hierarchy && o.path === line.path)) continue;
    // Paths are relative to our cgroup namespace's root; one outside it cannot be named from here.
    if (line.path.split('/').includes('..')) return { error: `the guest's cgroup ${line.path} lies outside ours` };
    const mount = mountOf(line, mounts);
    if (!mount)
      return { error: `no cgroup filesystem is mounted for hierarchy ${line.hierarchy} (${line.controllers.join(',') || 'unified'})` };
    const root = mount.root === '/' ? '' : mount.root;
    if (root !== '' && line.path !== root && !line.path.startsWith(`${root}/`))
      return { error: `the guest's cgroup ${line.path} is not under the mounted ${mount.mountPoint}` };
    const rel = line.path.slice(root.length);
    out.push(`${mount.mountPoint}${rel === '/' ? '' : rel}/cgroup.procs`);
  }
  return out;
}

/** {@link cgroupJoinPaths} for process `pid`, read from /proc (capped); an error when it cannot be read. */
export function guestCgroupJoin(pid: number): string[] | { error: string } {
  const guest = readCappedText(`/proc/${pid}/cgroup`, PROC_CAPS.cgroup);
  const own = readCappedText('/proc/self/cgroup', PROC_CAPS.cgroup);
  const mountinfo = readCappedText('/proc/self/mountinfo', PROC_CAPS.mountinfo);
  if (guest === null || own === null || mountinfo === null || guest.truncated)
    return { error: `cannot read the cgroups of process ${pid}` };
  return cgroupJoinPaths(guest.text, own.text, parseMountinfo(mountinfo.text));
}
