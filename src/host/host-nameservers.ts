import { readFile } from 'node:fs/promises';
import { parseResolvConf } from '../parse/resolv-conf.js';

/** Loopback nameservers (a resolved stub, a local dnsmasq) only work inside the namespace they listen in. */
export function isLoopbackAddress(address: string): boolean {
  return address.startsWith('127.') || address === '::1';
}

/**
 * The host's nameservers that a guest could use: resolved's upstream list when it runs,
 * else /etc/resolv.conf. Loopback ones are dropped unless the guest shares the host's network namespace.
 */
export async function hostNameservers(sharesNetns: boolean): Promise<{ addresses: string[]; source: string }> {
  for (const source of ['/run/systemd/resolve/resolv.conf', '/etc/resolv.conf']) {
    const text = await readFile(source, 'utf8').catch(() => null);
    if (text === null) continue;
    const addresses = parseResolvConf(text).nameservers.map((n) => n.address)
      .filter((a) => sharesNetns || !isLoopbackAddress(a));
    if (addresses.length > 0) return { addresses, source };
  }
  return { addresses: [], source: 'none' };
}
