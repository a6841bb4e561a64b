import type { Fix } from '../../core/types.js';
import { manual, nspawnFileStep } from './manual-steps.js';
import { hostHomeOf, hostPathInRoot, shellQuote } from './shell-quote.js';
import type { GuestUser, Target } from '../../core/target.js';

type Where = Pick<Target, 'kind' | 'root' | 'schroot' | 'nspawn'>;

/** Where nspawn puts the host's pulse directory: beside, not inside, the /run/user/UID the guest manages itself. */
export const NSPAWN_PULSE_DIR = '/run/user/pulse';

/** The host path of a guest path, normalised inside the root, as one shell word. */
function fromHost(target: Where, guestPath: string): string {
  return shellQuote(hostPathInRoot(target.root, guestPath));
}

/** Bring the host's PulseAudio socket directory into the guest and point PULSE_SERVER at it. */
export function pulseSocketBindFix(
  target: Where,
  uid: number,
): Fix<'audio.nspawn-bind-pulse' | 'audio.schroot-bind-pulse' | 'audio.chroot-bind-pulse'> | null {
  const hostDir = `/run/user/${uid}/pulse`;
  switch (target.kind) {
    case 'nspawn': {
      const machine = target.nspawn?.machine ?? 'MACHINE';
      const server = `unix:${NSPAWN_PULSE_DIR}/native`;
      return {
        id: 'audio.nspawn-bind-pulse',
        title: `Bind ${hostDir} to ${NSPAWN_PULSE_DIR} and set PULSE_SERVER=${server}`,
        safety: 'manual',
        steps: [
          manual(
            'restart the machine with the pulse directory bound and PULSE_SERVER set',
            `systemd-nspawn --bind=${hostDir}:${NSPAWN_PULSE_DIR} --setenv=PULSE_SERVER=${server} -b -D … -M ${shellQuote(machine)}`,
          ),
          nspawnFileStep(machine, `[Files]\nBind=${hostDir}:${NSPAWN_PULSE_DIR}\n\n[Exec]\nEnvironment=PULSE_SERVER=${server}`),
          manual('or for one program inside the machine', `PULSE_SERVER=${server} firefox`, 'guest'),
        ],
      };
    }
    case 'schroot': {
      const chroot = target.schroot?.chroot ?? 'NAME';
      return {
        id: 'audio.schroot-bind-pulse',
        title: `Bind ${hostDir} in the schroot profile's fstab`,
        safety: 'manual',
        steps: [
          manual(
            `add this line to the fstab of ${chroot}'s profile (setup.fstab), then start a new session`,
            `${hostDir} ${hostDir} none rw,bind 0 0`,
          ),
          manual(`keep PULSE_SERVER and XDG_RUNTIME_DIR: add to [${chroot}] in /etc/schroot/chroot.d/`, 'preserve-environment=true'),
        ],
      };
    }
    case 'chroot':
      return {
        id: 'audio.chroot-bind-pulse',
        title: `Bind ${hostDir} into the chroot and export PULSE_SERVER`,
        safety: 'manual',
        steps: [
          manual(
            "bind the host's pulse directory before entering the chroot",
            `mkdir -p ${fromHost(target, hostDir)} && mount --bind ${hostDir} ${fromHost(target, hostDir)}`,
          ),
          manual('in the shell inside the guest', `export PULSE_SERVER=unix:${hostDir}/native`, 'guest'),
        ],
      };
    default:
      return null;
  }
}

/** A socket file with no server behind it: the server on the host died or restarted elsewhere. */
export function pulseRestartFix(socketPath: string): Fix<'audio.restart-pulse'> {
  return {
    id: 'audio.restart-pulse',
    title: 'Restart the sound server on the host',
    safety: 'manual',
    steps: [
      manual(
        'as the desktop user on the host (PipeWire hosts: pipewire-pulse)',
        'systemctl --user restart pulseaudio.socket pulseaudio.service || systemctl --user restart pipewire-pulse',
      ),
      manual(`then bind the new socket again if the guest kept the old one (${socketPath})`, `ls -l ${socketPath}`),
    ],
  };
}

/** The user may not open the socket: run as its owner, or open the socket to the user's group. */
export function pulsePermissionFix(socketPath: string, ownerUid: number | null, user: GuestUser): Fix<'audio.pulse-permission'> {
  return {
    id: 'audio.pulse-permission',
    title: `Let ${user.name} (uid ${user.uid}) reach ${socketPath}`,
    safety: 'manual',
    steps: [
      manual(
        ownerUid !== null
          ? `the socket (or its directory) belongs to uid ${ownerUid} with no access for uid ${user.uid}: run the program as uid ${ownerUid} in the guest`
          : `run the program in the guest as the owner of the socket`,
        `runuser -u "$(getent passwd ${ownerUid ?? user.uid} | cut -d: -f1)" -- pactl info`,
        'guest',
      ),
      manual(
        'or, on the host, serve an extra socket the guest user may open',
        `pactl load-module module-native-protocol-unix socket=/run/user/${ownerUid ?? user.uid}/pulse/guest auth-anonymous=1`,
      ),
    ],
  };
}

/**
 * Give the guest user the host user's cookie. `hostCookie` is a host path the host side chose, or null:
 * the host account's own ~/.config/pulse/cookie, found by the host's shell (a guest's home is never a host path).
 */
export function pulseCookieFix(
  target: Where,
  user: GuestUser,
  hostCookie: string | null,
): Fix<'audio.nspawn-bind-cookie' | 'audio.copy-cookie'> | null {
  const source = hostCookie !== null ? shellQuote(hostCookie) : `${hostHomeOf(user.uid)}/.config/pulse/cookie`;
  if (target.kind === 'nspawn') {
    const machine = target.nspawn?.machine ?? 'MACHINE';
    return {
      id: 'audio.nspawn-bind-cookie',
      title: "Bind the host's PulseAudio cookie and set PULSE_COOKIE",
      safety: 'manual',
      steps: [
        manual(
          'restart the machine with the cookie bound read-only',
          `systemd-nspawn --bind-ro=${source}:/run/host-pulse-cookie --setenv=PULSE_COOKIE=/run/host-pulse-cookie -b -D … -M ${shellQuote(machine)}`,
        ),
        ...(hostCookie !== null && /^[\w./-]+$/.test(hostCookie)
          ? [
              nspawnFileStep(
                machine,
                `[Files]\nBindReadOnly=${hostCookie}:/run/host-pulse-cookie\n\n[Exec]\nEnvironment=PULSE_COOKIE=/run/host-pulse-cookie`,
              ),
            ]
          : []),
      ],
    };
  }
  if (target.kind !== 'chroot' && target.kind !== 'schroot') return null;
  const dest = fromHost(target, `${user.home}/.config/pulse/cookie`);
  // H6: the guest user owns the path to DEST (a ~/.config that is a symlink to /etc, or to a host path through a
  // bind): root's `install -D` would follow it. The copy runs as the user, reading and writing with the user's rights only.
  const uid = Math.trunc(user.uid);
  const gid = Math.trunc(user.gid);
  const copy = 'umask 077 && mkdir -p -- "${2%/*}" && cat -- "$1" > "$2"';
  return {
    id: 'audio.copy-cookie',
    title: "Copy the host user's PulseAudio cookie into the guest user's ~/.config/pulse/cookie",
    safety: 'manual',
    steps: [
      manual(
        `on the host, as uid ${uid} (never as root: the guest user controls the path)`,
        `setpriv --reuid=${uid} --regid=${gid} --clear-groups -- sh -c ${shellQuote(copy)} sh ${source} ${dest}`,
      ),
    ],
  };
}
