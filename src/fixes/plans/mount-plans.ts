import type { Fix, FixStep, UmountStep } from '../../core/types.js';
import { nspawnFileStep } from './manual-steps.js';
import { hostPathInRoot, shellQuote } from './shell-quote.js';
import type { MountHolder, UnmountUnit } from '../../core/host.js';

export { shellQuote } from './shell-quote.js';

function umountStep(unit: UnmountUnit, lazy: boolean): UmountStep {
  const what = unit.recursive ? `${unit.members.length} mounts at and below ${unit.path}` : unit.path;
  return {
    kind: 'umount',
    where: 'host',
    path: unit.path,
    recursive: unit.recursive,
    // Always first: a shared rbind would otherwise carry the unmount back to the host's own /dev/pts, /dev/shm…
    makeRslave: true,
    lazy,
    description: `${lazy ? 'lazily detach' : 'unmount'} ${what} (mount --make-rslave first, so nothing propagates to the host)`,
  };
}

/** The command lines a step stands for, for people who prefer to run them by hand. */
export function umountCommands(unit: UnmountUnit, lazy = false): string {
  const p = shellQuote(unit.path);
  return `mount --make-rslave ${p}\numount ${unit.recursive ? '-R ' : ''}${lazy ? '-l ' : ''}${p}`;
}

/** Unmounts leftover mounts below a guest root, deepest first, each made a slave before it goes. */
export function unmountLeftoversFix(root: string, units: UnmountUnit[]): Fix<'mounts.unmount-leftovers'> {
  return {
    id: 'mounts.unmount-leftovers',
    title: `Unmount ${units.reduce((n, u) => n + u.members.length, 0)} leftover mount(s) below ${root}`,
    safety: 'safe',
    steps: units.map((u) => umountStep(u, false)),
  };
}

/** Names the processes that keep mounts busy, so the person can end them (or cd elsewhere) first. */
export function stopHoldersFix(root: string, holders: MountHolder[]): Fix<'mounts.stop-holders'> {
  const pids = [...new Set(holders.map((h) => h.pid))];
  const lines = holders.map(
    (h) =>
      `${h.pid} (${h.comm}) holds ${h.mountPoint} through its ${h.how === 'fd' ? 'open file' : h.how === 'map' ? 'mapped file' : h.how} ${h.path}`,
  );
  return {
    id: 'mounts.stop-holders',
    title: `Stop the ${pids.length} process(es) keeping mounts below ${root} busy ("target is busy")`,
    safety: 'manual',
    steps: [
      {
        kind: 'manual',
        where: 'host',
        description: `these processes keep the mounts busy, so umount says "target is busy":\n${lines.join('\n')}`,
        snippet: `kill ${pids.join(' ')}`,
      },
      {
        kind: 'manual',
        where: 'host',
        description: 'then run ctr-doctor fix again, or check what else holds them',
        snippet: `fuser -vm ${shellQuote(holders[0]?.mountPoint ?? root)}`,
      },
    ],
  };
}

/** Detaches busy mounts at once (`umount -l`): they vanish from the tree but live on until the holders let go. */
export function lazyUnmountFix(root: string, units: UnmountUnit[]): Fix<'mounts.lazy-unmount'> {
  return {
    id: 'mounts.lazy-unmount',
    title: `Lazily detach the busy mounts below ${root} (umount -l; the holders keep using them)`,
    safety: 'unsafe',
    steps: units.map((u) => umountStep(u, true)),
  };
}

/** What replaces the host's /run in a guest: a private tmpfs, the user's runtime dir, and the two sockets a desktop app needs. */
export interface RunReplacement {
  uid: number;
  gid: number;
  /** Host directories to bind into the new runtime dir, such as /run/user/1000/pulse (only those that exist). */
  binds: string[];
}

/** The fstab lines (schroot profile syntax: guest paths on the right) that give a guest its own /run. */
export function privateRunFstabLines(r: RunReplacement): string[] {
  const userDir = `/run/user/${r.uid}`;
  return [
    'tmpfs  /run  tmpfs  rw,nosuid,nodev,mode=755  0  0',
    `tmpfs  ${userDir}  tmpfs  rw,nosuid,nodev,mode=700,uid=${r.uid},gid=${r.gid}  0  0`,
    ...r.binds.map((b) => `${b}  ${b}  none  rw,bind  0  0`),
  ];
}

/**
 * Live repair of a chroot (or an open schroot session) that sees the host's /run (or part of it)
 * at `guestMountPoint`: unmount that (made a slave first); where it was /run, mount a private tmpfs;
 * give the user a private runtime dir; bind only pulse and dconf from the host.
 */
export function privateRunLiveFix(
  guestMountPoint: string,
  unit: UnmountUnit,
  r: RunReplacement,
  safety: 'safe' | 'unsafe',
): Fix<'mounts.private-run'> {
  const userDir = `/run/user/${r.uid}`;
  const steps: FixStep[] = [umountStep(unit, false)];
  // Every mount point stays root-owned, and every mount is made on the descriptor of the checked
  // directory, until the last bind: only then does the user get the runtime dir (a user who owns a
  // mount point's parent could swap it for a symlink between our check and the mount).
  const rootDir = (p: string, what: string): FixStep => ({
    kind: 'mkdir',
    where: 'guest',
    path: p,
    mode: p === '/run/user' ? 0o755 : 0o700,
    uid: 0,
    gid: 0,
    description: `create ${p} ${what}, owned by root until the binds are made`,
  });
  if (guestMountPoint === '/run') {
    steps.push(
      {
        kind: 'mount',
        where: 'guest',
        path: '/run',
        source: { kind: 'tmpfs', options: 'rw,nosuid,nodev,mode=755' },
        description: "mount a private tmpfs on the guest's /run",
      },
      rootDir('/run/user', 'in the new tmpfs'),
    );
  }
  if (['/run', '/run/user', userDir].includes(guestMountPoint)) {
    steps.push(rootDir(userDir, 'as a mount point'), {
      kind: 'mount',
      where: 'guest',
      path: userDir,
      source: { kind: 'tmpfs', options: 'rw,nosuid,nodev,mode=700' },
      description: `mount the user's own runtime dir on ${userDir} (given to uid ${r.uid} after the binds)`,
    });
    for (const b of r.binds) {
      steps.push(rootDir(b, 'as a mount point'), {
        kind: 'mount',
        where: 'guest',
        path: b,
        source: { kind: 'bind', hostPath: b },
        description: `bind only the host's ${b} into the guest`,
      });
    }
    steps.push({
      kind: 'mkdir',
      where: 'guest',
      path: userDir,
      mode: 0o700,
      uid: r.uid,
      gid: r.gid,
      description: `give ${userDir} to uid ${r.uid}, mode 0700, now that its mounts are made`,
    });
  }
  return {
    id: 'mounts.private-run',
    title:
      guestMountPoint === '/run'
        ? "Replace the host's /run in the guest with a private tmpfs plus binds of pulse and dconf"
        : `Unmount the host's ${guestMountPoint} from the guest${steps.length > 1 ? ' and give the user a private runtime dir with binds of pulse and dconf' : ''}`,
    safety,
    steps,
  };
}

/** The same repair as commands to put in the script that sets up the chroot, for next time. */
export function privateRunChrootScriptFix(guestRootOnHost: string, r: RunReplacement): Fix<'mounts.private-run-setup'> {
  const q = (p: string): string => shellQuote(hostPathInRoot(guestRootOnHost, p));
  const userDir = `/run/user/${r.uid}`;
  const lines = [
    `mount -t tmpfs -o rw,nosuid,nodev,mode=755 tmpfs ${q('/run')}`,
    `mkdir -p ${q(userDir)}`,
    `mount -t tmpfs -o rw,nosuid,nodev,mode=700,uid=${r.uid},gid=${r.gid} tmpfs ${q(userDir)}`,
    ...r.binds.flatMap((b) => [`mkdir -p ${q(b)}`, `mount --bind ${shellQuote(b)} ${q(b)}`]),
  ];
  return {
    id: 'mounts.private-run-setup',
    title: "In the chroot's setup script: never rbind /run; mount a tmpfs and bind pulse and dconf instead",
    safety: 'manual',
    steps: [
      {
        kind: 'manual',
        where: 'host',
        description: `replace "mount --rbind /run ${q('/run')}" with these lines`,
        snippet: lines.join('\n'),
      },
    ],
  };
}

/** schroot: rewrite the profile's fstab line that binds the host's /run. */
export function privateRunSchrootFix(
  fstabPath: string,
  line: number,
  oldText: string,
  r: RunReplacement,
): Fix<'mounts.schroot-private-run'> {
  const newLines = privateRunFstabLines(r);
  return {
    id: 'mounts.schroot-private-run',
    title: `In ${fstabPath}, replace line ${line} (the host's /run) with a tmpfs and binds of pulse and dconf`,
    safety: 'manual',
    steps: [
      { kind: 'manual', where: 'host', description: `${fstabPath} line ${line}: remove this line`, snippet: oldText },
      {
        kind: 'manual',
        where: 'host',
        description: `${fstabPath}: add these lines in its place (they take effect for new sessions)`,
        snippet: newLines.join('\n'),
      },
    ],
  };
}

/** nspawn: drop the bind of the host's /run and bind only the pulse directory (nspawn gives the guest its own /run). */
export function privateRunNspawnFix(machine: string, offending: string[], r: RunReplacement): Fix<'mounts.nspawn-private-run'> {
  const pulse = `/run/user/${r.uid}/pulse`;
  return {
    id: 'mounts.nspawn-private-run',
    title: `Start ${machine} without ${offending.join(' ') || "the bind of the host's /run"}; bind only the pulse directory`,
    safety: 'manual',
    steps: [
      {
        kind: 'manual',
        where: 'host',
        description: `remove ${offending.join(' ') || 'the --bind of /run'} from the systemd-nspawn command line and bind only pulse`,
        snippet: `systemd-nspawn -b -D … -M ${shellQuote(machine)} --bind=${pulse}:/run/user/pulse --setenv=PULSE_SERVER=unix:/run/user/pulse/native`,
      },
      nspawnFileStep(
        machine,
        `[Files]\nBind=${pulse}:/run/user/pulse\n\n[Exec]\nEnvironment=PULSE_SERVER=unix:/run/user/pulse/native`,
        'or in',
        ' (remove the Bind= of /run)',
      ),
    ],
  };
}
