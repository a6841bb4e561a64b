import type { Fix } from '../../core/types.js';
import { nspawnResolvConfUplinkFix } from './dns-stub-plans.js';
import type { Target } from '../../targets/target.js';
import { hostPathInRoot, shellQuote } from './shell-quote.js';

/** Writes a plain resolv.conf inside the guest, replacing an empty file or a dangling symlink. */
export function writeResolvConfFix(nameservers: string[], source: string): Fix {
  const content = `# Written by ctr-doctor from ${source}\n${nameservers.map((n) => `nameserver ${n}`).join('\n')}\n`;
  return {
    id: 'dns.write-resolv-conf',
    title: `Write /etc/resolv.conf in the guest with ${nameservers.join(', ')}`,
    safety: 'safe',
    steps: [{ kind: 'write', where: 'guest', path: '/etc/resolv.conf', content, mode: 0o644, description: `write nameservers ${nameservers.join(', ')} (from the host's ${source})` }],
  };
}

/** The lasting, container-kind fix: make the container manager provide resolv.conf at every start. */
export function resolvConfProvisionFix(target: Pick<Target, 'kind' | 'root' | 'schroot' | 'nspawn'>, hostResolvIsSymlink: boolean): Fix | null {
  switch (target.kind) {
    case 'nspawn':
      // The same remedy dns.stub offers: one fix id, so `fix` lists it once.
      return nspawnResolvConfUplinkFix(target);
    case 'schroot': {
      const chroot = target.schroot?.chroot ?? 'NAME';
      return {
        id: 'dns.schroot-resolv-conf', title: 'Have schroot provide resolv.conf in every session', safety: 'manual',
        steps: hostResolvIsSymlink
          ? [{ kind: 'manual', where: 'host', description: `the host's /etc/resolv.conf is a symlink, which copyfiles copies as a dangling link; bind the real file in the profile's fstab instead (setup.fstab of ${chroot})`, snippet: '/run/systemd/resolve/resolv.conf  /etc/resolv.conf  none  ro,bind  0  0' }]
          : [{ kind: 'manual', where: 'host', description: `add /etc/resolv.conf to the copyfiles file of ${chroot}'s profile (setup.copyfiles)`, snippet: '/etc/resolv.conf' }],
      };
    }
    case 'chroot':
      return {
        id: 'dns.chroot-resolv-conf', title: 'Copy the host\'s resolv.conf into the chroot before entering it', safety: 'manual',
        steps: [{ kind: 'manual', where: 'host', description: 'copy the file the host\'s symlink points to, not the link', snippet: `cp -L /etc/resolv.conf ${shellQuote(hostPathInRoot(target.root, '/etc/resolv.conf'))}` }],
      };
    default:
      return null;
  }
}
