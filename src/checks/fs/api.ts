import { defineCheck, type CheckContext } from '../../core/check.js';
import { couldNotRun, finding, outcomeOf } from '../../core/outcome.js';
import { FS_MAGIC, fsNameOf } from '../../parse/fs-magic.js';
import { describeMount, lookAsUser, mountOf } from '../../guest/api-fs-look.js';
import { sharesOurPidns } from '../../host/pid-namespace.js';
import { targetSchrootFstab, type SchrootFstab } from '../../host/schroot-fstab.js';
import { apiMountsFix, type ApiMount } from '../../fixes/plans/api-mount-plans.js';
import { manual, shellQuoted } from '../../fixes/plans/manual-steps.js';
import type { MountEntry } from '../../parse/mountinfo.js';
import type { ApiFsResponse, NodeInfo } from '../../guest/probes/api-fs-protocol.js';
import type { Finding, Fix } from '../../core/types.js';

/** The nodes every program may open, with their device numbers (devices.txt) and whether missing one is fatal. */
const NODES: readonly { path: string; major: number; minor: number; fatal: boolean }[] = [
  { path: '/dev/null', major: 1, minor: 3, fatal: true },
  { path: '/dev/zero', major: 1, minor: 5, fatal: true },
  { path: '/dev/full', major: 1, minor: 7, fatal: false },
  { path: '/dev/random', major: 1, minor: 8, fatal: true },
  { path: '/dev/urandom', major: 1, minor: 9, fatal: true },
  { path: '/dev/tty', major: 5, minor: 0, fatal: false },
];

export interface FsApiFacts {
  look: ApiFsResponse;
  mounts: MountEntry[];
  /** /proc/self in the guest's /proc can name us only when we share its PID namespace. */
  sharesPidns: boolean;
  fstab: SchrootFstab | null;
  kind: CheckContext['target']['kind'];
  root: string;
  machine: string | null;
  user: { uid: number; name: string };
}

/** gather: statfs of /proc and /sys, each node lstat'ed and opened read-write as the desktop user. */
export async function gatherFsApi(ctx: CheckContext): Promise<FsApiFacts> {
  const [look, mounts, sharesPidns, fstab] = await Promise.all([
    lookAsUser(ctx, { statfs: ['/proc', '/sys'], nodes: NODES.map((n) => n.path), selfExe: true }),
    ctx.target.mounts(),
    sharesOurPidns(ctx.target.pid),
    targetSchrootFstab(ctx),
  ]);
  const { target } = ctx;
  return { look, mounts, sharesPidns, fstab, kind: target.kind, root: target.root, machine: target.nspawn?.machine ?? null, user: { uid: target.user.uid, name: target.user.name } };
}

const hasOption = (m: MountEntry | null, o: string): boolean => m !== null && m.mountOptions.includes(o);

/** One node's problem, or null when it is a working device. */
function judgeNode(f: FsApiFacts, want: (typeof NODES)[number], n: NodeInfo): Finding | null {
  const sev = want.fatal ? 'fail' : 'warn';
  const mount = mountOf(f.mounts, want.path);
  const ev = { path: want.path, type: n.type, rdev: n.major === null ? null : `${n.major}:${n.minor}`, mode: n.mode.toString(8), openErrno: n.openErrno, mount: describeMount(mount), user: f.user.name };
  if (n.type === 'missing') return finding('dev-node-missing', sev, `${want.path} does not exist in the guest (/dev is ${mount && mount.mountPoint === '/dev' ? `a ${mount.fsType} without device nodes` : 'not mounted'}), so shells print "cannot create ${want.path}: Permission denied" or "No such file or directory"`, ev);
  if (n.type === 'file') return finding('dev-node-clobbered', sev, `${want.path} is a regular file of ${n.size} byte(s), not a device: something wrote to it before /dev was mounted, and now "sh: 1: cannot create ${want.path}: Permission denied" as ${f.user.name}`, ev);
  if (n.type !== 'char') return finding('dev-node-wrong-type', sev, `${want.path} is a ${n.type}, not a character device`, ev);
  if (n.major !== want.major || n.minor !== want.minor) return finding('dev-node-wrong-device', sev, `${want.path} is device ${n.major}:${n.minor}, not ${want.major}:${want.minor}`, ev);
  // /dev/tty answers ENXIO to a process without a controlling terminal, as the probe is: the node itself works.
  if (n.openErrno === null || (want.path === '/dev/tty' && n.openErrno === 'ENXIO')) return null;
  if ((n.openErrno === 'EACCES' || n.openErrno === 'EPERM') && hasOption(mount, 'nodev')) {
    return finding('dev-nodev', sev, `${want.path} is on ${mount!.mountPoint} (${mount!.fsType}), mounted nodev, so opening it gives "${want.path}: Permission denied" even as root`, ev);
  }
  if (n.openErrno === 'EACCES' && (n.mode & 0o666) !== 0o666) return finding('dev-node-mode', sev, `${want.path} has mode ${n.mode.toString(8).padStart(4, '0')}, not 0666: ${f.user.name} gets "${want.path}: Permission denied"`, ev);
  return finding('dev-node-unusable', sev, `${f.user.name} cannot open ${want.path} read-write: ${n.openErrno}`, ev);
}

/** judge: procfs and sysfs where they belong, and six working nodes. */
export function judgeFsApi(f: FsApiFacts): Finding[] {
  const out: Finding[] = [];
  const [proc, sys] = f.look.filesystems;
  if (proc && proc.type !== FS_MAGIC.proc) {
    const m = mountOf(f.mounts, '/proc');
    out.push(finding('proc-not-mounted', 'fail', `/proc in the guest is ${proc.errno ? `unreachable (${proc.errno})` : `${fsNameOf(proc.type)}, not procfs`}, so ps says "Error, do this: mount -t proc proc /proc" and glibc, systemd-tmpfiles and rustup fail`, { statfsType: proc.type, errno: proc.errno, mount: describeMount(m) }));
  } else if (f.look.selfExe && !f.look.selfExe.readable && f.sharesPidns) {
    out.push(finding('proc-self-exe-unreadable', 'fail', `/proc is mounted but /proc/self/exe cannot be read as ${f.user.name} (${f.look.selfExe.errno}): rustup and other self-locating programs fail`, { errno: f.look.selfExe.errno }));
  }
  if (sys && sys.type !== FS_MAGIC.sysfs) {
    out.push(finding('sys-not-mounted', 'warn', `/sys in the guest is ${sys.errno ? `unreachable (${sys.errno})` : `${fsNameOf(sys.type)}, not sysfs`}, so lsblk says "failed to access sysfs directory: /sys/dev/block" and libudev finds no devices`, { statfsType: sys.type, errno: sys.errno, mount: describeMount(mountOf(f.mounts, '/sys')) }));
  }
  NODES.forEach((want, i) => {
    const n = f.look.nodes[i];
    const problem = n ? judgeNode(f, want, n) : null;
    if (problem) out.push(problem);
  });
  if (out.length === 0) out.push(finding('api-fs-ok', 'info', `/proc is procfs, /sys is sysfs, and ${f.user.name} can open ${NODES.map((n) => n.path).join(', ')}`, {}));
  return out;
}

/** offer: the mounts per container kind; for a clobbered node under a /dev the guest owns, recreate it. */
export function offerFsApi(f: FsApiFacts, findings: Finding[]): Fix[] {
  const codes = new Set(findings.map((x) => x.code));
  const mounts: ApiMount[] = [];
  if (codes.has('proc-not-mounted')) mounts.push('/proc');
  if (codes.has('sys-not-mounted')) mounts.push('/sys');
  const devMount = mountOf(f.mounts, '/dev');
  const devIsHosts = devMount !== null && devMount.mountPoint === '/dev' && devMount.fsType === 'devtmpfs';
  const nodeProblems = findings.filter((x) => x.code.startsWith('dev-node') || x.code === 'dev-nodev');
  if (nodeProblems.length > 0 && !devIsHosts) mounts.push('/dev');
  const fixes: Fix[] = [];
  if (mounts.length > 0) fixes.push(apiMountsFix('fs.mount-api', `Mount ${mounts.join(', ')} in the guest`, f.kind, f.root, mounts, f.fstab, f.machine));
  const clobbered = findings.filter((x) => x.code === 'dev-node-clobbered' || x.code === 'dev-node-wrong-device');
  if (clobbered.length > 0 && (f.kind === 'chroot' || f.kind === 'schroot')) {
    const made = clobbered.map((x) => NODES.find((n) => n.path === x.evidence.path)!).map((n) => `rm -f ${shellQuoted(`${f.root}${n.path}`)} && mknod -m 666 ${shellQuoted(`${f.root}${n.path}`)} c ${n.major} ${n.minor}`);
    fixes.push({ id: 'fs.recreate-nodes', title: `Recreate ${clobbered.map((x) => String(x.evidence.path)).join(', ')} as device nodes`, safety: 'manual', steps: [manual('on the host, when the guest\'s /dev is its own directory (not the host\'s /dev bound in)', made.join('\n'))] });
  }
  return fixes;
}

export default defineCheck({
  id: 'fs.api',
  group: 'fs',
  title: '/proc, /sys and the basic /dev nodes',
  description: 'Checks the guest\'s API filesystems from inside its root: statfs of /proc must say procfs (0x9fa0) with /proc/self/exe readable, /sys sysfs (0x62656572); /dev/null, zero, full, random, urandom and tty must be character devices with the right numbers, opened read-write as the desktop user. Tells apart a missing node, one clobbered into a regular file, the wrong device, a bad mode and a nodev mount.',
  findings: {
    'proc-not-mounted': { severity: 'fail', description: '/proc is not procfs: "Error, do this: mount -t proc proc /proc" (procps), glibc and systemd-tmpfiles fail.' },
    'proc-self-exe-unreadable': { severity: 'fail', description: '/proc/self/exe cannot be read (rustup needs it).' },
    'sys-not-mounted': { severity: 'warn', description: '/sys is not sysfs: lsblk and libudev fail.' },
    'dev-node-missing': { severity: 'fail', description: 'A basic device node is missing (warn for /dev/full and /dev/tty).' },
    'dev-node-clobbered': { severity: 'fail', description: 'A device node is a regular file: something wrote to it before /dev was mounted ("cannot create /dev/null: Permission denied").' },
    'dev-node-wrong-type': { severity: 'fail', description: 'A device node is a directory, symlink or other non-device.' },
    'dev-node-wrong-device': { severity: 'fail', description: 'A device node has the wrong major:minor.' },
    'dev-node-mode': { severity: 'fail', description: 'A device node is not mode 0666, so the user gets Permission denied.' },
    'dev-nodev': { severity: 'fail', description: 'The device node sits on a nodev mount: open fails with Permission denied.' },
    'dev-node-unusable': { severity: 'fail', description: 'The user cannot open a node read-write for another reason (the errno is quoted).' },
    'api-fs-ok': { severity: 'info', description: 'All of it is in place.' },
  },
  fixDocs: {
    'fs.mount-api': 'chroot: mount -t proc proc ROOT/proc; mount --rbind /sys and /dev, each followed by mount --make-rslave; schroot: the /proc, /sys and /dev lines of the profile\'s fstab, file and line named; nspawn mounts them itself, so the guest replaced them.',
    'fs.recreate-nodes': 'rm the clobbered file and mknod -m 666 it again with its device numbers.',
  },
  appliesTo: (ctx) => (ctx.target.kind === 'host' ? 'no guest chosen: the API filesystems are checked inside a guest' : true),
  probes: ['user'],

  async run(ctx) {
    let facts: FsApiFacts;
    try {
      facts = await gatherFsApi(ctx);
    } catch (error) {
      return couldNotRun(`could not look at the guest's /proc, /sys and /dev: ${(error as Error).message}`);
    }
    const findings = judgeFsApi(facts);
    return outcomeOf(findings, offerFsApi(facts, findings));
  },
});
