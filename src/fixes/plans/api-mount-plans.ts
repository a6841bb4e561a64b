import type { Fix, FixStep, TargetKind } from '../../core/types.js';
import { parseFstab } from '../../parse/fstab.js';
import { splitLines } from '../../parse/text-lines.js';
import { manual, nspawnFileStep } from './manual-steps.js';
import { shellQuote } from './shell-quote.js';

/** A schroot profile's fstab: its file and text, for fixes that name the line to change. */
export interface SchrootFstab {
  file: string;
  text: string;
}

/** An API filesystem a guest needs, by its mount point in the guest. */
export type ApiMount = '/proc' | '/sys' | '/dev' | '/dev/pts' | '/dev/shm';

/**
 * The mount lines for a chroot: rslave after every rbind, and the guest's /dev made rslave before
 * anything is mounted below it (a plain bind of the host's /dev shares its peer group, so a devpts
 * or tmpfs mounted there would also land on the host's /dev). Nothing is written through /dev:
 * ptmx is bound over, not re-linked, since /dev may be the host's.
 */
export function chrootMountCommand(root: string, m: ApiMount): string {
  const at = (p: string) => shellQuote(`${root.replace(/\/+$/, '')}${p}`);
  const devRslave = `{ ! mountpoint -q ${at('/dev')} || mount --make-rslave ${at('/dev')}; }`;
  switch (m) {
    case '/proc':
      return `mount -t proc proc ${at('/proc')}`;
    case '/sys':
      return `mount --rbind /sys ${at('/sys')} && mount --make-rslave ${at('/sys')}`;
    case '/dev':
      return `mount --rbind /dev ${at('/dev')} && mount --make-rslave ${at('/dev')}`;
    case '/dev/pts':
      return `${devRslave} && mount -t devpts -o newinstance,ptmxmode=0666,mode=0620,gid=5 devpts ${at('/dev/pts')} && mount --bind ${at('/dev/pts/ptmx')} ${at('/dev/ptmx')}`;
    case '/dev/shm':
      return `${devRslave} && mount -t tmpfs -o mode=1777,nosuid,nodev shm ${at('/dev/shm')}`;
  }
}

/** The schroot fstab line for a mount point (schroot binds /dev non-recursively, so pts and shm need their own). */
export function schrootFstabLine(m: ApiMount): string {
  return `${m}\t${m}\tnone\trw,bind\t0\t0`;
}

/** Where the line goes in the profile's fstab: uncomment it, it is there already, or add it. */
export function schrootFstabStep(fstab: SchrootFstab | null, m: ApiMount): FixStep {
  const line = schrootFstabLine(m);
  if (fstab === null)
    return manual("add this line to the chroot's setup.fstab (/etc/schroot/PROFILE/fstab), then start a new session", line);
  const active = parseFstab(fstab.text).entries.find((e) => e.file.replace(/\/+$/, '') === m);
  if (active)
    return manual(
      `${fstab.file} line ${active.line} already mounts ${m}: end this session and start a new one (schroot mounts at session start)`,
      `schroot --end-session -c SESSION`,
    );
  const commented = splitLines(fstab.text).find((l) => new RegExp(`^\\s*#\\s*\\S+\\s+${m.replace(/\//g, '\\/')}\\/?\\s`).test(l.text));
  if (commented)
    return manual(
      `in ${fstab.file}, uncomment line ${commented.line} ("${commented.text.trim()}"), then start a new session`,
      commented.text.replace(/^(\s*)#\s*/, '$1'),
    );
  const last = splitLines(fstab.text).length;
  return manual(`in ${fstab.file}, add after line ${last}, then start a new session`, line);
}

/** What a person does, per container kind, to give the guest these API filesystems. */
export function apiMountSteps(
  kind: TargetKind,
  root: string,
  mounts: ApiMount[],
  fstab: SchrootFstab | null,
  machine: string | null,
): FixStep[] {
  if (kind === 'schroot') return mounts.map((m) => schrootFstabStep(fstab, m));
  if (kind === 'nspawn') {
    return [
      manual(
        `systemd-nspawn mounts ${mounts.join(', ')} itself: something inside the guest replaced ${mounts.length === 1 ? 'it' : 'them'} (its /etc/fstab, a unit, a script); look there`,
        `grep -nE '[[:space:]](${mounts.map((m) => m.replace(/\//g, '\\/')).join('|')})[[:space:]]' /etc/fstab`,
        'guest',
      ),
      ...(machine
        ? [nspawnFileStep(machine, '[Files]\n# no Bind= over /proc, /sys or /dev', 'and check nothing is bound over them in')]
        : []),
    ];
  }
  const lead = kind === 'chroot' ? 'on the host, before entering the chroot' : "in the container's setup, before it starts";
  return [
    manual(
      `${lead} (rslave after each rbind: nothing propagates back to the host)`,
      mounts.map((m) => chrootMountCommand(root, m)).join('\n'),
    ),
  ];
}

/** A manual fix that mounts the missing API filesystems the container kind's way. */
export function apiMountsFix<Id extends string>(
  id: Id,
  title: string,
  kind: TargetKind,
  root: string,
  mounts: ApiMount[],
  fstab: SchrootFstab | null,
  machine: string | null,
): Fix<Id> {
  return { id, title, safety: 'manual', steps: apiMountSteps(kind, root, mounts, fstab, machine) };
}
