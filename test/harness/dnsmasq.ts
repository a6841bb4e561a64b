/**
 * A real DNS server (dnsmasq) inside one of the world's namespaces.
 * Command line as measured in test-targets.md §6.
 */
import type { Cleanup } from './cleanup.js';
import { netOf, type NsRef, type WorldLike } from './networld.js';
import { spawnDaemon, waitFor } from './proc.js';

/** Options of {@link startDnsmasq}. */
export interface DnsmasqOptions {
  /** Addresses to listen on (each must exist in the namespace, or be in 127/8). */
  listen: string[];
  /** name → address (`--address=/name/addr`); IPv6 addresses give AAAA. */
  records?: Record<string, string>;
  /** Add `--local=/#/`: unknown names are NXDOMAIN. Without it they are REFUSED. */
  localOnly?: boolean;
  /** Upstream server (`--server=`), e.g. `203.0.113.53` for a fake 127.0.0.53 stub. */
  server?: string;
  /** Extra dnsmasq arguments. */
  extraArgs?: string[];
}

/** A running dnsmasq. */
export interface DnsmasqHandle {
  pid: number;
  /** Stop it now (also done by cleanup). */
  stop(): Promise<void>;
  /** Its log so far. */
  output(): string;
}

/** Start dnsmasq in `ns` and wait until every listen address answers a query. */
export async function startDnsmasq(worldLike: WorldLike, ns: NsRef, opts: DnsmasqOptions, cleanup: Cleanup): Promise<DnsmasqHandle> {
  const world = netOf(worldLike);
  if (opts.listen.length === 0) throw new Error('startDnsmasq: listen is empty');
  const argv = [
    'nsenter',
    `--net=${world.nsPath(ns)}`,
    'dnsmasq',
    '--keep-in-foreground',
    '--no-resolv',
    '--no-hosts',
    '--conf-file=/dev/null',
    '--user=root',
    '--bind-interfaces',
    '--pid-file=',
    '--log-facility=-',
    ...opts.listen.map((a) => `--listen-address=${a}`),
    ...Object.entries(opts.records ?? {}).map(([name, addr]) => `--address=/${name}/${addr}`),
    ...(opts.localOnly ? ['--local=/#/'] : []),
    ...(opts.server ? [`--server=${opts.server}`] : []),
    ...(opts.extraArgs ?? []),
  ];
  const d = spawnDaemon(`dnsmasq in ${world.ns(ns)}`, argv, cleanup);
  for (const addr of opts.listen) {
    await waitFor(
      `dnsmasq on ${addr} in ${world.ns(ns)}`,
      async () => {
        if (d.child.exitCode !== null) throw new Error(`dnsmasq exited: ${d.output()}`);
        const r = await world.exec(ns, ['dig', '+time=1', '+tries=1', `@${addr}`, 'ready.probe.invalid'], {
          timeoutMs: 3_000,
        });
        // rc 0 = some answer (NOERROR, NXDOMAIN or REFUSED all prove it is listening).
        return r.exitCode === 0;
      },
      { timeoutMs: 10_000, intervalMs: 50 },
    );
  }
  return { pid: d.pid, stop: () => d.stop(), output: d.output };
}
