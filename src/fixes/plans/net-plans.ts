import type { Fix } from '../../core/types.js';
import { nspawnFileStep } from './manual-steps.js';
import { shellQuote } from './shell-quote.js';
import type { NspawnArgs } from '../../parse/nspawn-args.js';
import type { Target } from '../../core/target.js';

type PlanTarget = Pick<Target, 'kind' | 'root' | 'pid' | 'sharesNetns' | 'netnsPath' | 'nspawn'>;

/** The command line the machine was started with, minus argv[0], for "add this flag" snippets. */
function nspawnCommand(target: PlanTarget, replace: (args: string[]) => string[]): string {
  const argv = target.nspawn?.argv ?? [];
  const args = argv.length > 0 && !argv[0]!.startsWith('-') ? argv.slice(1) : argv;
  // The machine's own command line, each word quoted: its name and directory are not ours to trust (H6).
  return ['systemd-nspawn', ...replace(args.length > 0 ? args : ['-b', '-D', '…']).map((a) => (a === '…' ? a : shellQuote(a)))].join(' ');
}

const PRIVATE_NET_FLAGS = /^(--private-network|-n|--network-veth)$/;

/**
 * nspawn with `--private-network` and nothing connecting it (only `lo`): give it a veth pair that
 * systemd-networkd configures on both sides (host: 80-container-ve.network, guest: 80-container-host0.network).
 */
export function nspawnVethFix(target: PlanTarget): Fix<'net.nspawn-network-veth'> {
  const machine = target.nspawn?.machine ?? 'MACHINE';
  return {
    id: 'net.nspawn-network-veth',
    title: 'Give the nspawn machine a virtual Ethernet link (--network-veth) configured by systemd-networkd',
    safety: 'manual',
    steps: [
      {
        kind: 'manual',
        where: 'host',
        description: 'restart the machine with a veth pair instead of a bare private network',
        snippet: nspawnCommand(target, (a) => [...a.filter((x) => !PRIVATE_NET_FLAGS.test(x)), '--network-veth']),
      },
      nspawnFileStep(machine, '[Network]\nVirtualEthernet=yes', 'or set it in'),
      {
        kind: 'manual',
        where: 'host',
        description: 'let systemd-networkd on the host give the ve-* link an address, DHCP and NAT',
        snippet: 'systemctl enable --now systemd-networkd',
      },
      {
        kind: 'manual',
        where: 'guest',
        description: 'let systemd-networkd in the guest configure host0 by DHCP',
        snippet: 'systemctl enable --now systemd-networkd',
      },
    ],
  };
}

/** nspawn with a private network the user did not need: share the host's network instead. */
export function nspawnShareHostNetworkFix(target: PlanTarget): Fix<'net.nspawn-share-host-network'> {
  const machine = target.nspawn?.machine ?? 'MACHINE';
  return {
    id: 'net.nspawn-share-host-network',
    title: "Drop --private-network so the machine uses the host's network",
    safety: 'manual',
    steps: [
      {
        kind: 'manual',
        where: 'host',
        description: "restart the machine without --private-network (it then shares the host's interfaces and routes)",
        snippet: nspawnCommand(target, (a) => a.filter((x) => !PRIVATE_NET_FLAGS.test(x))),
      },
      nspawnFileStep(machine, '[Network]\nPrivate=no\nVirtualEthernet=no', 'or set it in'),
    ],
  };
}

/** nspawn with a veth but no address or route inside: networkd is missing on one side. */
export function nspawnNetworkdFix(target: PlanTarget): Fix<'net.nspawn-enable-networkd'> {
  return {
    id: 'net.nspawn-enable-networkd',
    title: "Configure the machine's veth link with systemd-networkd (host and guest)",
    safety: 'manual',
    steps: [
      {
        kind: 'manual',
        where: 'host',
        description: 'on the host: networkd serves DHCP and NAT on ve-* links',
        snippet: 'systemctl enable --now systemd-networkd',
      },
      {
        kind: 'manual',
        where: 'guest',
        description: `in the guest (${target.nspawn?.machine ?? 'the machine'}): networkd configures host0 by DHCP`,
        snippet: 'systemctl enable --now systemd-networkd',
      },
    ],
  };
}

/** nspawn in a network namespace someone else made (--network-namespace-path): that namespace needs a route. */
export function nspawnNetnsPathFix(netnsPath: string): Fix<'net.netns-route'> {
  return {
    id: 'net.netns-route',
    title: `Give the network namespace ${netnsPath} an uplink and a default route`,
    safety: 'manual',
    steps: [
      {
        kind: 'manual',
        where: 'host',
        description: 'see what the namespace has: its links and routes',
        snippet: `nsenter ${shellQuote(`--net=${netnsPath}`)} ip addr\nnsenter ${shellQuote(`--net=${netnsPath}`)} ip route`,
      },
      {
        kind: 'manual',
        where: 'host',
        description: 'connect it with a veth pair to a namespace that has a route out, then add a default route inside',
        snippet: `nsenter ${shellQuote(`--net=${netnsPath}`)} ip route add default via GATEWAY`,
      },
    ],
  };
}

/**
 * chroot and schroot do not create a network namespace: the guest uses the host's network,
 * or the one of whoever started its processes (ip netns exec, unshare).
 */
export function sharedNetworkFix(target: PlanTarget): Fix<'net.fix-host-network' | 'net.fix-guest-netns'> {
  const kind =
    { schroot: 'schroot', chroot: 'A chroot', nspawn: 'systemd-nspawn without --private-network' }[target.kind as string] ?? 'This guest';
  if (target.sharesNetns || target.pid === null) {
    return {
      id: 'net.fix-host-network',
      title: `${kind.replace(/^A /, '')} shares the host's network: fix it on the host`,
      safety: 'manual',
      steps: [
        {
          kind: 'manual',
          where: 'host',
          description: `${kind} has no network of its own: the same ping fails on the host. Check the host's links, routes and firewall`,
          snippet: 'ip route\nip addr\nping -c3 GATEWAY',
        },
      ],
    };
  }
  const ns = target.netnsPath ?? `/proc/${target.pid}/ns/net`;
  return {
    id: 'net.fix-guest-netns',
    title: `The guest's process runs in a network namespace of its own (${ns})`,
    safety: 'manual',
    steps: [
      {
        kind: 'manual',
        where: 'host',
        description: `${kind} itself shares the host's network, but process ${target.pid} was started inside another network namespace (ip netns exec, unshare -n): give that namespace a route, or start the process without it`,
        snippet: `nsenter ${shellQuote(`--net=${ns}`)} ip addr\nnsenter ${shellQuote(`--net=${ns}`)} ip route`,
      },
    ],
  };
}

/** Raw ICMP is refused to the user: give ping its capability back (rsync without -X drops it), or open ICMP sockets. */
export function pingPermissionFix(pingPath: string, gid: number): Fix<'net.ping-permission'> {
  return {
    id: 'net.ping-permission',
    title: 'Let the desktop user run ping in the guest',
    safety: 'manual',
    steps: [
      {
        kind: 'manual',
        where: 'guest',
        description: 'give ping back the file capability a copy without extended attributes (rsync without -X) loses',
        snippet: `setcap cap_net_raw+ep ${shellQuote(pingPath)}`,
      },
      {
        kind: 'manual',
        where: 'guest',
        description: `or allow unprivileged ICMP sockets for the user's group (${gid}) in the guest's network namespace`,
        snippet: `sysctl -w net.ipv4.ping_group_range="0 2147483647"`,
      },
    ],
  };
}

/** The ids {@link noUplinkFixes} may offer. */
export type NoUplinkFixId =
  | 'net.nspawn-network-veth'
  | 'net.nspawn-share-host-network'
  | 'net.nspawn-enable-networkd'
  | 'net.netns-route'
  | 'net.fix-host-network'
  | 'net.fix-guest-netns';

/** The fixes for "the guest has no way out", by how the container was made. */
export function noUplinkFixes(target: PlanTarget, nspawn: NspawnArgs | null): Fix<NoUplinkFixId>[] {
  if (target.kind === 'nspawn' && nspawn) {
    if (nspawn.networkNamespacePath !== null) return [nspawnNetnsPathFix(nspawn.networkNamespacePath)];
    if (nspawn.networkVeth) return [nspawnNetworkdFix(target)];
    if (nspawn.privateNetwork) return [nspawnVethFix(target), nspawnShareHostNetworkFix(target)];
  }
  return [sharedNetworkFix(target)];
}
