import type { Fix, FixStep } from '../../core/types.js';
import { nspawnFileStep } from './manual-steps.js';
import type { Target } from '../../core/target.js';
import { hostPathInRoot, shellQuote } from './shell-quote.js';
import { allAnswered, managedNote, proofText, RESOLVED_UPSTREAM_FILE, type ReplacedLink, type ServerProof } from './dns-evidence.js';

export { RESOLVED_UPSTREAM_FILE };

type PlanTarget = Pick<Target, 'kind' | 'root' | 'schroot' | 'nspawn'>;

/**
 * networkd configures the uplink (a DHCP lease on host0) a moment after it starts, and only then
 * does resolved learn servers: the fix is checked again once a link is configured, not before.
 */
const WAIT_ONLINE: FixStep = {
  kind: 'exec',
  where: 'guest',
  argv: ['/lib/systemd/systemd-networkd-wait-online', '--any', '--timeout=20'],
  description: 'wait (up to 20 s) until systemd-networkd has configured a link, so that resolved has learnt its servers',
};

/**
 * The Loki fix from the seed: resolvconf wrote an empty file, so let systemd-resolved and
 * systemd-networkd run in the guest and link resolv.conf to resolved's upstream list.
 * `booted`: the guest runs systemd as PID 1 (`--now` starts them); otherwise they start at next
 * boot. Both are enabled, so the link never dangles after a reboot.
 */
export function enableGuestResolvedFix(opts: {
  booted: boolean;
  resolvedInstalled: boolean;
  replaces?: ReplacedLink;
}): Fix<'dns.enable-guest-resolved'> {
  const units = ['systemd-networkd', 'systemd-resolved'];
  const enabled = `systemctl is-enabled --quiet ${units[0]} && systemctl is-enabled --quiet ${units[1]}`;
  const unless = opts.booted ? `${enabled} && systemctl is-active --quiet ${units[1]}` : enabled;
  const steps: FixStep[] = [];
  if (!opts.resolvedInstalled) {
    steps.push({
      kind: 'manual',
      where: 'guest',
      description: 'systemd-resolved is not installed in the guest; install it first (Debian 12 and later ship it separately)',
      snippet: 'apt-get install systemd-resolved',
    });
  }
  const note = managedNote(opts.replaces);
  steps.push(
    {
      kind: 'exec',
      where: 'guest',
      argv: ['systemctl', 'enable', ...(opts.booted ? ['--now'] : []), ...units],
      unless: ['sh', '-c', unless],
      description: opts.booted
        ? 'enable and start systemd-networkd and systemd-resolved in the guest'
        : 'enable systemd-networkd and systemd-resolved in the guest (they start at its next boot)',
    },
    {
      kind: 'symlink',
      where: 'guest',
      path: '/etc/resolv.conf',
      target: RESOLVED_UPSTREAM_FILE,
      description: `link /etc/resolv.conf to ${RESOLVED_UPSTREAM_FILE} (resolved's upstream servers, which it writes at every boot now that it is enabled)${note}`,
    },
  );
  if (opts.booted) steps.push(WAIT_ONLINE);
  return {
    id: 'dns.enable-guest-resolved',
    title: "Run systemd-resolved and systemd-networkd in the guest and link /etc/resolv.conf to resolved's list",
    safety: opts.resolvedInstalled ? 'unsafe' : 'manual',
    steps,
  };
}

/**
 * The guest's resolved runs but has no upstream server, and nothing configures the guest's
 * uplink: let its networkd take it (DHCP on host0 in an nspawn guest), which hands resolved
 * the servers it learns.
 */
export function enableGuestNetworkdFix(opts: { booted: boolean }): Fix<'dns.enable-guest-networkd'> {
  return {
    id: 'dns.enable-guest-networkd',
    title: "Let systemd-networkd configure the guest's network, so systemd-resolved learns upstream servers",
    safety: opts.booted ? 'unsafe' : 'manual',
    steps: [
      {
        kind: 'exec',
        where: 'guest',
        argv: ['systemctl', 'enable', ...(opts.booted ? ['--now'] : []), 'systemd-networkd'],
        unless: ['sh', '-c', 'systemctl is-enabled --quiet systemd-networkd && systemctl is-active --quiet systemd-networkd'],
        description: opts.booted
          ? 'enable and start systemd-networkd in the guest (DHCP on host0 in an nspawn guest with its own network)'
          : 'enable systemd-networkd in the guest (it starts at its next boot)',
      },
      ...(opts.booted ? [WAIT_ONLINE] : []),
      {
        kind: 'manual',
        where: 'guest',
        description: 'or give resolved a server by hand, in /etc/systemd/resolved.conf, then restart systemd-resolved',
        snippet: '[Resolve]\nDNS=SERVER',
      },
    ],
  };
}

/**
 * The Juno fix from the seed: another system's resolved serves 127.0.0.53 in this shared
 * network namespace, and the guest's own (its stub off, or without upstream) only gets in the
 * way of glibc. Stop the guest's; a resolv.conf link into its runtime directory would dangle at
 * the next boot, so it becomes a file naming 127.0.0.53, but only once that stub has answered
 * from the guest's namespace (`stub`).
 */
export function disableGuestResolvedFix(opts: {
  booted: boolean;
  pids: number[];
  linksToGuestResolved: boolean;
  stub: ServerProof;
  replaces: ReplacedLink;
}): Fix<'dns.disable-guest-resolved'> {
  const steps: FixStep[] = [];
  if (opts.booted) {
    steps.push({
      kind: 'exec',
      where: 'guest',
      argv: ['systemctl', 'disable', '--now', 'systemd-resolved'],
      unless: ['sh', '-c', '! systemctl is-enabled --quiet systemd-resolved && ! systemctl is-active --quiet systemd-resolved'],
      description: "stop and disable systemd-resolved in the guest, leaving the other system's stub alone on 127.0.0.53",
    });
  } else {
    steps.push(
      {
        kind: 'manual',
        where: 'host',
        description: 'stop the systemd-resolved the guest started (no init in the guest does it)',
        snippet: `kill ${opts.pids.join(' ')}`,
      },
      {
        kind: 'exec',
        where: 'guest',
        argv: ['systemctl', 'disable', 'systemd-resolved'],
        unless: ['sh', '-c', '! systemctl is-enabled --quiet systemd-resolved'],
        description: 'disable systemd-resolved in the guest so it does not start again',
      },
    );
  }
  const verified = allAnswered(opts.stub);
  if (opts.linksToGuestResolved) {
    const content =
      '# Written by ctr-doctor: the systemd-resolved stub of the system sharing this network namespace\nnameserver 127.0.0.53\noptions edns0 trust-ad\n';
    const note = managedNote(opts.replaces);
    steps.push(
      verified
        ? {
            kind: 'write',
            where: 'guest',
            path: '/etc/resolv.conf',
            content,
            mode: 0o644,
            description: `point /etc/resolv.conf at 127.0.0.53 (it answered ${opts.stub.name} from the guest's network namespace), not at the guest resolved's runtime files, which are gone after its next boot${note}`,
          }
        : {
            kind: 'manual',
            where: 'guest',
            description: `/etc/resolv.conf links into the guest resolved's runtime files, which are gone after its next boot; 127.0.0.53 did not answer from the guest's network namespace (${proofText(opts.stub)}), so write servers that do${note}`,
            snippet: content,
          },
    );
  }
  return {
    id: 'dns.disable-guest-resolved',
    title: "Disable systemd-resolved in the guest: another system's resolved already serves 127.0.0.53 in this network namespace",
    safety: opts.booted && (verified || !opts.linksToGuestResolved) ? 'safe' : 'manual',
    steps,
  };
}

/** nspawn: let nspawn give a private-network guest a resolv.conf with the host's upstream servers, not the stub. */
export function nspawnResolvConfUplinkFix(target: PlanTarget): Fix<'dns.nspawn-resolv-conf-uplink'> {
  const machine = target.nspawn?.machine ?? 'MACHINE';
  return {
    id: 'dns.nspawn-resolv-conf-uplink',
    title: "Have systemd-nspawn write the host's upstream nameservers into the guest (--resolv-conf=copy-uplink)",
    safety: 'manual',
    steps: [
      {
        kind: 'manual',
        where: 'host',
        description: "restart the machine copying resolved's upstream list (replace-uplink also replaces a guest symlink)",
        snippet: `systemd-nspawn --resolv-conf=copy-uplink -b -D … -M ${shellQuote(machine)}\nsystemd-nspawn --resolv-conf=replace-uplink -b -D … -M ${shellQuote(machine)}`,
      },
      nspawnFileStep(machine, '[Exec]\nResolvConf=copy-uplink'),
    ],
  };
}

/**
 * chroot and schroot in a namespace of their own: bind or copy a file with real (non-loopback)
 * nameservers from the host, `upstream` being resolved's upstream list or the host's resolv.conf.
 */
export function upstreamResolvConfFix(
  target: PlanTarget,
  upstream: string,
): Fix<'dns.schroot-upstream-resolv-conf' | 'dns.chroot-upstream-resolv-conf'> | null {
  if (target.kind === 'schroot') {
    const chroot = target.schroot?.chroot ?? 'NAME';
    return {
      id: 'dns.schroot-upstream-resolv-conf',
      title: `Give the ${chroot} sessions the host's upstream nameservers, not the host's stub`,
      safety: 'manual',
      steps:
        upstream === '/etc/resolv.conf'
          ? [
              {
                kind: 'manual',
                where: 'host',
                description: `add to the copyfiles file of ${chroot}'s profile (setup.copyfiles)`,
                snippet: '/etc/resolv.conf',
              },
            ]
          : [
              {
                kind: 'manual',
                where: 'host',
                description: `add to the fstab of ${chroot}'s profile (setup.fstab); remove /etc/resolv.conf from its copyfiles`,
                snippet: `${upstream}  /etc/resolv.conf  none  ro,bind  0  0`,
              },
            ],
    };
  }
  if (target.kind === 'chroot') {
    return {
      id: 'dns.chroot-upstream-resolv-conf',
      title: "Bind the host's upstream nameserver list over the chroot's resolv.conf",
      safety: 'manual',
      // mount(8) would follow a guest link at ROOT/etc or ROOT/etc/resolv.conf onto a host file: refuse one (audit L7).
      steps: [
        {
          kind: 'manual',
          where: 'host',
          description: 'before entering the chroot (undo with umount); refused when the guest made /etc or /etc/resolv.conf a symlink',
          snippet: `test ! -L ${shellQuote(hostPathInRoot(target.root, '/etc'))} && test -f ${shellQuote(hostPathInRoot(target.root, '/etc/resolv.conf'))} && test ! -L ${shellQuote(hostPathInRoot(target.root, '/etc/resolv.conf'))} && mount --bind -o ro --no-canonicalize ${shellQuote(upstream)} ${shellQuote(hostPathInRoot(target.root, '/etc/resolv.conf'))}`,
        },
      ],
    };
  }
  return null;
}
