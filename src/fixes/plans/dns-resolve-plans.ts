import type { Fix } from '../../core/types.js';

/** The nameservers answer but glibc never asks them: nsswitch.conf's hosts: line lacks `dns`. */
export function nsswitchDnsFix(hostsLine: string): Fix {
  const sources = hostsLine
    .replace(/^hosts\s*:\s*/, '')
    .split(/\s+/)
    .filter((w) => w !== '');
  const fixed = `hosts:          ${[...sources.filter((w) => w !== 'dns'), 'dns'].join(' ')}`;
  return {
    id: 'dns.nsswitch-hosts-dns',
    title: 'Let glibc ask DNS: add dns to the hosts: line of /etc/nsswitch.conf',
    safety: 'manual',
    steps: [
      { kind: 'manual', where: 'guest', description: `in the guest's /etc/nsswitch.conf, replace "${hostsLine}" with`, snippet: fixed },
    ],
  };
}
