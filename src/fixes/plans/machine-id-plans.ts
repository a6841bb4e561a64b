import type { Fix, TargetKind } from '../../core/types.js';
import { manual, nspawnFileStep } from './manual-steps.js';
import { shellQuote } from './shell-quote.js';

/** Write a fresh id into the guest's /etc/machine-id (backed up, undone by `ctr-doctor undo`). */
export function writeMachineIdFix(freshId: string): Fix<'dbus.write-machine-id'> {
  return {
    id: 'dbus.write-machine-id',
    title: 'Write a new machine id (32 random hex digits) to /etc/machine-id in the guest',
    safety: 'safe',
    steps: [
      {
        kind: 'write',
        where: 'guest',
        path: '/etc/machine-id',
        content: `${freshId}\n`,
        mode: 0o444,
        description: `/etc/machine-id: ${freshId}, what systemd-machine-id-setup or dbus-uuidgen --ensure would write`,
      },
    ],
  };
}

/** Replace a broken /var/lib/dbus/machine-id with a link to /etc/machine-id, as Debian's dbus package does. */
export function linkDbusMachineIdFix(): Fix<'dbus.link-dbus-machine-id'> {
  return {
    id: 'dbus.link-dbus-machine-id',
    title: 'Make /var/lib/dbus/machine-id a symlink to /etc/machine-id in the guest',
    safety: 'safe',
    steps: [
      {
        kind: 'symlink',
        where: 'guest',
        path: '/var/lib/dbus/machine-id',
        target: '/etc/machine-id',
        description: 'libdbus reads /var/lib/dbus/machine-id first: point it at the one id systemd uses too',
      },
    ],
  };
}

/** The way each kind of container is usually given an id. */
export function machineIdAdviceFix(kind: TargetKind, root: string, machine: string | null): Fix<'dbus.machine-id-advice'> {
  const steps =
    kind === 'nspawn'
      ? [
          manual(
            'boot the machine (systemd-nspawn -b), so its PID 1 sets up an id, or give it one',
            `systemd-nspawn --uuid=$(systemd-id128 new) -D ${shellQuote(root)} …`,
          ),
          ...(machine ? [nspawnFileStep(machine, '[Exec]\nBoot=yes')] : []),
        ]
      : kind === 'schroot'
        ? [
            manual(
              "write an id inside the chroot (the desktop profile binds /var/lib/dbus instead, which gives it the host's id)",
              'schroot -c CHROOT -u root -- dbus-uuidgen --ensure=/etc/machine-id',
            ),
          ]
        : [
            manual('on the host, write an id into the guest', `systemd-machine-id-setup --root=${shellQuote(root)}`),
            manual('or from inside the guest', `chroot ${shellQuote(root)} dbus-uuidgen --ensure=/etc/machine-id`),
          ];
  return { id: 'dbus.machine-id-advice', title: 'Give the guest a machine id the way its container kind does', safety: 'manual', steps };
}
