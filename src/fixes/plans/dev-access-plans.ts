import type { Fix } from '../../core/types.js';
import { manual, nspawnFileStep } from './manual-steps.js';
import { hostPathInRoot, shellQuote } from './shell-quote.js';
import type { FixPlace } from './x11-plans.js';

/** A host device path to bind into the guest at the same path, and its systemd device class (`char-drm`). */
export interface DeviceBind {
  path: string;
  /** A directory (/dev/dri) or one node (/dev/kfd). */
  dir: boolean;
  /** `char-drm`, `char-alsa`…, from the host's /proc/devices; null when the major has no name there. */
  deviceClass: string | null;
}

/** DeviceAllow= entries for the binds: by class where /proc/devices names it, else by path. */
const allowOf = (binds: readonly DeviceBind[]): string[] => [...new Set(binds.map((b) => `${b.deviceClass ?? b.path} rw`))];

/** Bind the host's device directories (or nodes) into the guest, per kind; nspawn also gets DeviceAllow= for its device cgroup. */
export function deviceBindFix(
  place: FixPlace,
  binds: readonly DeviceBind[],
  fstabFile: string | null,
): Fix<'dev.bind-devices-chroot' | 'dev.bind-devices-schroot' | 'dev.bind-devices-nspawn'> | null {
  if (binds.length === 0) return null;
  const list = binds.map((b) => b.path).join(', ');
  switch (place.kind) {
    case 'chroot': {
      const lines = binds.map((b) => {
        const at = shellQuote(hostPathInRoot(place.root, b.path));
        return `${b.dir ? `mkdir -p ${at}` : `touch ${at}`} && mount --bind ${shellQuote(b.path)} ${at}`;
      });
      return {
        id: 'dev.bind-devices-chroot',
        title: `Bind ${list} into the chroot`,
        safety: 'manual',
        steps: [
          manual(
            'on the host, before entering the chroot (a bind of /dev itself brings them too: mount --rbind /dev, then mount --make-rslave)',
            lines.join('\n'),
          ),
        ],
      };
    }
    case 'schroot': {
      const chroot = place.schroot?.chroot ?? 'NAME';
      const file = fstabFile ?? `the fstab of ${chroot}'s profile (setup.fstab)`;
      return {
        id: 'dev.bind-devices-schroot',
        title: `Bind ${list} in ${fstabFile ?? "the schroot profile's fstab"}`,
        safety: 'manual',
        steps: [manual(`add to ${file}, then start a new session`, binds.map((b) => `${b.path} ${b.path} none rw,bind 0 0`).join('\n'))],
      };
    }
    case 'nspawn': {
      const machine = place.nspawn?.machine ?? 'MACHINE';
      const allow = allowOf(binds);
      return {
        id: 'dev.bind-devices-nspawn',
        title: `Bind ${list} into the machine and allow them in its device cgroup`,
        safety: 'manual',
        steps: [
          manual(
            "restart the machine with the devices bound and allowed (the bind alone gives EPERM: nspawn's device cgroup, systemd#10960)",
            `systemd-nspawn ${binds.map((b) => `--bind=${shellQuote(b.path)}`).join(' ')} ${allow.map((a) => `--property=${shellQuote(`DeviceAllow=${a}`)}`).join(' ')} -b -D … -M ${shellQuote(machine)}`,
          ),
          nspawnFileStep(
            machine,
            `[Files]\n${binds.map((b) => `Bind=${b.path}`).join('\n')}`,
            'or in',
            ` plus, for machinectl start, \`systemctl edit systemd-nspawn@${machine}.service\`:\n[Service]\n${allow.map((a) => `DeviceAllow=${a}`).join('\n')}`,
          ),
        ],
      };
    }
    default:
      return null;
  }
}

/** What the guest's groups lack for one gid of the host's nodes. */
export interface GroupGap {
  gid: number;
  /** The host's name of the gid (render, audio), or null. */
  hostName: string | null;
  /** The guest's group of that gid to join (same name as the host's), or null to create one. */
  join: string | null;
  /** The gid names another group in the guest: the new name shares it (groupadd -o). */
  alias: boolean;
  user: string;
}

/**
 * Put the guest's user in the gid the nodes carry, in the guest: join the group that has it there,
 * or create a name for it (`host-render`, with -o when the gid already names another group). A new login picks it up.
 */
export function guestGroupsFix(place: FixPlace, gaps: readonly GroupGap[]): Fix<'dev.guest-groups'> | null {
  if (gaps.length === 0) return null;
  const lines = gaps.flatMap((g) => {
    if (g.join !== null) return [`usermod -aG ${shellQuote(g.join)} ${shellQuote(g.user)}`];
    const name = `host-${g.hostName ?? String(g.gid)}`.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 32);
    return [`groupadd ${g.alias ? '-o ' : ''}-g ${g.gid} ${shellQuote(name)}`, `usermod -aG ${shellQuote(name)} ${shellQuote(g.user)}`];
  });
  const gids = [...new Set(gaps.map((g) => g.gid))];
  const alt =
    place.kind === 'chroot'
      ? [
          manual(
            'or enter the chroot with the group given directly',
            `chroot --groups=${gids.join(',')} --userspec=${shellQuote(gaps[0]!.user)} ${shellQuote(place.root)}`,
          ),
        ]
      : [];
  return {
    id: 'dev.guest-groups',
    title: `Give ${gaps[0]!.user} the device group${gids.length > 1 ? 's' : ''} ${gids.join(', ')} in the guest`,
    safety: 'manual',
    steps: [manual('in the guest as root, then log in again (groups are read at login)', lines.join('\n'), 'guest'), ...alt],
  };
}

/** Grant the desktop uid the nodes through an ACL on the host (what logind's uaccess does for the seat's user). */
export function hostAclFix(paths: readonly string[], uid: number): Fix<'dev.grant-acl'> | null {
  if (paths.length === 0) return null;
  return {
    id: 'dev.grant-acl',
    title: `Grant uid ${uid} ${paths.join(', ')} by an ACL on the host`,
    safety: 'manual',
    steps: [
      manual(
        "on the host (udev resets it when the device is added again; adding the user to the node's group lasts)",
        `setfacl -m ${shellQuote(`u:${Math.trunc(uid)}:rw`)} -- ${paths.map(shellQuote).join(' ')}`,
      ),
    ],
  };
}

/** Allow the nodes in the device cgroup the guest's processes are in (EPERM on open). */
export function deviceCgroupFix(
  place: FixPlace,
  cgroup: { v1Path: string | null; unit: string | null },
  nodes: readonly { path: string; major: number; deviceClass: string | null }[],
): Fix<'dev.allow-in-device-cgroup'> | null {
  if (nodes.length === 0) return null;
  const steps = [];
  if (cgroup.v1Path !== null) {
    const file = shellQuote(`/sys/fs/cgroup/devices${cgroup.v1Path}/devices.allow`);
    steps.push(
      manual(
        'on the host (cgroup v1: lasts until the cgroup goes)',
        [...new Set(nodes.map((n) => `echo 'c ${n.major}:* rw' > ${file}`))].join('\n'),
      ),
    );
  }
  const unit = cgroup.unit ?? (place.kind === 'nspawn' ? `machine-${place.nspawn?.machine ?? 'MACHINE'}.scope` : null);
  if (unit !== null) {
    const allow = [...new Set(nodes.map((n) => `${n.deviceClass ?? n.path} rw`))];
    steps.push(
      manual(
        'on the host, for the running unit (then start it with the same --property= to keep it)',
        allow.map((a) => `systemctl set-property --runtime ${shellQuote(unit)} ${shellQuote(`DeviceAllow=${a}`)}`).join('\n'),
      ),
    );
  }
  if (steps.length === 0) return null;
  return {
    id: 'dev.allow-in-device-cgroup',
    title: `Allow ${nodes.map((n) => n.path).join(', ')} in the guest's device cgroup`,
    safety: 'manual',
    steps,
  };
}
