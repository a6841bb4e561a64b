import type { Fix, TargetKind } from '../../core/types.js';
import { manual, nspawnFileStep } from './manual-steps.js';
import { pasteableHostname, shellQuote } from './shell-quote.js';

/** Append the missing lines to the guest's /etc/hosts (the file is backed up; undo restores it). */
export function addHostsLinesFix(current: string, lines: string[]): Fix<'hosts.add-lines'> {
  const base = current === '' || current.endsWith('\n') ? current : `${current}\n`;
  return {
    id: 'hosts.add-lines',
    title: `Add ${lines.map((l) => `"${l}"`).join(' and ')} to /etc/hosts in the guest`,
    safety: 'safe',
    steps: [
      {
        kind: 'write',
        where: 'guest',
        path: '/etc/hosts',
        content: `${base}${lines.map((l) => `${l}\n`).join('')}`,
        mode: 0o644,
        description: `/etc/hosts: add ${lines.join(', ')}`,
      },
    ],
  };
}

/** How each kind keeps the name and the file in step. */
export function hostnameAdviceFix(
  kind: TargetKind,
  root: string,
  name: string,
  machine: string | null,
): Fix<'hosts.schroot-nssdatabases' | 'hosts.nspawn-hostname'> | null {
  if (kind === 'schroot') {
    return {
      id: 'hosts.schroot-nssdatabases',
      title: "Let schroot copy the host's /etc/hosts into the session",
      safety: 'manual',
      steps: [
        manual(
          "keep hosts in the profile's nssdatabases file (the default profile lists it), or add the name to the chroot's own /etc/hosts",
          'hosts',
        ),
      ],
    };
  }
  if (kind === 'nspawn') {
    return {
      id: 'hosts.nspawn-hostname',
      title: 'Give the machine a hostname its /etc/hosts knows, or let myhostname answer',
      safety: 'manual',
      steps: [
        manual(
          "start it with a hostname the guest's /etc/hosts lists",
          `systemd-nspawn ${shellQuote(`--hostname=${name}`)} -D ${shellQuote(root)} …`,
        ),
        ...(machine && pasteableHostname(name) ? [nspawnFileStep(machine, `[Exec]\nHostname=${name}`)] : []),
        manual('or install libnss-myhostname in the guest and list it in /etc/nsswitch.conf', 'hosts: files myhostname dns', 'guest'),
      ],
    };
  }
  return null;
}
