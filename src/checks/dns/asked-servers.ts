/**
 * Nameservers asked before anyone is told to use them: a fix that writes nameservers into the
 * guest is `safe` only when each one answered a query from the guest's network namespace.
 */
import type { CheckContext } from '../../core/check.js';
import type { Host } from '../../core/host.js';
import { parseResolvConf } from '../../parse/resolv-conf.js';
import { isProbeTimeout, settleBy } from './dns-query-plan.js';
import type { AskedServer, ServerProof } from '../../fixes/plans/dns-evidence.js';

/** Loopback nameservers (a resolved stub, a local dnsmasq) only work inside the namespace they listen in. */
export function isLoopbackAddress(address: string): boolean {
  return address.startsWith('127.') || address === '::1';
}

/** The host's nameservers a guest could use (resolved's upstream list, else /etc/resolv.conf), read through the Host port. */
export async function hostCandidates(host: Host, sharesNetns: boolean): Promise<{ addresses: string[]; source: string }> {
  for (const source of ['/run/systemd/resolve/resolv.conf', '/etc/resolv.conf']) {
    const text = await host.readFileOnce(source, { maxBytes: 64 * 1024 });
    if (text === null) continue;
    // A loopback server only works in the namespace it listens in.
    const addresses = parseResolvConf(text)
      .nameservers.map((n) => n.address)
      .filter((a) => sharesNetns || !isLoopbackAddress(a));
    if (addresses.length > 0) return { addresses: addresses.slice(0, 3), source };
  }
  return { addresses: [], source: 'none' };
}

/** Asks each server once for --dns-name (A) from the guest's network namespace, all by `deadline` (a host.now() time). */
export async function askFromGuest(ctx: CheckContext, servers: readonly string[], deadline: number): Promise<ServerProof> {
  const name = ctx.options.dnsName;
  const left = deadline - ctx.host.now();
  if (left < 150)
    return {
      name,
      asked: servers.map((server) => ({
        server,
        verdict: 'not-asked',
        detail: `no time left within --timeout ${ctx.options.timeoutMs} ms`,
      })),
    };
  const timeoutMs = Math.max(100, Math.floor(left - 100));
  const asked = await Promise.all(
    servers.map(async (server): Promise<AskedServer> => {
      const late: AskedServer = { server, verdict: 'timeout', detail: `no answer within ${timeoutMs} ms` };
      const reply = ctx.target
        .probe('dns-query', { server, name, type: 'A', timeoutMs, attempts: 1, transport: 'fallback' }, { timeoutMs: left })
        .then((r): AskedServer => ({ server, verdict: r.verdict, detail: r.detail ?? (r.rcode && r.rcode !== 'NOERROR' ? r.rcode : null) }))
        .catch((e: unknown): AskedServer => (isProbeTimeout(e) ? late : { server, verdict: 'not-asked', detail: (e as Error).message }));
      return settleBy(reply, performance.now() + left, () => late);
    }),
  );
  return { name, asked };
}
