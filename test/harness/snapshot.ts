/**
 * Host state snapshots, to prove a test (or the whole harness) left nothing behind:
 * mounts, network namespaces, schroot sessions and configs, cgroups, X displays
 * and the daemons the harness starts.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { run } from './proc.js';

/** A comparable picture of host state. Every field is a sorted list of strings. */
export interface HostSnapshot {
  /** `mountpoint fstype source` per /proc/self/mountinfo line (mount ids dropped). */
  mounts: string[];
  netns: string[];
  sessions: string[];
  schrootConfigs: string[];
  cgroups: string[];
  x11: string[];
  /** `pid comm` of Xvfb, pulseaudio, dnsmasq, systemd-nspawn and fake DNS servers. */
  processes: string[];
}

/** What to leave out of a snapshot (a world's own resources while it is up). */
export interface SnapshotFilter {
  /** Mount points at or under these paths are ignored. */
  mountPrefixes?: string[];
  /** Names (netns, sessions, configs, cgroups) starting with these are ignored. */
  namePrefixes?: string[];
  /** PIDs to ignore. */
  pids?: number[];
}

const DAEMONS = new Set(['Xvfb', 'pulseaudio', 'dnsmasq', 'systemd-nspawn']);

/** Decode mountinfo's octal escapes (`\040` = space). */
export function unescapeMountPath(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/** `p` is `prefix` or below it; a prefix ending in `-` or `/` matches any path starting with it. */
const under = (p: string, prefix: string): boolean => p === prefix || p.startsWith(/[-/]$/.test(prefix) ? prefix : `${prefix}/`);

function ls(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

function mounts(): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [pre, post = ''] = line.split(' - ');
      const mp = unescapeMountPath(pre!.split(' ')[4] ?? '');
      const [fstype, source] = post.split(' ');
      return `${mp} ${fstype} ${source}`;
    });
}

function processes(): string[] {
  const out: string[] = [];
  for (const p of ls('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      const comm = readFileSync(`/proc/${p}/comm`, 'utf8').trim();
      if (DAEMONS.has(comm)) out.push(`${p} ${comm}`);
      else if (comm === 'node' && readFileSync(`/proc/${p}/cmdline`, 'utf8').includes('fake-dns-server.mjs')) {
        out.push(`${p} fake-dns-server`);
      }
    } catch {
      /* gone */
    }
  }
  return out;
}

/** Take a snapshot of host state, minus what `filter` excludes. */
export async function hostSnapshot(filter: SnapshotFilter = {}): Promise<HostSnapshot> {
  const names = filter.namePrefixes ?? [];
  const keepName = (n: string): boolean => !names.some((p) => n.startsWith(p) || n.startsWith(`session:${p}`));
  const keepMount = (m: string): boolean => !(filter.mountPrefixes ?? []).some((p) => under(m.split(' ')[0]!, p));
  const netns = (await run(['ip', 'netns', 'list'])).stdout
    .split('\n')
    .map((l) => l.trim().split(' ')[0] ?? '')
    .filter(Boolean);
  const sessions = existsSync('/usr/bin/schroot')
    ? (await run(['schroot', '--list', '--all-sessions'])).stdout
        .split('\n')
        .map((l) => l.trim())
        .filter(Boolean)
    : [];
  const cgroups = ['unified', 'systemd'].flatMap((h) =>
    ls(`/sys/fs/cgroup/${h}`)
      .filter((n) => !n.includes('.') && !['tasks', 'release_agent', 'notify_on_release'].includes(n))
      .map((n) => `${h}/${n}`),
  );
  const pidSet = new Set((filter.pids ?? []).map(String));
  const snap: HostSnapshot = {
    mounts: mounts().filter(keepMount),
    netns: netns.filter(keepName),
    sessions: sessions.filter(keepName),
    schrootConfigs: [
      ...ls('/etc/schroot/chroot.d').map((n) => `chroot.d/${n}`),
      ...ls('/etc/schroot').filter((n) => n.startsWith('ctd-')),
    ].filter((n) => keepName(n.replace(/^chroot\.d\//, ''))),
    cgroups: cgroups.filter((c) => keepName(c.split('/')[1]!)),
    x11: [...ls('/tmp/.X11-unix').map((n) => `/tmp/.X11-unix/${n}`), ...ls('/tmp').filter((n) => /^\.X\d+-lock$/.test(n))],
    processes: processes().filter((p) => !pidSet.has(p.split(' ')[0]!)),
  };
  for (const k of Object.keys(snap) as (keyof HostSnapshot)[]) snap[k].sort();
  return snap;
}

/** Human-readable differences (`+ mounts: …` added, `- netns: …` removed); empty when equal. */
export function diffSnapshots(before: HostSnapshot, after: HostSnapshot): string[] {
  const out: string[] = [];
  for (const k of Object.keys(before) as (keyof HostSnapshot)[]) {
    const a = new Set(before[k]);
    const b = new Set(after[k]);
    for (const x of after[k]) if (!a.has(x)) out.push(`+ ${k}: ${x}`);
    for (const x of before[k]) if (!b.has(x)) out.push(`- ${k}: ${x}`);
  }
  return out;
}
