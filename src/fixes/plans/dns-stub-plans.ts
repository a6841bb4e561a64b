import type { Fix, FixStep } from '../../core/types.js';
import { nspawnFileStep } from './manual-steps.js';
import type { Target } from '../../targets/target.js';
import { hostPathInRoot, shellQuote } from './shell-quote.js';

type PlanTarget = Pick<Target, 'kind' | 'root' | 'schroot' | 'nspawn'>;

/** resolved's list of upstream servers: the file to link when the guest runs its own resolved. */
export const RESOLVED_UPSTREAM_FILE = '/run/systemd/resolve/resolv.conf';

/**
 * The Loki fix from the seed: resolvconf wrote an empty file, so let systemd-resolved and
 * systemd-networkd run in the guest and link resolv.conf to resolved's upstream list.
 * `booted`: the guest runs systemd as PID 1 (`--now` starts them); otherwise they start at next boot.
 */
export function enableGuestResolvedFix(opts: { booted: boolean; resolvedInstalled: boolean }): Fix {
  const units = ['systemd-networkd', 'systemd-resolved'];
  const enabled = `systemctl is-enabled --quiet ${units[0]} && systemctl is-enabled --quiet ${units[1]}`;
  const unless = opts.booted ? `${enabled} && systemctl is-active --quiet ${units[1]}` : enabled;
  const steps: FixStep[] = [];
  if (!opts.resolvedInstalled) {
    steps.push({ kind: 'manual', where: 'guest', description: 'systemd-resolved is not installed in the guest; install it first (Debian 12 and later ship it separately)', snippet: 'apt-get install systemd-resolved' });
  }
  steps.push(
    { kind: 'exec', where: 'guest', argv: ['systemctl', 'enable', ...(opts.booted ? ['--now'] : []), ...units], unless: ['sh', '-c', unless],
      description: opts.booted ? 'enable and start systemd-networkd and systemd-resolved in the guest' : 'enable systemd-networkd and systemd-resolved in the guest (they start at its next boot)' },
    { kind: 'symlink', where: 'guest', path: '/etc/resolv.conf', target: RESOLVED_UPSTREAM_FILE, description: `link /etc/resolv.conf to ${RESOLVED_UPSTREAM_FILE} (resolved's upstream servers, or its fallback list)` },
  );
  return {
    id: 'dns.enable-guest-resolved',
    title: 'Run systemd-resolved and systemd-networkd in the guest and link /etc/resolv.conf to resolved\'s list',
    safety: opts.resolvedInstalled ? 'unsafe' : 'manual',
    steps,
  };
}

/**
 * The Juno fix from the seed: two resolved stubs share one network namespace, so stop the guest's.
 * When the guest's resolv.conf links into its own resolved's runtime directory, point it at the
 * host's stub on 127.0.0.53 instead, which serves the shared namespace.
 */
export function disableGuestResolvedFix(opts: { booted: boolean; pids: number[]; linksToGuestResolved: boolean }): Fix {
  const steps: FixStep[] = [];
  if (opts.booted) {
    steps.push({ kind: 'exec', where: 'guest', argv: ['systemctl', 'disable', '--now', 'systemd-resolved'],
      unless: ['sh', '-c', '! systemctl is-enabled --quiet systemd-resolved && ! systemctl is-active --quiet systemd-resolved'],
      description: 'stop and disable systemd-resolved in the guest, leaving the host\'s stub alone on 127.0.0.53' });
  } else {
    steps.push(
      { kind: 'manual', where: 'host', description: 'stop the systemd-resolved the guest started (no init in the guest does it)', snippet: `kill ${opts.pids.join(' ')}` },
      { kind: 'exec', where: 'guest', argv: ['systemctl', 'disable', 'systemd-resolved'], unless: ['sh', '-c', '! systemctl is-enabled --quiet systemd-resolved'], description: 'disable systemd-resolved in the guest so it does not start again' },
    );
  }
  if (opts.linksToGuestResolved) {
    steps.push({ kind: 'write', where: 'guest', path: '/etc/resolv.conf', content: '# Written by ctr-doctor: the host\'s systemd-resolved stub serves this shared network namespace\nnameserver 127.0.0.53\noptions edns0 trust-ad\n', mode: 0o644,
      description: 'point /etc/resolv.conf at the host\'s stub instead of the guest resolved\'s runtime files' });
  }
  return {
    id: 'dns.disable-guest-resolved',
    title: 'Disable systemd-resolved in the guest: the host\'s resolved already serves 127.0.0.53 in this network namespace',
    safety: opts.booted ? 'safe' : 'manual',
    steps,
  };
}

/** nspawn: let nspawn give a private-network guest a resolv.conf with the host's upstream servers, not the stub. */
export function nspawnResolvConfUplinkFix(target: PlanTarget): Fix {
  const machine = target.nspawn?.machine ?? 'MACHINE';
  return {
    id: 'dns.nspawn-resolv-conf-uplink',
    title: 'Have systemd-nspawn write the host\'s upstream nameservers into the guest (--resolv-conf=copy-uplink)',
    safety: 'manual',
    steps: [
      { kind: 'manual', where: 'host', description: 'restart the machine copying resolved\'s upstream list (replace-uplink also replaces a guest symlink)', snippet: `systemd-nspawn --resolv-conf=copy-uplink -b -D … -M ${machine}\nsystemd-nspawn --resolv-conf=replace-uplink -b -D … -M ${machine}` },
      nspawnFileStep(machine, '[Exec]\nResolvConf=copy-uplink'),
    ],
  };
}

/**
 * chroot and schroot in a namespace of their own: bind or copy a file with real (non-loopback)
 * nameservers from the host, `upstream` being resolved's upstream list or the host's resolv.conf.
 */
export function upstreamResolvConfFix(target: PlanTarget, upstream: string): Fix | null {
  if (target.kind === 'schroot') {
    const chroot = target.schroot?.chroot ?? 'NAME';
    return {
      id: 'dns.schroot-upstream-resolv-conf',
      title: `Give the ${chroot} sessions the host's upstream nameservers, not the host's stub`,
      safety: 'manual',
      steps: upstream === '/etc/resolv.conf'
        ? [{ kind: 'manual', where: 'host', description: `add to the copyfiles file of ${chroot}'s profile (setup.copyfiles)`, snippet: '/etc/resolv.conf' }]
        : [{ kind: 'manual', where: 'host', description: `add to the fstab of ${chroot}'s profile (setup.fstab); remove /etc/resolv.conf from its copyfiles`, snippet: `${upstream}  /etc/resolv.conf  none  ro,bind  0  0` }],
    };
  }
  if (target.kind === 'chroot') {
    return {
      id: 'dns.chroot-upstream-resolv-conf',
      title: 'Bind the host\'s upstream nameserver list over the chroot\'s resolv.conf',
      safety: 'manual',
      steps: [{ kind: 'manual', where: 'host', description: 'before entering the chroot (undo with umount)', snippet: `mount --bind -o ro ${shellQuote(upstream)} ${shellQuote(hostPathInRoot(target.root, '/etc/resolv.conf'))}` }],
    };
  }
  return null;
}
