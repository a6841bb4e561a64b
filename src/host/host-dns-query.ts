import { readFile } from 'node:fs/promises';
import { runProbe } from '../guest/probe-client.js';
import { parseResolvConf } from '../parse/resolv-conf.js';
import type { HostDnsAnswer, HostDnsResult } from '../core/host.js';

export type { HostDnsAnswer, HostDnsResult } from '../core/host.js';

/**
 * Asks every nameserver in the host's /etc/resolv.conf for `name` (A), concurrently, from the
 * network namespace ctr-doctor runs in. This sends packets from the host: only for --compare-host.
 */
export async function queryHostNameservers(name: string, timeoutMs: number, resolvConfPath = '/etc/resolv.conf'): Promise<HostDnsResult> {
  const text = await readFile(resolvConfPath, 'utf8').catch(() => '');
  const servers = parseResolvConf(text)
    .nameservers.slice(0, 3)
    .map((n) => (n.scopeId === undefined ? n.address : `${n.address}%${n.scopeId}`));
  const place = { rootHostPath: '/', netnsPath: null, credentials: null };
  const answers = await Promise.all(
    servers.map(async (server): Promise<HostDnsAnswer> => {
      const reply = await runProbe(
        place,
        'dns-query',
        { server, name, type: 'A', timeoutMs, attempts: 1, transport: 'fallback' },
        timeoutMs,
      );
      return reply.ok ? { server, response: reply.response, error: null } : { server, response: null, error: reply.error };
    }),
  );
  return { source: resolvConfPath, answers };
}
