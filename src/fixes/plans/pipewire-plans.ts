import type { Fix } from '../../core/types.js';
import { manual, nspawnFileStep } from './manual-steps.js';
import { shellQuote } from './shell-quote.js';
import type { FixPlace } from './x11-plans.js';

/**
 * The guest has the socket, but where its clients do not look: point PIPEWIRE_REMOTE at it
 * (an absolute path is used as it is, whatever XDG_RUNTIME_DIR says).
 */
export function pipewireRemoteFix(place: FixPlace, socket: string): Fix<'audio.set-pipewire-remote'> {
  const assign = shellQuote(`PIPEWIRE_REMOTE=${socket}`);
  const steps =
    place.kind === 'nspawn'
      ? [
          manual(
            'start the machine with the variable set',
            `systemd-nspawn --setenv=${assign} -b -D … -M ${place.nspawn?.machine ?? 'MACHINE'}`,
          ),
          nspawnFileStep(place.nspawn?.machine ?? 'MACHINE', `[Exec]\nEnvironment=${assign}`),
        ]
      : place.kind === 'schroot'
        ? [
            manual(
              "in the session's shell (or before `schroot -c`, with preserve-environment=true in the chroot's [section])",
              `export ${assign}`,
              'guest',
            ),
          ]
        : [manual('in the shell inside the guest', `export ${assign}`, 'guest')];
  return { id: 'audio.set-pipewire-remote', title: `Point PIPEWIRE_REMOTE at ${socket}`, safety: 'manual', steps };
}

/** The socket file is there but nothing listens: PipeWire on the host died or was restarted elsewhere. */
export function pipewireRestartFix(uid: number): Fix<'audio.restart-pipewire'> {
  return {
    id: 'audio.restart-pipewire',
    title: 'Restart PipeWire (and pipewire-pulse) on the host',
    safety: 'manual',
    steps: [
      manual(
        `as the desktop user (uid ${Math.trunc(uid)}) on the host`,
        'systemctl --user restart pipewire.socket pipewire.service pipewire-pulse.socket pipewire-pulse.service',
      ),
      manual('then check that the core answers', 'pw-cli info 0'),
    ],
  };
}

/** A package manager the guest has, for the ALSA plugin's install line. */
export type GuestPackageManager = 'apt-get' | 'dnf' | 'pacman';

const ALSA_INSTALL: Record<GuestPackageManager, string> = {
  'apt-get': 'apt-get install --no-install-recommends pipewire-alsa',
  dnf: 'dnf install pipewire-alsa',
  pacman: 'pacman -S pipewire-alsa',
};

/**
 * ALSA's default device routed to PipeWire in the guest: the pipewire-alsa package (its
 * 99-pipewire-default.conf in /etc/alsa/conf.d and libasound_module_pcm_pipewire.so).
 * `managers`: the ones the guest has; none known shows every line.
 */
export function pipewireAlsaFix(managers: readonly GuestPackageManager[]): Fix<'audio.install-pipewire-alsa'> {
  const shown = managers.length > 0 ? managers : (Object.keys(ALSA_INSTALL) as GuestPackageManager[]);
  return {
    id: 'audio.install-pipewire-alsa',
    title: "Install pipewire-alsa in the guest (ALSA's default device through PipeWire)",
    safety: 'manual',
    steps: shown.map((m) =>
      manual(`as root inside the guest (${m}); on Debian it replaces pulseaudio's own ALSA route`, ALSA_INSTALL[m], 'guest'),
    ),
  };
}
