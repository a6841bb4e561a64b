import { defineCheck, skip, type CheckContext, type EarlyOutcome, type Reported } from '../../core/check.js';
import { findingBuilder } from '../../core/findings.js';
import { guestUnreadable } from '../guest-access.js';
import { idInside, idOutside, isIdentityMap, type IdMapRange } from '../../parse/id-map.js';
import { readProcessIdMaps, type ProcessIdMaps } from '../../host/userns-maps.js';
import { idmapFix } from '../../fixes/plans/userns-plans.js';
import type { TargetKind } from '../../core/types.js';

/** systemd 258's "foreign" UID range (mountfsd): trees owned there are mapped on use, not broken. */
const FOREIGN_BASE = 0x7ffe0000;
const FOREIGN_SIZE = 0x10000;

const findings = {
  'user-unmapped': {
    severity: 'fail',
    message:
      "the desktop user {user} (uid {uid}) has no id in the session's user namespace (uid_map {map}): its files show as {overflow} (nobody) and it cannot own anything",
    description: 'The desktop user has no id in the user namespace.',
  },
  'path-unmapped': {
    severity: 'fail',
    message:
      "{path} belongs to host uid {hostUid}, which the session's user namespace does not map: inside it shows as {shown} (nobody:nogroup) and {user} cannot write there (chown fails too)",
    description: "The user's home or runtime directory belongs to an unmapped uid: it shows as nobody and the user cannot write there.",
  },
  'x11-dir-unmapped': {
    severity: 'fail',
    message:
      '/tmp/.X11-unix belongs to host uid {hostUid}, shown as {overflow} inside the user namespace: Xwayland and kwin refuse it ("/tmp/.X11-unix not owned by root or us")',
    description: '/tmp/.X11-unix shows as nobody: "/tmp/.X11-unix not owned by root or us".',
  },
  'path-shows-nobody': {
    severity: 'warn',
    message:
      "{path} shows as {shown} (nobody) inside the session's user namespace (host uid {hostUid} is not mapped): programs that check a socket's or device's owner refuse it",
    description: 'A socket or device the session uses shows as nobody inside the namespace.',
  },
  'groups-unmapped': {
    severity: 'warn',
    message:
      "the session's supplementary groups {groups} are not mapped in its user namespace: id shows them as {overflow}(nogroup), setgroups cannot drop them, and their files look like nogroup's",
    description: 'Supplementary groups show as 65534 (nogroup): unmapped, and setgroups cannot fix it.',
  },
  'userns-none': {
    severity: 'info',
    message: "the session is not in a user namespace of its own: ids are the host's",
    description: "No user namespace: ids are the host's.",
  },
  'userns-mapped': {
    severity: 'info',
    message: 'the session runs in a user namespace (uid_map {map}) that maps the user, its groups and the {count} path(s) looked at',
    description: 'A user namespace that maps everything looked at.',
  },
} as const;

const fixDocs = {
  'userns.map-user':
    'nspawn: --bind=SRC:DST:idmap, --bind-user=NAME, or --private-users=identity; podman/distrobox: --userns=keep-id. chroot and schroot have no user namespace.',
} as const;

/** A path the desktop session uses, as the host sees its owner. */
interface OwnedPath {
  path: string;
  role: 'home' | 'runtime-dir' | 'x11-dir' | 'socket' | 'device';
  uid: number;
  gid: number;
  mode: number;
}

interface Facts {
  maps: ProcessIdMaps;
  pid: number;
  user: { uid: number; name: string };
  paths: OwnedPath[];
  kind: TargetKind;
  root: string;
  machine: string | null;
}

// What it looks at: the session process's id maps and groups, and the owners of what a desktop session writes to or connects to.
async function gather(ctx: CheckContext): Promise<Facts | EarlyOutcome> {
  const denied = await guestUnreadable(ctx);
  if (denied) return denied;
  const { target } = ctx;
  const pid = target.sessionPid ?? target.pid;
  if (pid === null) return skip('no process runs in the guest, so there is no user namespace to look at (a chroot has none)');
  const maps = await readProcessIdMaps(ctx.host, pid);
  if (maps === null) return skip(`cannot read the id maps of process ${pid} (it exited, or ctr-doctor is not root)`);
  const base = {
    maps,
    pid,
    user: { uid: target.user.uid, name: target.user.name },
    kind: target.kind,
    root: target.root,
    machine: target.nspawn?.machine ?? null,
  };
  if (isIdentityMap(maps.uidMap)) return { ...base, paths: [] };
  const runtime = target.env.XDG_RUNTIME_DIR?.startsWith('/') ? target.env.XDG_RUNTIME_DIR : `/run/user/${target.user.uid}`;
  const wanted: { path: string; role: OwnedPath['role'] }[] = [
    { path: target.user.home, role: 'home' },
    { path: runtime, role: 'runtime-dir' },
    { path: '/tmp/.X11-unix', role: 'x11-dir' },
  ];
  const [x11, dri, snd, inRuntime] = await Promise.all(['/tmp/.X11-unix', '/dev/dri', '/dev/snd', runtime].map((d) => target.readdir(d)));
  for (const n of (x11 ?? []).filter((e) => /^X\d+$/.test(e))) wanted.push({ path: `/tmp/.X11-unix/${n}`, role: 'socket' });
  for (const n of (inRuntime ?? []).filter((e) => /^(bus|wayland-\d+|pipewire-\d+|pulse)$/.test(e)))
    wanted.push({ path: `${runtime}/${n}`, role: 'socket' });
  for (const [dir, names] of [
    ['/dev/dri', dri],
    ['/dev/snd', snd],
  ] as const)
    for (const n of (names ?? []).slice(0, 16)) wanted.push({ path: `${dir}/${n}`, role: 'device' });
  const stats = await Promise.all(wanted.map(async (w) => ({ w, s: await target.stat(w.path) })));
  const paths = stats.flatMap(({ w, s }) => ('error' in s ? [] : [{ ...w, uid: s.uid, gid: s.gid, mode: s.mode & 0o7777 }]));
  return { ...base, paths };
}

const inForeignRange = (id: number): boolean => id >= FOREIGN_BASE && id < FOREIGN_BASE + FOREIGN_SIZE;
const mapText = (m: IdMapRange[]): string => m.map((r) => `${r.inside} ${r.outside} ${r.count}`).join(', ') || 'empty';
const found = findingBuilder(findings);

// How it decides: inside the session's user namespace, does each path (and group) have a real id, or the overflow one?
function judge(f: Facts) {
  const { uidMap, gidMap, overflowUid, overflowGid } = f.maps;
  if (isIdentityMap(uidMap)) return [found('userns-none', {})];
  const ev = { uidMap, gidMap, overflowUid, overflowGid, pid: f.pid };
  const out: Reported<typeof findings>[] = [];
  // The desktop uid is the guest's view; a session process found on the host may give its host uid instead.
  const userKuid = idOutside(uidMap, f.user.uid) ?? (idInside(uidMap, f.user.uid) !== null ? f.user.uid : null);
  if (userKuid === null)
    out.push(found('user-unmapped', { user: f.user.name, uid: f.user.uid, map: mapText(uidMap), overflow: overflowUid }, ev));
  for (const p of f.paths.filter((x) => idInside(uidMap, x.uid) === null && !inForeignRange(x.uid))) {
    const shown = `${overflowUid}:${idInside(gidMap, p.gid) ?? overflowGid}`;
    const pev = { ...ev, path: p.path, hostUid: p.uid, hostGid: p.gid, mode: p.mode.toString(8) };
    if ((p.role === 'home' || p.role === 'runtime-dir') && (p.mode & 0o002) === 0)
      out.push(found('path-unmapped', { path: p.path, hostUid: p.uid, shown, user: f.user.name }, pev));
    else if (p.role === 'x11-dir') out.push(found('x11-dir-unmapped', { hostUid: p.uid, overflow: overflowUid }, pev));
    else out.push(found('path-shows-nobody', { path: p.path, shown, hostUid: p.uid }, pev));
  }
  const badGroups = f.maps.groups.filter((g) => idInside(gidMap, g) === null);
  if (badGroups.length > 0)
    out.push(
      found(
        'groups-unmapped',
        { groups: badGroups.join(', '), overflow: overflowGid },
        { ...ev, hostGroups: f.maps.groups, unmapped: badGroups },
      ),
    );
  if (out.length > 0) return out;
  return [found('userns-mapped', { map: mapText(uidMap), count: f.paths.length }, ev)];
}

// What it offers: idmapped binds, keep-id, or no user namespace.
function offer(f: Facts, reported: readonly Reported<typeof findings>[]) {
  if (!reported.some((r) => r.code !== 'userns-none' && r.code !== 'userns-mapped')) return [];
  const paths = [...new Set(reported.flatMap((r) => ('path' in r.data ? [String(r.data.path)] : [])))];
  return [idmapFix(f.kind, f.root, f.user.name, paths, f.machine)];
}

export default defineCheck({
  id: 'userns.idmap',
  group: 'userns',
  title: 'The user, its files and groups mapped in the user namespace',
  description:
    "Reads the session process's uid_map and gid_map; when they are not the identity (a user namespace: nspawn --private-users, podman, unshare -U), maps the owners of the user's home, runtime directory, /tmp/.X11-unix, the session sockets and /dev/dri, /dev/snd through them. An owner the namespace does not map shows as the overflow id (65534, nobody), which breaks owner checks: \"/tmp/.X11-unix not owned by root or us\", chown failing, groups=…,65534(nogroup). systemd 258's foreign UID range counts as mapped.",
  findings,
  fixDocs,
  appliesTo: (ctx) => {
    if (ctx.target.kind === 'host') return 'no guest chosen: user namespaces are checked for a guest';
    if (ctx.target.pid === null && ctx.target.sessionPid === null)
      return 'no process runs in the guest, so there is no user namespace to look at (a chroot has none)';
    return true;
  },
  gather,
  judge,
  offer,
});
