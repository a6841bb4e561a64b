import { defineCheck, type CheckContext } from '../../core/check.js';
import { finding, outcomeOf, skipped } from '../../core/outcome.js';
import { idInside, idOutside, isIdentityMap } from '../../parse/id-map.js';
import { readProcessIdMaps, type ProcessIdMaps } from '../../host/userns-maps.js';
import { idmapFix } from '../../fixes/plans/userns-plans.js';
import type { Finding, Fix } from '../../core/types.js';

/** systemd 258's "foreign" UID range (mountfsd): owned trees there are mapped on use, not broken. */
const FOREIGN_BASE = 0x7ffe0000;
const FOREIGN_SIZE = 0x10000;

/** A path the desktop session uses, as the host sees its owner. */
export interface OwnedPath {
  path: string;
  role: 'home' | 'runtime-dir' | 'x11-dir' | 'socket' | 'device';
  uid: number;
  gid: number;
  mode: number;
}

export interface UsernsFacts {
  maps: ProcessIdMaps | null;
  pid: number | null;
  user: { uid: number; gid: number; name: string };
  paths: OwnedPath[];
  kind: CheckContext['target']['kind'];
  root: string;
  machine: string | null;
}

/** gather: the session process's id maps and groups, and the owners of the paths a desktop session writes or connects to. */
export async function gatherUserns(ctx: CheckContext): Promise<UsernsFacts> {
  const { target } = ctx;
  const base = { pid: target.pid, user: { uid: target.user.uid, gid: target.user.gid, name: target.user.name }, kind: target.kind, root: target.root, machine: target.nspawn?.machine ?? null };
  if (target.pid === null) return { ...base, maps: null, paths: [] };
  const maps = await readProcessIdMaps(target.pid);
  if (maps === null || isIdentityMap(maps.uidMap)) return { ...base, maps, paths: [] };
  const runtime = target.env.XDG_RUNTIME_DIR?.startsWith('/') ? target.env.XDG_RUNTIME_DIR : `/run/user/${target.user.uid}`;
  const wanted: { path: string; role: OwnedPath['role'] }[] = [{ path: target.user.home, role: 'home' }, { path: runtime, role: 'runtime-dir' }, { path: '/tmp/.X11-unix', role: 'x11-dir' }];
  const [x11, dri, snd, runtimeEntries] = await Promise.all(['/tmp/.X11-unix', '/dev/dri', '/dev/snd', runtime].map((d) => target.readdir(d)));
  for (const n of (x11 ?? []).filter((e) => /^X\d+$/.test(e))) wanted.push({ path: `/tmp/.X11-unix/${n}`, role: 'socket' });
  for (const n of (runtimeEntries ?? []).filter((e) => /^(bus|wayland-\d+|pipewire-\d+|pulse)$/.test(e))) wanted.push({ path: `${runtime}/${n}`, role: 'socket' });
  for (const [dir, names] of [['/dev/dri', dri], ['/dev/snd', snd]] as const) for (const n of (names ?? []).slice(0, 16)) wanted.push({ path: `${dir}/${n}`, role: 'device' });
  const stats = await Promise.all(wanted.map(async (w) => ({ w, s: await target.stat(w.path) })));
  const paths = stats.flatMap(({ w, s }) => ('error' in s ? [] : [{ ...w, uid: s.uid, gid: s.gid, mode: s.mode & 0o7777 }]));
  return { ...base, maps, paths };
}

const inForeignRange = (id: number): boolean => id >= FOREIGN_BASE && id < FOREIGN_BASE + FOREIGN_SIZE;

/** judge: inside the session's user namespace, does each path (and group) have a real id, or the overflow one? */
export function judgeUserns(f: UsernsFacts): Finding[] {
  if (f.maps === null) return [];
  if (isIdentityMap(f.maps.uidMap)) return [finding('userns-none', 'info', 'the session is not in a user namespace of its own: ids are the host\'s', {})];
  const { uidMap, gidMap, overflowUid, overflowGid } = f.maps;
  const ev = { uidMap, gidMap, overflowUid, overflowGid, pid: f.pid };
  const out: Finding[] = [];
  // The desktop uid is the guest's view; a session process found on the host gives its host uid instead.
  const userKuid = idOutside(uidMap, f.user.uid) ?? (idInside(uidMap, f.user.uid) !== null ? f.user.uid : null);
  if (userKuid === null) {
    out.push(finding('user-unmapped', 'fail', `the desktop user ${f.user.name} (uid ${f.user.uid}) has no id in the session's user namespace (uid_map ${uidMap.map((r) => `${r.inside} ${r.outside} ${r.count}`).join(', ')}): its files show as ${overflowUid} (nobody) and it cannot own anything`, ev));
  }
  const unmapped = f.paths.filter((p) => idInside(uidMap, p.uid) === null && !inForeignRange(p.uid));
  for (const p of unmapped) {
    const shown = `${overflowUid}:${idInside(gidMap, p.gid) ?? overflowGid}`;
    const writable = (p.mode & 0o002) !== 0;
    if ((p.role === 'home' || p.role === 'runtime-dir') && !writable) {
      out.push(finding('path-unmapped', 'fail', `${p.path} belongs to host uid ${p.uid}, which the session's user namespace does not map: inside it shows as ${shown} (nobody:nogroup) and ${f.user.name} cannot write there (chown fails too)`, { ...ev, path: p.path, hostUid: p.uid, hostGid: p.gid, mode: p.mode.toString(8) }));
    } else if (p.role === 'x11-dir') {
      out.push(finding('x11-dir-unmapped', 'fail', `/tmp/.X11-unix belongs to host uid ${p.uid}, shown as ${overflowUid} inside the user namespace: Xwayland and kwin refuse it ("/tmp/.X11-unix not owned by root or us")`, { ...ev, path: p.path, hostUid: p.uid }));
    } else {
      out.push(finding('path-shows-nobody', 'warn', `${p.path} shows as ${shown} (nobody) inside the session's user namespace (host uid ${p.uid} is not mapped): programs that check a socket's or device's owner refuse it`, { ...ev, path: p.path, hostUid: p.uid, hostGid: p.gid }));
    }
  }
  const badGroups = f.maps.groups.filter((g) => idInside(gidMap, g) === null);
  if (badGroups.length > 0) {
    out.push(finding('groups-unmapped', 'warn', `the session's supplementary groups ${badGroups.join(', ')} are not mapped in its user namespace: id shows them as ${overflowGid}(nogroup), setgroups cannot drop them, and their files look like nogroup's`, { ...ev, hostGroups: f.maps.groups, unmapped: badGroups }));
  }
  if (out.length === 0) out.push(finding('userns-mapped', 'info', `the session runs in a user namespace (uid_map ${uidMap.map((r) => `${r.inside} ${r.outside} ${r.count}`).join(', ')}) that maps the user, its groups and the ${f.paths.length} path(s) looked at`, ev));
  return out;
}

/** offer: idmapped binds, keep-id, or no user namespace. */
export function offerUserns(f: UsernsFacts, findings: Finding[]): Fix[] {
  if (!findings.some((x) => x.severity !== 'info')) return [];
  const paths = [...new Set(findings.map((x) => x.evidence.path).filter((p): p is string => typeof p === 'string'))];
  return [idmapFix(f.kind, f.root, f.user.name, paths, f.machine)];
}

export default defineCheck({
  id: 'userns.idmap',
  group: 'userns',
  title: 'The user, its files and groups mapped in the user namespace',
  description: 'Reads the session process\'s uid_map and gid_map; when they are not the identity (a user namespace: nspawn --private-users, podman, unshare -U), maps the owners of the user\'s home, runtime directory, /tmp/.X11-unix, the session sockets and /dev/dri, /dev/snd through them. An owner the namespace does not map shows as the overflow id (65534, nobody), which breaks owner checks: "/tmp/.X11-unix not owned by root or us", chown failing, groups=…,65534(nogroup). systemd 258\'s foreign UID range counts as mapped.',
  findings: {
    'user-unmapped': { severity: 'fail', description: 'The desktop user has no id in the user namespace.' },
    'path-unmapped': { severity: 'fail', description: 'The user\'s home or runtime directory belongs to an unmapped uid: it shows as nobody and the user cannot write there.' },
    'x11-dir-unmapped': { severity: 'fail', description: '/tmp/.X11-unix shows as nobody: "/tmp/.X11-unix not owned by root or us".' },
    'path-shows-nobody': { severity: 'warn', description: 'A socket or device the session uses shows as nobody inside the namespace.' },
    'groups-unmapped': { severity: 'warn', description: 'Supplementary groups show as 65534 (nogroup): unmapped, and setgroups cannot fix it.' },
    'userns-none': { severity: 'info', description: 'No user namespace: ids are the host\'s.' },
    'userns-mapped': { severity: 'info', description: 'A user namespace that maps everything looked at.' },
  },
  fixDocs: {
    'userns.map-user': 'nspawn: --bind=SRC:DST:idmap, --bind-user=NAME, or --private-users=identity; podman/distrobox: --userns=keep-id. chroot and schroot have no user namespace.',
  },
  appliesTo: (ctx) => {
    if (ctx.target.kind === 'host') return 'no guest chosen: user namespaces are checked for a guest';
    if (ctx.target.pid === null) return 'no process runs in the guest, so there is no user namespace to look at (a chroot has none)';
    return true;
  },

  async run(ctx) {
    const facts = await gatherUserns(ctx);
    if (facts.maps === null) return skipped(`cannot read the id maps of process ${facts.pid} (it exited, or ctr-doctor is not root)`);
    const findings = judgeUserns(facts);
    return outcomeOf(findings, offerUserns(facts, findings));
  },
});
