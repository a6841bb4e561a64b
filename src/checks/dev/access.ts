import { defineCheck, cannotRun, type CheckContext, type EarlyOutcome, type Reported } from '../../core/check.js';
import { findingBuilder } from '../../core/findings.js';
import { desktopSessionApplies } from '../../core/desktop-session.js';
import { DESKTOP_DEVICE_DIRS, type HostDeviceNode } from '../../core/host.js';
import { guestUnreadable } from '../guest-access.js';
import { lookAsUser } from '../api-fs-look.js';
import { targetSchrootFstab } from '../schroot-fstab.js';
import { parseGroup, type GroupEntry } from '../../parse/passwd.js';
import { idInside, isIdentityMap, parseIdMap, type IdMapRange } from '../../parse/id-map.js';
import { allowsReadWrite, parseDevicePolicy, parseDevicesList, parseProcDevices, type DeviceCgroup } from '../../parse/device-cgroup.js';
import {
  deviceBindFix,
  deviceCgroupFix,
  guestGroupsFix,
  hostAclFix,
  type DeviceBind,
  type GroupGap,
} from '../../fixes/plans/dev-access-plans.js';
import type { FixPlace } from '../../fixes/plans/x11-plans.js';
import type { NodeInfo } from '../../core/api-fs-types.js';

/** The group a user namespace shows for a gid it does not map. */
const OVERFLOW_GID = 65534;

const findings = {
  'devices-missing': {
    severity: 'warn',
    message: '{nodes} {are} on the host but not in the guest: {effect}',
    description:
      'Host GPU/sound/video nodes that are not in the guest at the same path (not bound: a chroot without /dev, nspawn without --bind=/dev/dri).',
  },
  'device-differs': {
    severity: 'warn',
    message: "{path} in the guest is {what}, not the host's char device {major}:{minor}: a copied or stale /dev, not the host's node",
    description: 'The guest has another node (or a plain file) where the host has the device.',
  },
  'gid-unnamed': {
    severity: 'fail',
    message:
      "{user} cannot open {nodes} (Permission denied): {they} to gid {gid} ({hostName} on the host), which has no name in the guest's /etc/group, so {user} is not in it",
    description: "EACCES: the nodes' group (render, video, audio on the host) does not exist in the guest.",
  },
  'gid-other-name': {
    severity: 'fail',
    message:
      '{user} cannot open {nodes} (Permission denied): {they} to gid {gid}, {hostName} on the host but {guestName} in the guest ({guestOwn}); {user} is not in {guestName}',
    description:
      "EACCES: the host's gid of render/video/audio names another group in the guest (frostyard/intuneme#33: render is systemd-resolve there).",
  },
  'not-in-group': {
    severity: 'fail',
    message:
      "{user} cannot open {nodes} (Permission denied): {they} to {group} (gid {gid}), and {user} is not in {group} in the guest's /etc/group",
    description: 'EACCES: the group has the same name and gid, but the user is not a member in the guest.',
  },
  'no-acl': {
    severity: 'fail',
    message:
      '{user} (uid {uid}) cannot open {nodes} (Permission denied): mode {mode} gives {groupName} and others no read-write, and {acl}',
    description: "EACCES: only an ACL would grant it (logind's uaccess gives the node to the host seat's user), and none names this uid.",
  },
  'unmapped-group': {
    severity: 'fail',
    message:
      "{nodes} {show} group {overflow} (nogroup) in the guest: its user namespace does not map the host's gid {gid} ({hostName}), so no group of the guest can grant {user} access",
    description: "The node's gid is not in the guest's gid_map (a user namespace: it shows as 65534), so no guest group grants it.",
  },
  'session-lacks-group': {
    severity: 'warn',
    message:
      "{user} is in gid {gid} ({group}) in the guest's /etc/group, which {nodes} need, but the session process {pid} does not have it (Groups: {groups}): programs of this session cannot open them until {user} logs in again",
    description: 'The user was added to the group after the session started.',
  },
  'groups-overflow': {
    severity: 'warn',
    message:
      'the session process {pid} has group {overflow} among its groups ({groups}): a supplementary group its user namespace does not map (--unshare-groups, or a userns without the gid)',
    description: 'A group of the session shows as 65534.',
  },
  'cgroup-denies': {
    severity: 'fail',
    message: '{nodes}: {how}, so the guest\'s processes get "Operation not permitted" (EPERM) opening {them}',
    description:
      'The device cgroup of the guest (cgroup v1 devices.list, or systemd DevicePolicy/DeviceAllow, which cgroup v2 enforces with BPF) does not allow the node (systemd/systemd#10960).',
  },
  'no-driver': {
    severity: 'info',
    message: '{nodes}: open as {user} gives {errno} ({text}): no driver answers behind {them}, so nothing in the guest can use {them}',
    description: 'ENXIO/ENODEV: a node with no driver (a stand-in node, a GPU without its module).',
  },
  'open-failed': {
    severity: 'fail',
    message: '{user} cannot open {path}: {errno}',
    description: 'open(O_RDWR) failed for another reason (a nodev mount gives EACCES with any mode).',
  },
  'no-host-devices': {
    severity: 'info',
    message: 'the host has no GPU, sound or video nodes ({where}): nothing for the guest to have',
    description: 'Nothing to compare.',
  },
  'devices-ok': {
    severity: 'info',
    message: "{user} opens all {count} of the host's device nodes in the guest ({sample}){untested}",
    description: 'Every host GPU/sound/video node is in the guest and opens read-write as the desktop user.',
  },
} as const;

const fixDocs = {
  'dev.bind-devices-chroot': 'chroot: mkdir/touch and mount --bind each host /dev/dri, /dev/snd (or node) into the root, quoted.',
  'dev.bind-devices-schroot': "schroot: the fstab lines (/dev/snd /dev/snd none rw,bind 0 0), naming the profile's file.",
  'dev.bind-devices-nspawn':
    "nspawn: --bind=/dev/dri with --property=DeviceAllow='char-drm rw' (char-alsa for /dev/snd), the .nspawn Bind= lines, and DeviceAllow= in a systemd-nspawn@ drop-in.",
  'dev.guest-groups':
    'In the guest: usermod -aG GROUP USER, or groupadd -g GID host-NAME (-o when the gid names another group) then usermod; chroot --groups=GID as another way. Then log in again.',
  'dev.allow-in-device-cgroup':
    "On the host: echo 'c MAJOR:* rw' > the guest's devices.allow (cgroup v1), or systemctl set-property --runtime UNIT DeviceAllow='char-drm rw'.",
  'dev.grant-acl':
    'On the host: setfacl -m u:UID:rw NODE (udev resets it when the device changes; a TAG+="uaccess" rule or the group is lasting).',
} as const;

/** The guest's side of one host node: what the user's probe saw at the same path. */
interface Pair {
  host: HostDeviceNode;
  guest: NodeInfo;
}

interface Facts {
  place: FixPlace;
  user: { uid: number; gid: number; name: string; groups: number[] };
  pairs: Pair[];
  /** The groups the user's probe held (only those the host account has too, audit M2); null when it did not say. */
  probeGroups: number[] | null;
  hostGroups: GroupEntry[];
  guestGroups: GroupEntry[];
  /** Char device driver names by major, from the host's /proc/devices (226 drm, 116 alsa). */
  majorNames: Map<number, string>;
  /** The guest's gid map when it is not the identity (a user namespace): the host's gids it shows, others are 65534. */
  gidMap: IdMapRange[] | null;
  /** The session process and its groups (host ids, from the host's /proc/PID/status), when it is the user's. */
  session: { pid: number; groups: number[] } | null;
  /** The device cgroup of the guest's process, when one restricts it. */
  cgroup: (DeviceCgroup & { v1Path: string | null; unit: string | null }) | null;
  fstabFile: string | null;
}

/** The guest's device cgroup: cgroup v1 devices.list of its process, else the systemd unit's DevicePolicy (cgroup v2). */
async function deviceCgroupOf(ctx: CheckContext, pid: number, charMajors: Map<string, number[]>): Promise<Facts['cgroup']> {
  const text = await ctx.host.readFile(`/proc/${pid}/cgroup`, { maxBytes: 64 * 1024 });
  if (text === null) return null;
  const v1 = /^\d+:(?:[^:]*,)?devices(?:,[^:]*)?:(.*)$/m.exec(text)?.[1];
  if (v1 !== undefined) {
    // The path comes from the kernel; still, it must stay a path below the hierarchy.
    if (v1.split('/').includes('..')) return null;
    const list = await ctx.host.readFile(`/sys/fs/cgroup/devices${v1 === '/' ? '' : v1}/devices.list`, { maxBytes: 256 * 1024 });
    return list === null ? null : { ...parseDevicesList(list, `cgroup v1 devices:${v1}`), v1Path: v1, unit: null };
  }
  const v2 = /^0::(.*)$/m.exec(text)?.[1];
  const unit = v2
    ?.split('/')
    .reverse()
    .find((c) => /^[A-Za-z0-9:_.@\\-]+\.(scope|service)$/.test(c));
  if (unit === undefined) return null;
  const shown = await ctx.host.run(['/usr/bin/systemctl', 'show', '-p', 'DevicePolicy', '-p', 'DeviceAllow', '--', unit], {
    timeoutMs: 2000,
  });
  if (shown.exitCode !== 0) return null;
  return { ...parseDevicePolicy(shown.stdout, unit, charMajors), v1Path: null, unit };
}

// What it looks at: the host's GPU/sound/video nodes (Host port), the same paths in the guest as the desktop user
// (lstat + open O_RDWR in the probe child, walked inside the root), both /etc/group files, the session's groups and the device cgroup.
async function gather(ctx: CheckContext): Promise<Facts | EarlyOutcome> {
  const denied = await guestUnreadable(ctx);
  if (denied) return denied;
  const { target, host } = ctx;
  const hostNodes = await host.deviceNodes();
  let guestNodes: NodeInfo[] = [];
  let probeGroups: number[] | null = null;
  if (hostNodes.length > 0) {
    try {
      const look = await lookAsUser(ctx, { nodes: hostNodes.map((n) => n.path) });
      guestNodes = look.nodes;
      probeGroups = look.groups ?? null;
    } catch (error) {
      return cannotRun(`could not look at the guest's device nodes: ${(error as Error).message}`);
    }
  }
  const [guestGroupFile, hostGroupFile, procDevices, fstab] = await Promise.all([
    target.readFile('/etc/group'),
    host.readFileOnce('/etc/group'),
    host.readFileOnce('/proc/devices', { maxBytes: 64 * 1024 }),
    targetSchrootFstab(ctx),
  ]);
  const charMajors = parseProcDevices(procDevices ?? '');
  const majorNames = new Map<number, string>();
  for (const [name, majors] of charMajors) for (const m of majors) if (!majorNames.has(m)) majorNames.set(m, name);
  const pid = target.session?.pid ?? target.sessionPid ?? target.pid;
  let session: Facts['session'] = null;
  let cgroup: Facts['cgroup'] = null;
  let gidMap: IdMapRange[] | null = null;
  if (pid !== null && hostNodes.length > 0) {
    const map = await host.readFile(`/proc/${pid}/gid_map`, { maxBytes: 64 * 1024 });
    const ranges = map === null ? [] : parseIdMap(map);
    if (ranges.length > 0 && !isIdentityMap(ranges)) gidMap = ranges;
    const status = await host.readFile(`/proc/${pid}/status`, { maxBytes: 64 * 1024 });
    const uid = status === null ? undefined : /^Uid:\s+(\d+)/m.exec(status)?.[1];
    const groups = status === null ? undefined : /^Groups:[ \t]*([\d \t]*)$/m.exec(status)?.[1];
    if (uid !== undefined && Number(uid) === target.user.uid && groups !== undefined)
      session = {
        pid,
        groups: groups
          .trim()
          .split(/\s+/)
          .filter((g) => g !== '')
          .map(Number),
      };
    cgroup = await deviceCgroupOf(ctx, pid, charMajors);
  }
  const { kind, root, schroot, nspawn } = target;
  return {
    place: { kind, root, ...(schroot ? { schroot } : {}), ...(nspawn ? { nspawn } : {}) },
    user: { uid: target.user.uid, gid: target.user.gid, name: target.user.name, groups: [...target.user.groups] },
    pairs: hostNodes.flatMap((h, i) => (guestNodes[i] ? [{ host: h, guest: guestNodes[i] }] : [])),
    probeGroups,
    hostGroups: parseGroup(hostGroupFile ?? ''),
    guestGroups: guestGroupFile.ok ? parseGroup(guestGroupFile.text) : [],
    majorNames,
    gidMap,
    session,
    cgroup,
    fstabFile: fstab?.file ?? null,
  };
}

const found = findingBuilder(findings);

const ERRNO_TEXT: Record<string, string> = { ENXIO: 'No such device or address', ENODEV: 'No such device' };

/** What a missing directory costs, in the words users see. */
function effectOf(paths: readonly string[]): string {
  const out: string[] = [];
  if (paths.some((p) => p.startsWith('/dev/dri/') || p === '/dev/kfd' || p.startsWith('/dev/nvidia')))
    out.push('GPU programs fall back to software rendering ("libGL error: failed to open drm device")');
  if (paths.some((p) => p.startsWith('/dev/snd/')))
    out.push('ALSA programs find no card ("cannot find card \'0\'"; sound works only through a PulseAudio/PipeWire socket)');
  if (paths.some((p) => p.startsWith('/dev/video'))) out.push('cameras are not there');
  return out.join('; ') || 'programs that use them cannot';
}

/** `/dev/snd/controlC0, /dev/snd/pcmC0D0p`, shortened past five. */
function listOf(paths: readonly string[]): string {
  return paths.length <= 5 ? paths.join(', ') : `${paths.slice(0, 5).join(', ')} and ${paths.length - 5} more`;
}

const groupName = (groups: readonly GroupEntry[], gid: number): string | null => groups.find((g) => g.gid === gid)?.name ?? null;
const grantsRw = (bits: number): boolean => (bits & 6) === 6;
const rw = (perms: string | null | undefined): boolean => perms?.startsWith('rw') === true;

/** Whether the node's owning group may read-write it: the mode's group bits, or with an ACL mask, group:: capped by the mask. */
const groupGrants = (h: HostDeviceNode): boolean =>
  h.aclMask !== null && h.aclGroup !== null ? rw(h.aclGroup) && rw(h.aclMask) : grantsRw(h.mode >> 3);
/** Whether a named ACL entry (capped by the mask) gives uid read-write. */
const aclGrants = (h: HostDeviceNode, uid: number): boolean =>
  h.acl?.some((e) => e.who === 'user' && e.id === uid && rw(e.perms) && (h.aclMask === null || rw(h.aclMask))) === true;

/** Why EACCES, for one pair: the code, its grouping key, and the data of its message. */
type Denial =
  | { code: 'gid-unnamed' | 'gid-other-name' | 'not-in-group' | 'unmapped-group'; gid: number }
  | { code: 'no-acl' }
  | { code: 'open-failed'; errno: string };

/** The node's gid as the guest's processes see it: through its user namespace's map, else as the probe saw it. */
const guestGid = (f: Facts, p: Pair): number => (f.gidMap ? (idInside(f.gidMap, p.host.gid) ?? OVERFLOW_GID) : (p.guest.gid ?? p.host.gid));

function denialOf(f: Facts, p: Pair): Denial {
  const gid = guestGid(f, p);
  if (gid === OVERFLOW_GID && p.host.gid !== OVERFLOW_GID) return { code: 'unmapped-group', gid: p.host.gid };
  const member = f.user.gid === gid || f.user.groups.includes(gid);
  if (groupGrants(p.host) && !member) {
    const guestName = groupName(f.guestGroups, gid);
    const hostName = groupName(f.hostGroups, p.host.gid);
    if (guestName === null) return { code: 'gid-unnamed', gid };
    if (hostName !== null && hostName !== guestName) return { code: 'gid-other-name', gid };
    return { code: 'not-in-group', gid };
  }
  if (!groupGrants(p.host) && !grantsRw(p.host.mode) && p.host.uid !== f.user.uid) return { code: 'no-acl' };
  return { code: 'open-failed', errno: 'EACCES (the mode and groups allow it: a nodev mount, or an ACL mask)' };
}

/** Whether the node needs the group for this user: the owner bits, the other bits and an ACL entry do not already grant it. */
function needsGroup(f: Facts, p: Pair): boolean {
  if (p.host.uid === f.user.uid && grantsRw(p.host.mode >> 6)) return false;
  if (grantsRw(p.host.mode)) return false;
  if (aclGrants(p.host, f.user.uid)) return false;
  return groupGrants(p.host);
}

// How it decides: for each host node, the guest's node at the same path: missing, another node, or opened as the user;
// EACCES is traced to the group (unnamed, other name, not a member, unmapped) or the ACL, EPERM and a closed policy to the device cgroup.
function judge(f: Facts) {
  const out: Reported<typeof findings>[] = [];
  if (f.pairs.length === 0)
    return {
      findings: [found('no-host-devices', { where: '/dev/dri, /dev/snd, /dev/kfd, /dev/nvidia*, /dev/video*' })],
      summary: 'the host has no GPU, sound or video device nodes',
    };
  const missing: string[] = [];
  const denied = new Map<string, { denial: Denial; pairs: Pair[] }>();
  const cgroupDenied: Pair[] = [];
  const noDriver = new Map<string, string[]>();
  const lacking = new Map<number, string[]>();
  /** Nodes the probe could not open only because it was not given their gid, which the guest gives the user. */
  const byMode = new Map<number, string[]>();
  let opened = 0;
  const ev = (pairs: readonly Pair[]) => ({
    nodes: pairs.map((p) => ({ host: p.host, guest: p.guest })),
    user: f.user,
    gidMap: f.gidMap,
    session: f.session,
    cgroup: f.cgroup ? { source: f.cgroup.source, open: f.cgroup.open, rules: f.cgroup.rules } : null,
  });
  for (const p of f.pairs) {
    const { host: h, guest: g } = p;
    if (g.type === 'missing') {
      missing.push(h.path);
      continue;
    }
    if (g.type !== 'char' || g.major !== h.major || g.minor !== h.minor) {
      out.push(
        found(
          'device-differs',
          {
            path: h.path,
            what: g.type === 'char' || g.type === 'block' ? `${g.type} ${g.major ?? '?'}:${g.minor ?? '?'}` : `a ${g.type}`,
            major: h.major,
            minor: h.minor,
          },
          ev([p]),
        ),
      );
      continue;
    }
    const errno = g.openErrno;
    if (errno === 'EPERM' || (f.cgroup && !allowsReadWrite(f.cgroup, h.major, h.minor, h.path))) {
      cgroupDenied.push(p);
      continue;
    }
    const gid = guestGid(f, p);
    const untestable =
      errno === 'EACCES' &&
      needsGroup(f, p) &&
      (f.user.gid === gid || f.user.groups.includes(gid)) &&
      f.probeGroups !== null &&
      !f.probeGroups.includes(h.gid);
    if (errno === null || untestable) {
      opened++;
      if (untestable) byMode.set(gid, [...(byMode.get(gid) ?? []), h.path]);
      // The session's groups are host ids (the host's /proc shows them so).
      if (f.session && needsGroup(f, p) && !f.session.groups.includes(h.gid)) lacking.set(gid, [...(lacking.get(gid) ?? []), h.path]);
      continue;
    }
    if (errno === 'ENXIO' || errno === 'ENODEV') {
      noDriver.set(errno, [...(noDriver.get(errno) ?? []), h.path]);
      continue;
    }
    const denial: Denial = errno === 'EACCES' ? denialOf(f, p) : { code: 'open-failed', errno };
    const key = `${denial.code}:${'gid' in denial ? denial.gid : 'errno' in denial ? denial.errno : ''}`;
    const entry = denied.get(key) ?? { denial, pairs: [] };
    entry.pairs.push(p);
    denied.set(key, entry);
  }
  if (missing.length > 0)
    out.push(
      found(
        'devices-missing',
        { nodes: listOf(missing), are: missing.length === 1 ? 'is' : 'are', effect: effectOf(missing) },
        { missing, user: f.user },
      ),
    );
  for (const { denial, pairs } of denied.values()) {
    const nodes = listOf(pairs.map((p) => p.host.path));
    const they = pairs.length === 1 ? 'it belongs' : 'they belong';
    const user = f.user.name;
    const hostName = groupName(f.hostGroups, pairs[0]!.host.gid) ?? 'unnamed';
    switch (denial.code) {
      case 'gid-unnamed':
        out.push(found('gid-unnamed', { user, nodes, they, gid: denial.gid, hostName }, ev(pairs)));
        break;
      case 'gid-other-name': {
        const guestName = groupName(f.guestGroups, denial.gid) ?? '?';
        const own = f.guestGroups.find((g) => g.name === hostName);
        out.push(
          found(
            'gid-other-name',
            {
              user,
              nodes,
              they,
              gid: denial.gid,
              hostName,
              guestName,
              guestOwn: own ? `the guest's ${hostName} is gid ${own.gid}` : `the guest has no ${hostName} group`,
            },
            ev(pairs),
          ),
        );
        break;
      }
      case 'not-in-group':
        out.push(
          found(
            'not-in-group',
            { user, nodes, they, gid: denial.gid, group: groupName(f.guestGroups, denial.gid) ?? String(denial.gid) },
            ev(pairs),
          ),
        );
        break;
      case 'unmapped-group':
        out.push(
          found(
            'unmapped-group',
            { nodes, show: pairs.length === 1 ? 'shows' : 'show', overflow: OVERFLOW_GID, gid: denial.gid, hostName, user },
            ev(pairs),
          ),
        );
        break;
      case 'no-acl': {
        const h = pairs[0]!.host;
        const named = h.acl?.filter((e) => e.who === 'user').map((e) => e.id) ?? [];
        const acl =
          h.acl === null
            ? 'its ACL could not be read on the host (no getfacl), so whether one grants uid ' + String(f.user.uid) + ' is unknown'
            : named.length > 0
              ? `its ACL grants only uid ${named.join(', ')} (logind's uaccess gives the node to the host seat's active user), not uid ${f.user.uid}`
              : `the node has no ACL entry for uid ${f.user.uid}`;
        out.push(
          found(
            'no-acl',
            {
              user,
              uid: f.user.uid,
              nodes,
              mode: `0${h.mode.toString(8)}`,
              groupName: groupName(f.guestGroups, pairs[0]!.guest.gid ?? h.gid) ?? `gid ${h.gid}`,
              acl,
            },
            ev(pairs),
          ),
        );
        break;
      }
      case 'open-failed':
        for (const p of pairs) out.push(found('open-failed', { user, path: p.host.path, errno: denial.errno }, ev([p])));
        break;
    }
  }
  if (cgroupDenied.length > 0) {
    const nodes = listOf(cgroupDenied.map((p) => p.host.path));
    const how =
      f.cgroup && !f.cgroup.open && cgroupDenied.some((p) => !allowsReadWrite(f.cgroup!, p.host.major, p.host.minor, p.host.path))
        ? `the guest's device cgroup (${f.cgroup.source}) does not allow ${[...new Set(cgroupDenied.map((p) => `c ${p.host.major}:${p.host.minor}`))].join(', ')} rw`
        : `open as ${f.user.name} returned EPERM although the mode allows it: the device cgroup`;
    out.push(found('cgroup-denies', { nodes, how, them: cgroupDenied.length === 1 ? 'it' : 'them' }, ev(cgroupDenied)));
  }
  for (const [errno, paths] of noDriver)
    out.push(
      found(
        'no-driver',
        { nodes: listOf(paths), user: f.user.name, errno, text: ERRNO_TEXT[errno] ?? errno, them: paths.length === 1 ? 'it' : 'them' },
        { nodes: paths },
      ),
    );
  if (f.session) {
    for (const [gid, paths] of lacking)
      out.push(
        found(
          'session-lacks-group',
          {
            user: f.user.name,
            gid,
            group: groupName(f.guestGroups, gid) ?? 'unnamed',
            nodes: listOf(paths),
            pid: f.session.pid,
            groups: f.session.groups.join(' ') || 'none',
          },
          { session: f.session, nodes: paths },
        ),
      );
    // In a user namespace a group it does not map shows as 65534 inside (the host's /proc shows its real id).
    const unmapped = f.session.groups.filter((g) => g === OVERFLOW_GID || (f.gidMap !== null && idInside(f.gidMap, g) === null));
    if (unmapped.length > 0)
      out.push(
        found(
          'groups-overflow',
          { pid: f.session.pid, overflow: OVERFLOW_GID, groups: `${f.session.groups.join(' ')}; unmapped: ${unmapped.join(' ')}` },
          { session: f.session, gidMap: f.gidMap },
        ),
      );
  }
  if (out.some((r) => r.code !== 'no-driver')) return out;
  const untested = [...byMode]
    .map(
      ([gid, paths]) =>
        `; ${listOf(paths)} by ${paths.length === 1 ? 'its' : 'their'} mode and gid ${gid}, which the guest's /etc/group gives ${f.user.name}: the tool's own open ran without gid ${gid}, which the host's account of uid ${f.user.uid} lacks`,
    )
    .join('');
  const ok = found(
    'devices-ok',
    { user: f.user.name, count: f.pairs.length, sample: listOf(f.pairs.map((p) => p.host.path)), untested },
    { opened, byMode: Object.fromEntries(byMode), probeGroups: f.probeGroups },
  );
  return {
    findings: [...out, ok],
    summary: `${f.user.name} opens the host's ${f.pairs.length} device node${f.pairs.length === 1 ? '' : 's'} in the guest`,
  };
}

/** The bind for a missing node: its directory when it is in /dev/dri or /dev/snd, else the node itself. */
function bindOf(f: Facts, path: string): DeviceBind {
  const dir = DESKTOP_DEVICE_DIRS.find((d) => path.startsWith(`${d}/`));
  const node = f.pairs.find((p) => p.host.path === path)!.host;
  const name = f.majorNames.get(node.major);
  return { path: dir ?? path, dir: dir !== undefined, deviceClass: name === undefined ? null : `char-${name}` };
}

// What it offers: the binds per kind (nspawn with DeviceAllow=), the guest's groups, the device cgroup, a host ACL.
function offer(f: Facts, reported: readonly Reported<typeof findings>[]) {
  const evidenceNodes = (r: Reported<typeof findings>): HostDeviceNode[] =>
    ((r.evidence?.nodes ?? []) as { host: HostDeviceNode }[]).map((n) => n.host);
  const missing = reported.flatMap((r) => (r.code === 'devices-missing' ? (r.evidence?.missing as string[]) : []));
  const binds = [...new Map(missing.map((p) => bindOf(f, p)).map((b) => [b.path, b])).values()];
  const gaps: GroupGap[] = [];
  for (const r of reported) {
    if (r.code !== 'gid-unnamed' && r.code !== 'gid-other-name' && r.code !== 'not-in-group') continue;
    const node = evidenceNodes(r)[0];
    if (!node) continue;
    const pair = f.pairs.find((p) => p.host.path === node.path);
    const gid = pair ? guestGid(f, pair) : node.gid;
    const hostName = groupName(f.hostGroups, node.gid);
    gaps.push(
      r.code === 'not-in-group'
        ? { gid, hostName, join: groupName(f.guestGroups, gid), user: f.user.name, alias: false }
        : { gid, hostName, join: null, user: f.user.name, alias: r.code === 'gid-other-name' },
    );
  }
  const cg = reported
    .filter((r) => r.code === 'cgroup-denies')
    .flatMap(evidenceNodes)
    .map((n) => ({ path: n.path, major: n.major, deviceClass: f.majorNames.has(n.major) ? `char-${f.majorNames.get(n.major)!}` : null }));
  const aclNodes = reported
    .filter((r) => r.code === 'no-acl')
    .flatMap(evidenceNodes)
    .map((n) => n.path);
  return [
    deviceBindFix(f.place, binds, f.fstabFile),
    guestGroupsFix(f.place, gaps),
    deviceCgroupFix(f.place, { v1Path: f.cgroup?.v1Path ?? null, unit: f.cgroup?.unit ?? null }, cg),
    hostAclFix(aclNodes, f.user.uid),
  ];
}

export default defineCheck({
  id: 'dev.access',
  group: 'dev',
  title: 'GPU, sound and video nodes the desktop user can open',
  description:
    "Lists the host's /dev/dri/*, /dev/snd/*, /dev/kfd, /dev/nvidia* and /dev/video* (numbers, mode, group, ACL), looks at the same paths in the guest and opens each read-write as the desktop user. A node missing in the guest is a missing bind; EACCES is traced to the node's gid in the guest's /etc/group (no name, another name than on the host, the user not a member, 65534 unmapped) or to an ACL for another uid; EPERM, or a device cgroup (v1 devices.list, systemd DeviceAllow) that does not allow it, to the device cgroup; ENXIO/ENODEV to a node with no driver. Also reports a session process that lacks a group /etc/group gives it, and groups shown as 65534.",
  findings,
  fixDocs,
  probes: ['user'],
  appliesTo: (ctx) => desktopSessionApplies(ctx, 'device access'),
  gather,
  judge,
  offer,
});
