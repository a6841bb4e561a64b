import { defineCheck, cannotRun, type CheckContext, type EarlyOutcome, type Reported } from '../../core/check.js';
import { findingBuilder } from '../../core/findings.js';
import { guestUnreadable } from '../guest-access.js';
import { FS_MAGIC, fsNameOf } from '../../parse/fs-magic.js';
import { describeMount, lookAsUser, mountOf } from '../api-fs-look.js';
import { targetSchrootFstab, type SchrootFstab } from '../schroot-fstab.js';
import { apiMountsFix } from '../../fixes/plans/api-mount-plans.js';
import type { MountEntry } from '../../parse/mountinfo.js';
import type { ApiFsResponse } from '../../core/api-fs-types.js';
import type { TargetKind } from '../../core/types.js';

const findings = {
  'pts-not-devpts': {
    severity: 'fail',
    message:
      '/dev/pts in the guest is {what}, not devpts, so apt prints "E: Can not write log (Is /dev/pts mounted?) - posix_openpt ({apt})" and script says "failed to create pseudo-terminal: {script}"',
    description:
      '/dev/pts is not a devpts mount: "E: Can not write log (Is /dev/pts mounted?) - posix_openpt (19: No such device)", "script: failed to create pseudo-terminal".',
  },
  'ptmx-missing': {
    severity: 'fail',
    message: '/dev/ptmx does not exist in the guest, so script says "failed to create pseudo-terminal: No such file or directory"',
    description: '/dev/ptmx does not exist.',
  },
  'pty-open-failed': {
    severity: 'fail',
    message: '{user} cannot open /dev/ptmx: {why}, so script says "failed to create pseudo-terminal: {script}"',
    description: 'The user cannot open /dev/ptmx: ENODEV (a non-recursive /dev bind), EACCES (ptmxmode=000, nodev).',
  },
  'pty-not-owned': {
    severity: 'fail',
    message: 'the pty {user} gets (/dev/pts/{index}) {why}, so the user cannot use its own terminals',
    description: 'The pty the user gets is not its own (devpts uid=, systemd#337) or not read-write for it.',
  },
  'devpts-gid': {
    severity: 'warn',
    message:
      "devpts on /dev/pts gives ptys group {gid}, but the guest's tty group is {ttyGid}: write, wall and mesg cannot reach terminals",
    description: "devpts gid= is not the guest's tty group.",
  },
  'pts-ok': {
    severity: 'info',
    message: '/dev/pts is devpts and {user} opened a pty (/dev/pts/{index}) it owns',
    description: 'devpts is mounted and the user can open a pty.',
  },
} as const;

const fixDocs = {
  'dev.mount-devpts':
    "chroot: mount --make-rslave ROOT/dev (when it is a mount), then mount -t devpts -o newinstance,ptmxmode=0666,mode=0620,gid=5 devpts ROOT/dev/pts and bind ROOT/dev/pts/ptmx over ROOT/dev/ptmx (or --rbind /dev); schroot: the /dev/pts line of the profile's fstab, file and line named; nspawn provides devpts itself.",
} as const;

interface Facts {
  look: ApiFsResponse;
  mounts: MountEntry[];
  /** The guest's `tty` group id, from its /etc/group. */
  ttyGid: number | null;
  fstab: SchrootFstab | null;
  kind: TargetKind;
  root: string;
  machine: string | null;
  user: { uid: number; name: string };
}

// What it looks at: devpts on /dev/pts, /dev/ptmx, and a pty opened as the desktop user with its slave's owner.
async function gather(ctx: CheckContext): Promise<Facts | EarlyOutcome> {
  const denied = await guestUnreadable(ctx);
  if (denied) return denied;
  const { target } = ctx;
  let look: ApiFsResponse;
  try {
    look = await lookAsUser(ctx, { statfs: ['/dev/pts'], nodes: ['/dev/ptmx'], pty: { ptmx: '/dev/ptmx', ptsDir: '/dev/pts' } });
  } catch (error) {
    return cannotRun(`could not look at the guest's /dev/pts: ${(error as Error).message}`);
  }
  const [mounts, group, fstab] = await Promise.all([target.mounts(), target.readFile('/etc/group'), targetSchrootFstab(ctx)]);
  const tty = group.ok ? /^tty:[^:]*:(\d+):/m.exec(group.text)?.[1] : undefined;
  return {
    look,
    mounts,
    ttyGid: tty === undefined ? null : Number(tty),
    fstab,
    kind: target.kind,
    root: target.root,
    machine: target.nspawn?.machine ?? null,
    user: { uid: target.user.uid, name: target.user.name },
  };
}

/** The text after apt's "posix_openpt (" and after script's "failed to create pseudo-terminal: " for an errno. */
const APT: Record<string, string> = {
  ENODEV: '19: No such device',
  ENOENT: '2: No such file or directory',
  EACCES: '13: Permission denied',
};
const SCRIPT: Record<string, string> = { ENODEV: 'No such device', ENOENT: 'No such file or directory', EACCES: 'Permission denied' };

const found = findingBuilder(findings);

// How it decides: a devpts instance, a ptmx that opens, and a slave the user owns.
function judge(f: Facts) {
  const out: Reported<typeof findings>[] = [];
  const fs = f.look.filesystems[0];
  const ptmx = f.look.nodes[0];
  const pty = f.look.pty;
  const ptsMount = mountOf(f.mounts, '/dev/pts');
  const ev = {
    statfsType: fs?.type ?? null,
    ptmx: ptmx ? { type: ptmx.type, rdev: ptmx.major === null ? null : `${ptmx.major}:${ptmx.minor}` } : null,
    pty,
    mount: describeMount(ptsMount),
    user: f.user.name,
  };
  const errno = pty?.errno ?? 'ENODEV';
  if (fs && fs.type !== FS_MAGIC.devpts)
    out.push(
      found(
        'pts-not-devpts',
        { what: fs.errno ? `missing (${fs.errno})` : fsNameOf(fs.type), apt: APT[errno] ?? errno, script: SCRIPT[errno] ?? errno },
        ev,
      ),
    );
  if (ptmx?.type === 'missing') out.push(found('ptmx-missing', {}, ev));
  else if (pty && !pty.ok && !out.some((r) => r.code === 'pts-not-devpts')) {
    const why =
      errno === 'ENODEV'
        ? 'there is no devpts instance beside it (a non-recursive /dev bind leaves /dev/pts an empty directory)'
        : errno === 'EACCES'
          ? 'it is not usable by the user (devpts ptmxmode=000, or /dev on a nodev mount)'
          : `open failed with ${errno}`;
    out.push(found('pty-open-failed', { user: f.user.name, why, script: SCRIPT[errno] ?? errno }, ev));
  }
  if (pty?.ok && pty.slave) {
    const index = pty.index ?? '?';
    if (pty.slave.uid !== f.user.uid)
      out.push(
        found(
          'pty-not-owned',
          { user: f.user.name, index, why: `belongs to uid ${pty.slave.uid}, not ${f.user.uid} (devpts mounted with uid=)` },
          ev,
        ),
      );
    else if ((pty.slave.mode & 0o600) !== 0o600)
      out.push(
        found(
          'pty-not-owned',
          { user: f.user.name, index, why: `has mode ${pty.slave.mode.toString(8)}, which does not let its owner read and write it` },
          ev,
        ),
      );
  }
  const gid = ptsMount?.superOptions.find((o) => o.startsWith('gid='))?.slice(4);
  if (ptsMount?.fsType === 'devpts' && f.ttyGid !== null && gid !== undefined && Number(gid) !== f.ttyGid)
    out.push(found('devpts-gid', { gid, ttyGid: f.ttyGid }, { ...ev, gid: Number(gid), ttyGid: f.ttyGid }));
  if (out.length > 0) return out;
  return {
    findings: [found('pts-ok', { user: f.user.name, index: pty?.index ?? '?' }, ev)],
    summary: `/dev/pts is devpts; ${f.user.name} opened /dev/pts/${pty?.index ?? '?'}`,
  };
}

// What it offers: a private devpts instance (chroot), the fstab line (schroot), or the guest's own setup (nspawn).
function offer(f: Facts, reported: readonly Reported<typeof findings>[]) {
  if (!reported.some((r) => r.code !== 'devpts-gid' && r.code !== 'pts-ok')) return [];
  return [apiMountsFix('dev.mount-devpts', 'Give the guest its own devpts on /dev/pts', f.kind, f.root, ['/dev/pts'], f.fstab, f.machine)];
}

export default defineCheck({
  id: 'dev.pts',
  group: 'dev',
  title: 'devpts and a pty the user can open',
  description:
    'Checks that statfs of /dev/pts says devpts (0x1cd1); /dev/ptmx must open read-write as the desktop user, and the slave it hands out (found through the master\'s tty-index) must belong to that user. Reports ENODEV (a non-recursive /dev bind: /dev/pts is an empty directory), ENOENT (no ptmx) and EACCES (ptmxmode=000, nodev), and a devpts gid= that is not the guest\'s tty group. apt says "Can not write log (Is /dev/pts mounted?)"; script says "failed to create pseudo-terminal".',
  findings,
  fixDocs,
  probes: ['user'],
  appliesTo: (ctx) => (ctx.target.kind === 'host' ? 'no guest chosen: /dev/pts is checked inside a guest' : true),
  gather,
  judge,
  offer,
});
