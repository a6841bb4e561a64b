import { realpath } from 'node:fs/promises';
import { defineCheck, type CheckContext } from '../../core/check.js';
import { couldNotRun, finding, outcomeOf } from '../../core/outcome.js';
import { FS_MAGIC, fsNameOf } from '../../parse/fs-magic.js';
import { describeMount, lookAsUser, mountOf } from '../../guest/api-fs-look.js';
import { targetSchrootFstab, type SchrootFstab } from '../../host/schroot-fstab.js';
import { apiMountsFix } from '../../fixes/plans/api-mount-plans.js';
import { makeShmFix } from '../../fixes/plans/shm-plans.js';
import type { MountEntry } from '../../parse/mountinfo.js';
import type { ApiFsResponse } from '../../guest/probes/api-fs-protocol.js';
import type { Finding, Fix } from '../../core/types.js';

/** Below this much free space Chromium and Electron crash (Docker's 64 MiB default is the classic case). */
const MIN_FREE_BYTES = 64 * 1024 * 1024;
/** What the write test creates: a browser's first segment is about this size. */
const TEST_BYTES = 1024 * 1024;

export interface DevShmFacts {
  look: ApiFsResponse;
  mounts: MountEntry[];
  fstab: SchrootFstab | null;
  /** The chroot directory with its symlinks resolved on the host, for the mount fix; null for other kinds. */
  hostRoot: string | null;
  kind: CheckContext['target']['kind'];
  root: string;
  machine: string | null;
  user: { uid: number; name: string };
}

/** gather: what /dev/shm (followed to /run/shm when linked) is, and whether the user can make a segment there. */
export async function gatherDevShm(ctx: CheckContext): Promise<DevShmFacts> {
  const { target } = ctx;
  const [look, mounts, fstab, hostRoot] = await Promise.all([
    lookAsUser(ctx, { statfs: ['/dev/shm'], shm: { dir: '/dev/shm', bytes: TEST_BYTES } }),
    target.mounts(),
    targetSchrootFstab(ctx),
    target.kind === 'chroot' ? realpath(target.root).catch(() => null) : Promise.resolve(null),
  ]);
  return { look, mounts, fstab, hostRoot, kind: target.kind, root: target.root, machine: target.nspawn?.machine ?? null, user: { uid: target.user.uid, name: target.user.name } };
}

const mib = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(bytes < 10 * 1024 * 1024 ? 1 : 0)} MiB`;
const PYTHON_SAYS = 'PermissionError: [Errno 13] Permission denied';

/** judge: a 1777 tmpfs the user can create, size and write a segment in, with room for a browser. */
export function judgeDevShm(f: DevShmFacts): Finding[] {
  const fs = f.look.filesystems[0];
  const shm = f.look.shm;
  if (!fs) return [];
  const path = fs.resolved ?? '/dev/shm';
  const mount = mountOf(f.mounts, path);
  const ev = { path, statfsType: fs.type, mode: fs.mode?.toString(8) ?? null, owner: fs.uid, mount: describeMount(mount), test: shm, freeBytes: fs.bavail * fs.bsize, sizeBytes: fs.blocks * fs.bsize, user: f.user.name };
  if (fs.errno !== null) {
    return [finding('shm-missing', 'fail', `/dev/shm does not exist in the guest (${fs.errno}), so Python's multiprocessing, Chromium and Electron cannot create shared memory ("/dev/shm does not exist or is not writable")`, ev)];
  }
  const out: Finding[] = [];
  if (fs.type !== FS_MAGIC.tmpfs) out.push(finding('shm-not-tmpfs', 'warn', `${path} is ${mount && mount.mountPoint === path ? mount.fsType : fsNameOf(fs.type)}, not a tmpfs: shared memory is written to that disk instead of kept in memory`, ev));
  if (shm && shm.stage === 'create' && shm.errno !== null) {
    const mode = fs.mode ?? 0;
    const code = (mode & 0o1777) !== 0o1777 ? 'shm-mode' : 'shm-not-writable';
    const why = code === 'shm-mode' ? `it has mode ${mode.toString(8).padStart(4, '0')} and owner ${fs.uid}, not 1777` : `creating a file there fails with ${shm.errno}`;
    out.push(finding(code, 'fail', `${f.user.name} cannot create shared memory in ${path}: ${why}, so Python's multiprocessing says "${PYTHON_SAYS}" and Chromium asks for "chmod 1777 /dev/shm"`, ev));
  } else if (shm && shm.stage === 'write' && shm.errno !== null) {
    out.push(finding('shm-write-failed', 'fail', `${f.user.name} created a file in ${path} but could not size or write ${mib(TEST_BYTES)} into it (${shm.errno}): it is full or over quota`, ev));
  } else if (fs.mode !== null && (fs.mode & 0o1777) !== 0o1777) {
    out.push(finding('shm-mode', 'warn', `${path} has mode ${fs.mode.toString(8).padStart(4, '0')}, not 1777: ${f.user.name} can write there, other users cannot`, ev));
  }
  const free = fs.bavail * fs.bsize;
  if (fs.type === FS_MAGIC.tmpfs && free < MIN_FREE_BYTES) {
    out.push(finding('shm-small', 'warn', `${path} has ${mib(free)} free of ${mib(fs.blocks * fs.bsize)}: Chromium and Electron crash when shared memory runs out (they need 64 MiB or more)`, ev));
  }
  if (out.length === 0) out.push(finding('shm-ok', 'info', `${path} is a 1777 tmpfs with ${mib(free)} free, and ${f.user.name} made and wrote a ${mib(TEST_BYTES)} segment there`, ev));
  return out;
}

/** offer: for a chroot without /dev/shm, make it (safe); otherwise the mount the container kind needs. */
export function offerDevShm(f: DevShmFacts, findings: Finding[]): Fix[] {
  const codes = new Set(findings.filter((x) => x.severity !== 'info').map((x) => x.code));
  if (codes.size === 0) return [];
  const fixes: Fix[] = [];
  if (codes.has('shm-missing') && f.kind === 'chroot' && f.hostRoot !== null) fixes.push(makeShmFix(f.hostRoot));
  fixes.push(apiMountsFix('dev.mount-shm', 'Mount a 1777 tmpfs on /dev/shm in the guest', f.kind, f.root, ['/dev/shm'], f.fstab, f.machine));
  return fixes;
}

export default defineCheck({
  id: 'dev.shm',
  group: 'dev',
  title: '/dev/shm a writable tmpfs',
  description: 'Follows /dev/shm (it may link to /run/shm) inside the guest; it must be a tmpfs (0x01021994) of mode 1777 with 64 MiB or more free. As the desktop user, creates a file there, sizes it to 1 MiB, writes its last page and removes it: what Chromium, Electron and Python\'s multiprocessing do first. Stock schroot profiles leave /dev/shm unmounted (their fstab line is commented out).',
  findings: {
    'shm-missing': { severity: 'fail', description: '/dev/shm does not exist: "/dev/shm does not exist or is not writable".' },
    'shm-not-tmpfs': { severity: 'warn', description: '/dev/shm is not a tmpfs (the filesystem it is, is named).' },
    'shm-mode': { severity: 'fail', description: '/dev/shm is not mode 1777 and the user cannot create there: "PermissionError: [Errno 13] Permission denied" (warn when the user still can).' },
    'shm-not-writable': { severity: 'fail', description: 'The user cannot create a file in /dev/shm although its mode allows it (read-only, quota).' },
    'shm-write-failed': { severity: 'fail', description: 'A 1 MiB segment could not be sized or written (full, quota).' },
    'shm-small': { severity: 'warn', description: 'Under 64 MiB free: browsers crash on it.' },
    'shm-ok': { severity: 'info', description: 'A 1777 tmpfs the user can write, with room.' },
  },
  fixDocs: {
    'dev.make-shm': 'Safe, chroot only: create /dev/shm (1777) and mount a tmpfs on it (mode=1777,nosuid,nodev); the mount is undone with umount.',
    'dev.mount-shm': 'chroot: mount -t tmpfs -o mode=1777,nosuid,nodev shm ROOT/dev/shm (or --rbind /dev); schroot: uncomment "/dev/shm /dev/shm none rw,bind 0 0" in the profile\'s fstab, file and line named; nspawn mounts its own.',
  },
  appliesTo: (ctx) => (ctx.target.kind === 'host' ? 'no guest chosen: /dev/shm is checked inside a guest' : true),
  probes: ['user'],

  async run(ctx) {
    let facts: DevShmFacts;
    try {
      facts = await gatherDevShm(ctx);
    } catch (error) {
      return couldNotRun(`could not look at the guest's /dev/shm: ${(error as Error).message}`);
    }
    const findings = judgeDevShm(facts);
    return outcomeOf(findings, offerDevShm(facts, findings));
  },
});
