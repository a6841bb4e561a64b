import type { Fix } from '../../core/types.js';

/** Replace the guest's `hosts:` line (line `line` of /etc/nsswitch.conf) with one that reaches DNS. */
export function hostsLineFix(current: string, line: number, replacement: string): Fix<'nss.hosts-line'> {
  const lines = current.split('\n');
  lines[line - 1] = replacement;
  return {
    id: 'nss.hosts-line',
    title: `Set "${replacement}" in the guest's /etc/nsswitch.conf (line ${line})`,
    safety: 'unsafe',
    steps: [
      {
        kind: 'write',
        where: 'guest',
        path: '/etc/nsswitch.conf',
        content: lines.join('\n'),
        mode: 0o644,
        description: `/etc/nsswitch.conf line ${line}: ${replacement} (resolve, when it is unreachable, hands over to dns)`,
      },
    ],
  };
}
