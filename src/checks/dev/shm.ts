import { defineCheck, cannotRun, type CheckContext, type EarlyOutcome, type Reported } from '../../core/check.js';
import { findingBuilder } from '../../core/findings.js';
import { guestUnreadable } from '../guest-access.js';
import { FS_MAGIC, fsNameOf } from '../../parse/fs-magic.js';
import { describeMount, lookAsUser, mountOf } from '../api-fs-look.js';
import { targetSchrootFstab, type SchrootFstab } from '../schroot-fstab.js';
import { apiMountsFix } from '../../fixes/plans/api-mount-plans.js';
import { makeShmFix } from '../../fixes/plans/shm-plans.js';
import type { MountEntry } from '../../parse/mountinfo.js';
import type { ApiFsResponse } from '../../core/api-fs-types.js';
import type { TargetKind } from '../../core/types.js';

/** Below this much free space Chromium and Electron crash (Docker's 64 MiB default is the classic case). */
const MIN_FREE_BYTES = 64 * 1024 * 1024;
/** What the write test creates: a browser's first segment is about this size. */
const TEST_BYTES = 1024 * 1024;
const PYTHON_SAYS = 'PermissionError: [Errno 13] Permission denied';

const findings = {
  'shm-missing': {
    severity: 'fail',
    message:
      '/dev/shm does not exist in the guest ({errno}), so Python\'s multiprocessing, Chromium and Electron cannot create shared memory ("/dev/shm does not exist or is not writable")',
    description: '/dev/shm does not exist: "/dev/shm does not exist or is not writable".',
  },
  'shm-not-tmpfs': {
    severity: 'warn',
    message: '{path} is {fsType}, not a tmpfs: shared memory is written to that filesystem instead of kept in memory',
    description: '/dev/shm is not a tmpfs (the filesystem it is, is named).',
  },
  'shm-mode': {
    severity: 'fail',
    message: `{user} cannot create shared memory in {path}: it has mode {mode} and owner {owner}, not 1777, so Python's multiprocessing says "${PYTHON_SAYS}" and Chromium asks for "chmod 1777 /dev/shm"`,
    description: `/dev/shm is not mode 1777 and the user cannot create there: "${PYTHON_SAYS}".`,
  },
  'shm-mode-not-1777': {
    severity: 'warn',
    message: '{path} has mode {mode}, not 1777: {user} can write there, other users cannot',
    description: '/dev/shm is not 1777, though the desktop user can still write there.',
  },
  'shm-not-writable': {
    severity: 'fail',
    message: '{user} cannot create a file in {path} although it is mode 1777: {errno}',
    description: 'The user cannot create a file in /dev/shm although its mode allows it (read-only mount, quota).',
  },
  'shm-write-failed': {
    severity: 'fail',
    message: '{user} created a file in {path} but could not size or write {size} into it ({errno}): it is full or over quota',
    description: 'A 1 MiB segment could not be sized or written (full, quota).',
  },
  'shm-small': {
    severity: 'warn',
    message: '{path} has {free} free of {size}: Chromium and Electron crash when shared memory runs out (they need 64 MiB or more)',
    description: 'Under 64 MiB free: browsers crash on it.',
  },
  'shm-ok': {
    severity: 'info',
    message: '{path} is a 1777 tmpfs with {free} free, and {user} made and wrote a {size} segment there',
    description: 'A 1777 tmpfs the user can write, with room.',
  },
} as const;

const fixDocs = {
  'dev.make-shm':
    "Safe, chroot only: create /dev/shm and mount a tmpfs on it (mode=1777,nosuid,nodev) through the directory's descriptor; umount it to undo the mount.",
  'dev.mount-shm':
    'chroot: mount -t tmpfs -o mode=1777,nosuid,nodev shm ROOT/dev/shm (or --rbind /dev); schroot: uncomment "/dev/shm /dev/shm none rw,bind 0 0" in the profile\'s fstab, file and line named; nspawn mounts its own.',
} as const;

interface Facts {
  look: ApiFsResponse;
  mounts: MountEntry[];
  fstab: SchrootFstab | null;
  kind: TargetKind;
  root: string;
  machine: string | null;
  user: string;
}

// What it looks at: what /dev/shm (followed to /run/shm when linked) is, and whether the user can make a segment there.
async function gather(ctx: CheckContext): Promise<Facts | EarlyOutcome> {
  const denied = await guestUnreadable(ctx);
  if (denied) return denied;
  const { target } = ctx;
  let look: ApiFsResponse;
  try {
    look = await lookAsUser(ctx, { statfs: ['/dev/shm'], shm: { dir: '/dev/shm', bytes: TEST_BYTES } });
  } catch (error) {
    return cannotRun(`could not look at the guest's /dev/shm: ${(error as Error).message}`);
  }
  const [mounts, fstab] = await Promise.all([target.mounts(), targetSchrootFstab(ctx)]);
  return { look, mounts, fstab, kind: target.kind, root: target.root, machine: target.nspawn?.machine ?? null, user: target.user.name };
}

const mib = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(bytes < 10 * 1024 * 1024 ? 1 : 0)} MiB`;
const found = findingBuilder(findings);

// How it decides: a 1777 tmpfs the user can create, size and write a segment in, with room for a browser.
function judge(f: Facts) {
  const fs = f.look.filesystems[0];
  const shm = f.look.shm;
  if (!fs) return [];
  const path = fs.resolved ?? '/dev/shm';
  const mount = mountOf(f.mounts, path);
  const free = fs.bavail * fs.bsize;
  const ev = {
    path,
    statfsType: fs.type,
    mode: fs.mode?.toString(8) ?? null,
    owner: fs.uid,
    mount: describeMount(mount),
    test: shm,
    freeBytes: free,
    sizeBytes: fs.blocks * fs.bsize,
    user: f.user,
  };
  if (fs.errno !== null) return [found('shm-missing', { errno: fs.errno }, ev)];
  const out: Reported<typeof findings>[] = [];
  const mode = fs.mode ?? 0;
  const modeText = mode.toString(8).padStart(4, '0');
  if (fs.type !== FS_MAGIC.tmpfs)
    out.push(found('shm-not-tmpfs', { path, fsType: mount && mount.mountPoint === path ? mount.fsType : fsNameOf(fs.type) }, ev));
  if (shm?.stage === 'create' && shm.errno !== null) {
    if ((mode & 0o1777) !== 0o1777) out.push(found('shm-mode', { user: f.user, path, mode: modeText, owner: fs.uid ?? '?' }, ev));
    else out.push(found('shm-not-writable', { user: f.user, path, errno: shm.errno }, ev));
  } else if (shm?.stage === 'write' && shm.errno !== null) {
    out.push(found('shm-write-failed', { user: f.user, path, size: mib(TEST_BYTES), errno: shm.errno }, ev));
  } else if ((mode & 0o1777) !== 0o1777) {
    out.push(found('shm-mode-not-1777', { path, mode: modeText, user: f.user }, ev));
  }
  if (fs.type === FS_MAGIC.tmpfs && free < MIN_FREE_BYTES)
    out.push(found('shm-small', { path, free: mib(free), size: mib(fs.blocks * fs.bsize) }, ev));
  if (out.length > 0) return out;
  return {
    findings: [found('shm-ok', { path, free: mib(free), user: f.user, size: mib(TEST_BYTES) }, ev)],
    summary: `${path}: 1777 tmpfs, ${mib(free)} free, writable by ${f.user}`,
  };
}

// What it offers: for a chroot without /dev/shm, make it (safe); otherwise the mount the container kind needs.
function offer(f: Facts, reported: readonly Reported<typeof findings>[]) {
  const codes = new Set(reported.map((r) => r.code));
  const make = codes.has('shm-missing') && f.kind === 'chroot' ? makeShmFix() : null;
  return [
    make,
    apiMountsFix('dev.mount-shm', 'Mount a 1777 tmpfs on /dev/shm in the guest', f.kind, f.root, ['/dev/shm'], f.fstab, f.machine),
  ];
}

export default defineCheck({
  id: 'dev.shm',
  group: 'dev',
  title: '/dev/shm a writable tmpfs',
  description:
    "Follows /dev/shm (it may link to /run/shm) inside the guest; it must be a tmpfs (0x01021994) of mode 1777 with 64 MiB or more free. As the desktop user, creates a file there, sizes it to 1 MiB, writes its last page and removes it: what Chromium, Electron and Python's multiprocessing do first. Stock schroot profiles leave /dev/shm unmounted (their fstab line is commented out).",
  findings,
  fixDocs,
  probes: ['user'],
  appliesTo: (ctx) => (ctx.target.kind === 'host' ? 'no guest chosen: /dev/shm is checked inside a guest' : true),
  gather,
  judge,
  offer,
});
