/**
 * Where glibc's getaddrinfo goes in the guest: the services of nsswitch.conf's `hosts:` line in
 * order, each told as what it reaches there (the guest's own resolved, another system's stub…).
 */
import { nssActionOf } from '../../parse/nsswitch.js';
import { STUB_ADDRESS, type ResolvedFacts } from './resolved-facts.js';

/** glibc's route for host names, in words, and whether it ends at a resolved that cannot answer. */
export interface HostsRoute {
  /** `files (/etc/hosts), then resolve (…), then dns (…)`. */
  text: string;
  /** The guest's own resolved is asked first through nss-resolve, has no upstream, and `[!UNAVAIL=return]` ends the lookup there. */
  deadEnd: boolean;
  /** nss-resolve is on the line and the guest's resolved runs: it, not resolv.conf, answers glibc. */
  viaGuestResolved: boolean;
}

function stubWhose(facts: ResolvedFacts): string {
  const h = facts.holder;
  if (h === null) return 'nothing listens there';
  if (h.whose === 'guest') return `served by the guest's own systemd-resolved, pid ${h.pid ?? '?'}`;
  if (h.whose === 'other') return `served by another system's systemd-resolved, pid ${h.pid ?? '?'}, sharing this network namespace`;
  return 'served by a process that is not a systemd-resolved of this namespace';
}

/** Tells the `hosts:` route for a guest whose resolv.conf lists `nameservers`. */
export function hostsRoute(facts: ResolvedFacts, nameservers: readonly string[]): HostsRoute {
  // Without a hosts: line glibc uses `dns [!UNAVAIL=return] files`.
  const services = facts.nsswitch?.services ?? [
    { name: 'dns', actions: {}, text: 'dns' },
    { name: 'files', actions: {}, text: 'files' },
  ];
  const guestResolved = facts.guest[0];
  const parts: string[] = [];
  let deadEnd = false;
  let viaGuestResolved = false;
  for (const s of services) {
    if (s.name === 'files') parts.push('files (/etc/hosts)');
    else if (s.name === 'resolve') {
      if (guestResolved === undefined) {
        parts.push('resolve (no systemd-resolved runs in the guest, so nss-resolve is UNAVAIL and glibc goes on)');
        continue;
      }
      viaGuestResolved = true;
      const none = facts.upstream.noneKnown ? ', which has no upstream server' : '';
      // nss-resolve answers NOTFOUND when resolved has no server: `[!UNAVAIL=return]` ends the lookup on it.
      const stops = nssActionOf(s, 'NOTFOUND') === 'return';
      parts.push(
        `resolve (the guest's own systemd-resolved, pid ${guestResolved}, through nss-resolve${none}${stops ? '; [!UNAVAIL=return] ends the lookup there' : ''})`,
      );
      if (facts.upstream.noneKnown && stops) deadEnd = true;
    } else if (s.name === 'dns') {
      const servers = nameservers.length > 0 ? nameservers.join(', ') : 'none';
      parts.push(`dns (/etc/resolv.conf: ${servers}${nameservers.includes(STUB_ADDRESS) ? `, ${stubWhose(facts)}` : ''})`);
    } else parts.push(s.name);
  }
  return { text: parts.join(', then '), deadEnd, viaGuestResolved };
}
