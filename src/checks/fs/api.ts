import { defineCheck, cannotRun, type CheckContext, type EarlyOutcome, type Reported } from '../../core/check.js';
import { findingBuilder } from '../../core/findings.js';
import { guestUnreadable } from '../guest-access.js';
import { FS_MAGIC, fsNameOf } from '../../parse/fs-magic.js';
import { describeMount, lookAsUser, mountOf } from '../api-fs-look.js';
import { sharesOurPidns } from '../../host/pid-namespace.js';
import { targetSchrootFstab, type SchrootFstab } from '../schroot-fstab.js';
import { apiMountsFix, type ApiMount } from '../../fixes/plans/api-mount-plans.js';
import { manual } from '../../fixes/plans/manual-steps.js';
import { shellQuote } from '../../fixes/plans/shell-quote.js';
import type { MountEntry } from '../../parse/mountinfo.js';
import type { ApiFsResponse, NodeInfo } from '../../core/api-fs-types.js';
import type { Fix, TargetKind } from '../../core/types.js';

/** The nodes every program may open, with their device numbers (the kernel's devices.txt). */
const NODES: readonly { path: string; major: number; minor: number }[] = [
  { path: '/dev/null', major: 1, minor: 3 },
  { path: '/dev/zero', major: 1, minor: 5 },
  { path: '/dev/full', major: 1, minor: 7 },
  { path: '/dev/random', major: 1, minor: 8 },
  { path: '/dev/urandom', major: 1, minor: 9 },
  { path: '/dev/tty', major: 5, minor: 0 },
];

const findings = {
  'proc-not-mounted': {
    severity: 'fail',
    message:
      '/proc in the guest is {what}, so ps says "Error, do this: mount -t proc proc /proc" and glibc, systemd-tmpfiles and rustup fail',
    description: '/proc is not procfs: "Error, do this: mount -t proc proc /proc" (procps), glibc and systemd-tmpfiles fail.',
  },
  'proc-self-exe-unreadable': {
    severity: 'fail',
    message: '/proc is mounted but /proc/self/exe cannot be read as {user} ({errno}): rustup and other self-locating programs fail',
    description: '/proc/self/exe cannot be read (rustup needs it).',
  },
  'sys-not-mounted': {
    severity: 'warn',
    message: '/sys in the guest is {what}, so lsblk cannot read /sys/dev/block and libudev finds no devices',
    description: '/sys is not sysfs: lsblk and libudev fail.',
  },
  'dev-node-missing': {
    severity: 'fail',
    message:
      '{path} does not exist in the guest ({dev}), so shells print "cannot create {path}: Permission denied" or "No such file or directory"',
    description: 'A basic device node is missing (/dev is not mounted, or is an empty tmpfs).',
  },
  'dev-node-clobbered': {
    severity: 'fail',
    message:
      '{path} is a regular file of {size} byte(s), not a device: something wrote to it before /dev was mounted, and now {user} gets "sh: 1: cannot create {path}: Permission denied"',
    description:
      'A device node is a regular file: something wrote to it before /dev was mounted ("cannot create /dev/null: Permission denied").',
  },
  'dev-node-wrong-type': {
    severity: 'fail',
    message: '{path} is a {type}, not a character device',
    description: 'A device node is a directory, symlink or other non-device.',
  },
  'dev-node-wrong-device': {
    severity: 'fail',
    message: '{path} is device {rdev}, not {want}',
    description: 'A device node has the wrong major:minor.',
  },
  'dev-node-mode': {
    severity: 'fail',
    message: '{path} has mode {mode}, not 0666: {user} gets "{path}: Permission denied"',
    description: 'A device node is not mode 0666, so the user gets Permission denied.',
  },
  'dev-nodev': {
    severity: 'fail',
    message: '{path} is on {mountPoint} ({fsType}), mounted nodev, so opening it gives "{path}: Permission denied" even to root',
    description: 'The device node sits on a nodev mount: open fails with Permission denied.',
  },
  'dev-node-unusable': {
    severity: 'fail',
    message: '{user} cannot open {path} read-write: {errno}',
    description: 'The user cannot open a node read-write for another reason (the errno is quoted).',
  },
  'api-fs-ok': {
    severity: 'info',
    message: '/proc is procfs, /sys is sysfs, and {user} can open {nodes}',
    description: 'All of it is in place.',
  },
} as const;

const fixDocs = {
  'fs.mount-api':
    "chroot: mount -t proc proc ROOT/proc; mount --rbind /sys and /dev, each followed by mount --make-rslave; schroot: the /proc, /sys and /dev lines of the profile's fstab, file and line named; nspawn mounts them itself, so something in the guest replaced them.",
  'fs.recreate-nodes': "rm the clobbered file and mknod -m 666 it again with its device numbers (when /dev is the guest's own directory).",
} as const;

interface Facts {
  look: ApiFsResponse;
  mounts: MountEntry[];
  /** /proc/self in the guest's /proc can name us only when we share its PID namespace. */
  sharesPidns: boolean;
  fstab: SchrootFstab | null;
  kind: TargetKind;
  root: string;
  machine: string | null;
  user: string;
}

// What it looks at: statfs of /proc and /sys, each node lstat'ed and opened read-write as the desktop user.
async function gather(ctx: CheckContext): Promise<Facts | EarlyOutcome> {
  const denied = await guestUnreadable(ctx);
  if (denied) return denied;
  const { target } = ctx;
  let look: ApiFsResponse;
  try {
    look = await lookAsUser(ctx, { statfs: ['/proc', '/sys'], nodes: NODES.map((n) => n.path), selfExe: true });
  } catch (error) {
    return cannotRun(`could not look at the guest's /proc, /sys and /dev: ${(error as Error).message}`);
  }
  const [mounts, sharesPidns, fstab] = await Promise.all([target.mounts(), sharesOurPidns(ctx.host, target.pid), targetSchrootFstab(ctx)]);
  return {
    look,
    mounts,
    sharesPidns,
    fstab,
    kind: target.kind,
    root: target.root,
    machine: target.nspawn?.machine ?? null,
    user: target.user.name,
  };
}

const found = findingBuilder(findings);
const hasOption = (m: MountEntry | null, o: string): boolean => m !== null && m.mountOptions.includes(o);

/** One node's problem, or null when it is a working device. */
function judgeNode(f: Facts, want: (typeof NODES)[number], n: NodeInfo): Reported<typeof findings> | null {
  const mount = mountOf(f.mounts, want.path);
  const { path } = want;
  const rdev = n.major === null ? null : `${n.major}:${n.minor}`;
  const ev = { path, type: n.type, rdev, mode: n.mode.toString(8), openErrno: n.openErrno, mount: describeMount(mount), user: f.user };
  if (n.type === 'missing')
    return found(
      'dev-node-missing',
      { path, dev: mount && mount.mountPoint === '/dev' ? `/dev is a ${mount.fsType} without it` : '/dev is not mounted' },
      ev,
    );
  if (n.type === 'file') return found('dev-node-clobbered', { path, size: n.size, user: f.user }, ev);
  if (n.type !== 'char') return found('dev-node-wrong-type', { path, type: n.type }, ev);
  if (n.major !== want.major || n.minor !== want.minor)
    return found('dev-node-wrong-device', { path, rdev: rdev ?? '?', want: `${want.major}:${want.minor}` }, ev);
  // /dev/tty answers ENXIO to a process without a controlling terminal, as the probe is: the node itself works.
  if (n.openErrno === null || (path === '/dev/tty' && n.openErrno === 'ENXIO')) return null;
  if ((n.openErrno === 'EACCES' || n.openErrno === 'EPERM') && hasOption(mount, 'nodev'))
    return found('dev-nodev', { path, mountPoint: mount!.mountPoint, fsType: mount!.fsType }, ev);
  if (n.openErrno === 'EACCES' && (n.mode & 0o666) !== 0o666)
    return found('dev-node-mode', { path, mode: n.mode.toString(8).padStart(4, '0'), user: f.user }, ev);
  return found('dev-node-unusable', { path, user: f.user, errno: n.openErrno }, ev);
}

// How it decides: procfs and sysfs where they belong, and six working nodes.
function judge(f: Facts) {
  const out: Reported<typeof findings>[] = [];
  const [proc, sys] = f.look.filesystems;
  const what = (fs: NonNullable<typeof proc>, want: string) =>
    fs.errno ? `unreachable (${fs.errno})` : `${fsNameOf(fs.type)}, not ${want}`;
  if (proc && proc.type !== FS_MAGIC.proc)
    out.push(
      found(
        'proc-not-mounted',
        { what: what(proc, 'procfs') },
        { statfsType: proc.type, errno: proc.errno, mount: describeMount(mountOf(f.mounts, '/proc')) },
      ),
    );
  else if (f.look.selfExe && !f.look.selfExe.readable && f.sharesPidns)
    out.push(found('proc-self-exe-unreadable', { user: f.user, errno: f.look.selfExe.errno ?? 'EIO' }, { errno: f.look.selfExe.errno }));
  if (sys && sys.type !== FS_MAGIC.sysfs)
    out.push(
      found(
        'sys-not-mounted',
        { what: what(sys, 'sysfs') },
        { statfsType: sys.type, errno: sys.errno, mount: describeMount(mountOf(f.mounts, '/sys')) },
      ),
    );
  NODES.forEach((want, i) => {
    const n = f.look.nodes[i];
    const problem = n ? judgeNode(f, want, n) : null;
    if (problem) out.push(problem);
  });
  if (out.length > 0) return out;
  return {
    findings: [found('api-fs-ok', { user: f.user, nodes: NODES.map((n) => n.path).join(', ') })],
    summary: `/proc procfs, /sys sysfs, ${NODES.length} device nodes usable by ${f.user}`,
  };
}

// What it offers: the mounts per container kind; for a clobbered node under a /dev the guest owns, recreate it.
function offer(f: Facts, reported: readonly Reported<typeof findings>[]) {
  const codes = new Set(reported.map((r) => r.code));
  const mounts: ApiMount[] = [];
  if (codes.has('proc-not-mounted')) mounts.push('/proc');
  if (codes.has('sys-not-mounted')) mounts.push('/sys');
  const devMount = mountOf(f.mounts, '/dev');
  const devIsHosts = devMount !== null && devMount.mountPoint === '/dev' && devMount.fsType === 'devtmpfs';
  if (reported.some((r) => r.code.startsWith('dev-')) && !devIsHosts) mounts.push('/dev');
  const remade = reported.flatMap((r) =>
    r.code === 'dev-node-clobbered' || r.code === 'dev-node-wrong-device' ? [NODES.find((n) => n.path === r.data.path)!] : [],
  );
  const recreate: Fix<'fs.recreate-nodes'> | null =
    remade.length > 0 && (f.kind === 'chroot' || f.kind === 'schroot')
      ? {
          id: 'fs.recreate-nodes',
          title: `Recreate ${remade.map((n) => n.path).join(', ')} as device nodes`,
          safety: 'manual',
          steps: [
            manual(
              "on the host, when the guest's /dev is its own directory (not the host's /dev bound in)",
              remade
                .map(
                  (n) =>
                    `rm -f ${shellQuote(`${f.root}${n.path}`)} && mknod -m 666 ${shellQuote(`${f.root}${n.path}`)} c ${n.major} ${n.minor}`,
                )
                .join('\n'),
            ),
          ],
        }
      : null;
  return [
    mounts.length > 0
      ? apiMountsFix('fs.mount-api', `Mount ${mounts.join(', ')} in the guest`, f.kind, f.root, mounts, f.fstab, f.machine)
      : null,
    recreate,
  ];
}

export default defineCheck({
  id: 'fs.api',
  group: 'fs',
  title: '/proc, /sys and the basic /dev nodes',
  description:
    "Checks the guest's API filesystems from inside its root: statfs of /proc must say procfs (0x9fa0) with /proc/self/exe readable, /sys sysfs (0x62656572); /dev/null, zero, full, random, urandom and tty must be character devices with the right numbers, opened read-write as the desktop user. Tells apart a missing node, one clobbered into a regular file, the wrong device, a bad mode and a nodev mount.",
  findings,
  fixDocs,
  probes: ['user'],
  appliesTo: (ctx) => (ctx.target.kind === 'host' ? 'no guest chosen: the API filesystems are checked inside a guest' : true),
  gather,
  judge,
  offer,
});
