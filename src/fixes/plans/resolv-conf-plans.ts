import type { Fix, FixStep } from '../../core/types.js';
import { nspawnResolvConfUplinkFix } from './dns-stub-plans.js';
import { hostPathInRoot, shellQuote } from './shell-quote.js';
import { allAnswered, managedNote, proofText, type ReplacedLink, type ServerProof } from './dns-evidence.js';
import type { Target } from '../../core/target.js';

/**
 * Writes a plain resolv.conf inside the guest, replacing an empty file or a dangling symlink.
 * `safe` only when every server answered a query from the guest's network namespace
 * (`proof`); otherwise a manual step saying what was asked and what came back.
 */
export function writeResolvConfFix(
  nameservers: string[],
  source: string,
  proof: ServerProof,
  current: ReplacedLink,
): Fix<'dns.write-resolv-conf'> {
  const content = `# Written by ctr-doctor from ${source}\n${nameservers.map((n) => `nameserver ${n}`).join('\n')}\n`;
  const verified = allAnswered(proof);
  const note = managedNote(current);
  const steps: FixStep[] = verified
    ? [
        {
          kind: 'write',
          where: 'guest',
          path: '/etc/resolv.conf',
          content,
          mode: 0o644,
          description: `write nameservers ${nameservers.join(', ')} (from the host's ${source}; each answered ${proof.name} from the guest's network namespace)${note}`,
        },
      ]
    : [
        {
          kind: 'manual',
          where: 'guest',
          description: `not verified: asked ${proof.name} from the guest's network namespace and got ${proofText(proof)}; write this /etc/resolv.conf only with servers that answer there${note}`,
          snippet: content,
        },
      ];
  return {
    id: 'dns.write-resolv-conf',
    title: `Write /etc/resolv.conf in the guest with ${nameservers.join(', ')}`,
    safety: verified ? 'safe' : 'manual',
    steps,
  };
}

/** The lasting, container-kind fix: make the container manager provide resolv.conf at every start. */
export function resolvConfProvisionFix(target: Pick<Target, 'kind' | 'root' | 'schroot' | 'nspawn'>, hostResolvIsSymlink: boolean) {
  switch (target.kind) {
    case 'nspawn':
      // The same remedy dns.stub offers: one fix id, so `fix` lists it once.
      return nspawnResolvConfUplinkFix(target);
    case 'schroot': {
      const chroot = target.schroot?.chroot ?? 'NAME';
      return {
        id: 'dns.schroot-resolv-conf' as const,
        title: 'Have schroot provide resolv.conf in every session',
        safety: 'manual' as const,
        steps: hostResolvIsSymlink
          ? [
              {
                kind: 'manual' as const,
                where: 'host' as const,
                description: `the host's /etc/resolv.conf is a symlink, which copyfiles copies as a dangling link; bind the real file in the profile's fstab instead (setup.fstab of ${chroot})`,
                snippet: '/run/systemd/resolve/resolv.conf  /etc/resolv.conf  none  ro,bind  0  0',
              },
            ]
          : [
              {
                kind: 'manual' as const,
                where: 'host' as const,
                description: `add /etc/resolv.conf to the copyfiles file of ${chroot}'s profile (setup.copyfiles)`,
                snippet: '/etc/resolv.conf',
              },
            ],
      };
    }
    case 'chroot':
      return {
        id: 'dns.chroot-resolv-conf' as const,
        title: "Copy the host's resolv.conf into the chroot before entering it",
        safety: 'manual' as const,
        // The guest decides what ROOT/etc and ROOT/etc/resolv.conf are: never write through a link of its (audit L7).
        steps: [
          {
            kind: 'manual' as const,
            where: 'host' as const,
            description: "copy the file the host's symlink points to, not the link; a guest link in the way is replaced, never followed",
            snippet: `test ! -L ${shellQuote(hostPathInRoot(target.root, '/etc'))} && cp -L --remove-destination /etc/resolv.conf ${shellQuote(hostPathInRoot(target.root, '/etc/resolv.conf'))}`,
          },
        ],
      };
    default:
      return null;
  }
}
